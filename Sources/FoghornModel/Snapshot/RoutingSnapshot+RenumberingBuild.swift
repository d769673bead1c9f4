/// The renumbering build: edges added or removed (enrolment, eviction, a reload) and peers'
/// edges changed. Every edge keeps its relative order, so renumbering is one pass over the
/// candidate columns and index blocks; the added, changed and removed edges' streams are then
/// applied as by an incremental build.
extension RoutingSnapshot {
    /// The successor after edges were added or removed (and others changed, `changedNodeIds`),
    /// built incrementally too: `localEdges` is the cluster's whole new edge list in node-ID order;
    /// each edge keeps its relative order, so every stream's candidates stay ascending once their
    /// indices are renumbered — one pass over the candidate columns and index blocks
    /// (``EdgeTable`` and ``StreamTable`` renumbered)
    /// — after which the added and changed edges, and the streams the removed ones carried, are
    /// applied as by ``restructured(_:pending:changedEdges:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``.
    /// `remoteEdges`: peer clusters' edges when they changed (all of them, as a full build takes
    /// them; each is applied as changed), nil when they did not. Edge indices change, so the result
    /// is a new structure (``structureToken``). `localPending`: each local edge's pending
    /// bandwidth, like `localEdges`; a peer edge's is its state's (`remoteEdges`) or
    /// `remotePending(nodeId)`, else what `previous` had.
    ///
    /// nil when a full build is due instead: `localEdges` not strictly ascending by node ID, a
    /// changed edge not restructurable, playback changed, spare room used up.
    public static func reindexed(_ previous: RoutingSnapshot, localEdges: [EdgeState], remoteEdges: [EdgeState]? = nil, changedNodeIds: Set<String>,
                                 localPending: [UInt64], remotePending: (String) -> UInt64? = { _ in nil }, playback: [PlaybackRecord],
                                 playbackStreamIds: [Int32], generation: UInt64, nowMs: UInt64, appliedShipments: [UInt64],
                                 clock: () -> UInt64 = { 0 }) -> RoutingSnapshot? {
        let started = clock()
        let oldLocal = previous.localEdgeCount, newLocal = localEdges.count
        // Peer edges as a full build orders them: by node ID, the first of a repeated one.
        var remote: [EdgeState]
        if let remoteEdges {
            remote = []
            var seen = Set<String>()
            for r in remoteEdges.sorted(by: { $0.nodeId < $1.nodeId }) where r.isRemote && seen.insert(r.nodeId).inserted { remote.append(r) }
        } else {
            remote = Array(previous.edges[oldLocal...])
        }
        // Edge `j` of the result: local first, then peers (read in place — concatenating the two
        // arrays copied all 10,000 edges, ≈ 4 ms).
        let total = newLocal + remote.count
        func withEdge<R>(_ j: Int, _ body: (UnsafePointer<EdgeState>) -> R) -> R {
            j < newLocal ? localEdges.withUnsafeBufferPointer { body($0.baseAddress.unsafelyUnwrapped + j) }
                : remote.withUnsafeBufferPointer { body($0.baseAddress.unsafelyUnwrapped + (j - newLocal)) }
        }
        guard localPending.count == newLocal, PlaybackTable.sameStorage(previous.playback, playback), playbackStreamIds.count == playback.count else { return nil }
        var pending = localPending
        pending.reserveCapacity(total)
        for (r, e) in remote.enumerated() {
            pending.append(remoteEdges != nil ? e.pendingBytesPerSec : remotePending(e.nodeId) ?? previous.pending[oldLocal + r])
        }
        // Merge the node-ID orders, local part and peer part each.
        var oldOfNew = [Int32](repeating: -1, count: total)
        var newOfOld = [Int32](repeating: -1, count: previous.edgeCount)
        var removedStreams: [Int32] = []
        for (oldRange, newRange) in [(0..<oldLocal, 0..<newLocal), (oldLocal..<previous.edgeCount, newLocal..<total)] {
            var i = oldRange.lowerBound, j = newRange.lowerBound
            while i < oldRange.upperBound || j < newRange.upperBound {
                if j < newRange.upperBound {
                    let id = withEdge(j) { $0.pointee.nodeId }
                    if j > newRange.lowerBound && !(withEdge(j - 1) { $0.pointee.nodeId } < id) { return nil }  // not ascending
                    if i < oldRange.upperBound && previous.nodeIds[i] == id {
                        oldOfNew[j] = Int32(i); newOfOld[i] = Int32(j); i += 1; j += 1
                        continue
                    }
                    if i >= oldRange.upperBound || id < previous.nodeIds[i] { j += 1; continue }  // added
                }
                removedStreams.append(contentsOf: previous.edges[i].streamIds)  // removed
                i += 1
            }
        }
        // The added and changed edges, with what they were (an added one: itself carrying nothing).
        var changed: [(index: Int, edge: EdgeState)] = [], oldStates: [EdgeState] = []
        for j in 0..<total {
            guard oldOfNew[j] < 0 || (j >= newLocal && remoteEdges != nil) || withEdge(j, { changedNodeIds.contains($0.pointee.nodeId) }) else { continue }
            var e = withEdge(j) { $0.pointee }
            if e.publicHost.isEmpty { e.resolveURLs() }
            changed.append((j, e))
            if oldOfNew[j] >= 0 {
                oldStates.append(previous.edges[Int(oldOfNew[j])])
            } else {
                var placeholder = e
                placeholder.setStreams(ids: [], stats: [])
                oldStates.append(placeholder)
            }
        }
        let base = RoutingSnapshot(previous, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments,
                                   edges: previous.edgeTable.renumbered(count: total, changed: changed, oldOfNew: oldOfNew, localCount: newLocal,
                                                                        pending: pending, structureToken: generation, weights: previous.weights),
                                   streams: previous.streamTable.renumbered(newOfOld, edgeCount: total), startedNs: 0, clock: { 0 })
        return restructured(base, pending: pending, changedEdges: changed, alsoAffected: removedStreams, oldStates: oldStates, playback: playback,
                            playbackStreamIds: playbackStreamIds, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments,
                            started: started, clock: clock)
    }
}

extension EdgeTable {
    /// This table renumbered (local edges, then peer edges): the `changed` edges (ascending new
    /// index) in their new state, removed ones gone. A step of a renumbering build, never
    /// published: the incremental step computes the changed edges' rows, URLs and usage afresh,
    /// so here they are left as they were (an added edge's row blank).
    func renumbered(count n: Int, changed: [(index: Int, edge: EdgeState)], oldOfNew: [Int32], localCount newLocal: Int, pending: [UInt64],
                    structureToken: UInt64, weights w: ScoringWeights) -> EdgeTable {
        var boxes: [SnapshotEdges.Box] = [], urls: [URLTemplateTable] = [], nodeIds: [String] = [], nodeHash: [UInt64] = [], baseUsed: [UInt64] = []
        boxes.reserveCapacity(n); urls.reserveCapacity(n); nodeIds.reserveCapacity(n); nodeHash.reserveCapacity(n); baseUsed.reserveCapacity(n)
        let rows = EdgeRows(count: n)
        var c = 0  // next of `changed`
        for j in 0..<n {
            let old = Int(oldOfNew[j])
            if c < changed.count && changed[c].index == j {
                // Changed or added: the new state now (so the incremental step need not copy the edges again).
                let e = changed[c].edge
                c += 1
                boxes.append(SnapshotEdges.Box(e))
                urls.append(old >= 0 ? self.urls[old] : e.resolvedURLs)
                nodeIds.append(e.nodeId)
                nodeHash.append(e.nodeIdHash)
                baseUsed.append(old >= 0 ? self.baseUsed[old] : 0)
                rows.buffer[j] = old >= 0 ? self.rows.buffer[old] : .blank
                continue
            }
            boxes.append(states.box(old))
            urls.append(self.urls[old])
            nodeIds.append(self.nodeIds[old])
            nodeHash.append(self.nodeHash[old])
            baseUsed.append(self.baseUsed[old])
            rows.buffer[j] = self.rows.buffer[old].withUsage(base: self.baseUsed[old], pending: pending[j], w)
        }
        var remoteIndex: [String: Int] = [:]
        for j in newLocal..<n { remoteIndex[nodeIds[j]] = j }
        return EdgeTable(states: SnapshotEdges(boxes: boxes), rows: rows, pending: pending, baseUsed: baseUsed, urls: urls, nodeIds: nodeIds,
                         nodeHash: nodeHash, localCount: newLocal, remoteIndex: remoteIndex, structureToken: structureToken, tagBit: tagBit)
    }
}

extension StreamTable {
    /// This table with its candidates' edge indices renumbered (`newOfOld`, -1: removed; the
    /// streams those carried are laid out again by the incremental step) in columns and index.
    func renumbered(_ newOfOld: [Int32], edgeCount: Int) -> StreamTable {
        var t = self
        t.columns = columns.renumbered(newOfOld)
        t.index = CandidateIndex(renumbering: index, newOfOld: newOfOld, edgeCount: edgeCount)
        return t
    }
}
