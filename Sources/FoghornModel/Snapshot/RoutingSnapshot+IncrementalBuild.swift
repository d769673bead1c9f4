/// The incremental build: edges the snapshot already has changed in more than load (streams
/// started or ended, moved, drained, re-tagged). Only the streams those edges touch are laid out
/// again (``RestructurePlan``); edge indices stay.
extension RoutingSnapshot {
    /// Whether an incremental build (``restructured(_:pending:changedEdges:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``)
    /// can apply a change from `old` to `new`: the same edge of this cluster, whatever changed
    /// (streams, position, mode, tenant, tags, capabilities, URLs, load). Edges added or removed,
    /// and peers' edges, are renumbered instead (``reindexed(_:localEdges:remoteEdges:changedNodeIds:localPending:remotePending:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``).
    public static func canRestructure(from old: EdgeState, to new: EdgeState) -> Bool {
        old.nodeId == new.nodeId && !old.isRemote && !new.isRemote
    }

    /// The successor after `changedEdges` — any change to edges `previous` already has (each
    /// passing ``canRestructure(from:to:)``): streams starting or ending on them, moves, mode,
    /// tags, tenant, URLs, load — built incrementally. The edges keep their indices; the changed
    /// edges' scoring rows are computed afresh; only the streams those edges carried or carry now
    /// are looked at again: a stream whose candidates changed gets a new run in the columns'
    /// spare room (a new slot if no edge carried it before; one no edge carries any more keeps
    /// its slot, empty), and its index is rebuilt, as is any large stream of an edge that moved
    /// or changed tenant. Every other stream keeps its run, index and slot (O(edges + streams)
    /// copying and no name hashing but the affected streams', instead of a full build: at 10,000
    /// edges × 100 streams 1.4–3.6 ms instead of 25–50). Decisions, scores and per-stream figures
    /// equal a full build's (IncrementalBuildTests).
    ///
    /// nil when a full build is due instead: an edge is not in `previous` (added or removed edges
    /// and peers' edges go through ``reindexed(_:localEdges:remoteEdges:changedNodeIds:localPending:remotePending:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``),
    /// `playback` is not the very array `previous` was built from (records go through
    /// ``updatingPlayback(_:playback:playbackStreamIds:positions:generation:nowMs:appliedShipments:clock:)``
    /// first) with `playbackStreamIds` parallel to it, or the columns' spare room is used up (a
    /// full build compacts them).
    public static func restructured(_ previous: RoutingSnapshot, pending: [UInt64], changedEdges: [(index: Int, edge: EdgeState)],
                                    playback: [PlaybackRecord], playbackStreamIds: [Int32], generation: UInt64, nowMs: UInt64,
                                    appliedShipments: [UInt64], clock: () -> UInt64 = { 0 }) -> RoutingSnapshot? {
        restructured(previous, pending: pending, changedEdges: changedEdges, alsoAffected: [], playback: playback,
                     playbackStreamIds: playbackStreamIds, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments,
                     started: clock(), clock: clock)
    }

    /// `alsoAffected`: stream IDs to lay out again besides the changed edges' (those of removed
    /// edges, see ``reindexed(_:localEdges:remoteEdges:changedNodeIds:localPending:remotePending:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``).
    static func restructured(_ previous: RoutingSnapshot, pending: [UInt64], changedEdges: [(index: Int, edge: EdgeState)], alsoAffected: [Int32],
                             oldStates: [EdgeState]? = nil, playback: [PlaybackRecord], playbackStreamIds: [Int32], generation: UInt64,
                             nowMs: UInt64, appliedShipments: [UInt64], started: UInt64, clock: () -> UInt64) -> RoutingSnapshot? {
        guard pending.count == previous.edgeCount, PlaybackTable.sameStorage(previous.playback, playback),
              playbackStreamIds.count == playback.count else { return nil }
        // Templates as a full build resolves them for edges that have none yet (tests, old state).
        var changedEdges = changedEdges
        for k in changedEdges.indices where changedEdges[k].edge.publicHost.isEmpty {
            guard oldStates == nil else { return nil }  // a renumbering build resolves them before it places them
            changedEdges[k].edge.resolveURLs()
        }
        for (i, e) in changedEdges {
            guard i < previous.edgeCount, previous.nodeIds[i] == e.nodeId else { return nil }
            if i < previous.localEdgeCount {
                guard canRestructure(from: previous.edges[i], to: e) else { return nil }
            } else {
                guard e.isRemote && previous.edges[i].isRemote else { return nil }  // a peer's edge, renumbered by `reindexed`
            }
        }
        guard let plan = RestructurePlan(previous, changedEdges: changedEdges, alsoAffected: alsoAffected, oldStates: oldStates) else { return nil }
        // The changed edges' rows afresh (a new tenant or tag is added to the snapshot's tables).
        var tenants = previous.tenantTable
        let edges = previous.edgeTable.restructured(states: plan.edges, changed: changedEdges, pending: pending, tenants: &tenants,
                                                    weights: previous.weights, staleness: previous.staleness, nowMs: nowMs)
        let rows = edges.rows.buffer, w = previous.weights
        var streams = plan.table
        streams.index = CandidateIndex(updating: previous.index, streams: streams.entries, rebuilt: plan.rebuilt, columns: streams.columns, hot: rows,
                                       edgeCount: edges.count, weights: w) { i in
            let b = IndexBounds.bound(rows[i], w)
            return b == IndexBounds.excluded ? -1000 : Int64(b)
        }
        let bounds = IndexBounds(index: streams.index, streamCount: streams.entries.count, hot: rows, baseUsed: edges.baseUsed, weights: w)
        // Playback records of a stream that appeared or went away point at its slot or at none.
        var playbackTable = previous.playbackTable
        playbackTable.repoint(plan.flipped, streamIds: playbackStreamIds)
        return RoutingSnapshot(previous, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments, edges: edges, streams: streams,
                               playback: playbackTable, tenants: tenants, bounds: bounds, startedNs: started, clock: clock)
    }
}
