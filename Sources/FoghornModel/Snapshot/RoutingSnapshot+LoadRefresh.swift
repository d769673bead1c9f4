/// The load refresh: new pending bandwidth for every edge and new load for edges whose reports
/// changed nothing that places them. The edge indices, candidate order and index are shared;
/// the scoring rows, the changed edges' per-stream figures and the index bounds are recomputed.
extension RoutingSnapshot {
    /// A cheap successor when only pending bandwidth changed: shares every table with
    /// `previous` but the scoring rows (O(edges), no hashing), so folding the loops' redirects
    /// every 50 ms costs microseconds instead of a rebuild.
    public convenience init(refreshingPendingOf previous: RoutingSnapshot, pending: [UInt64], generation: UInt64, nowMs: UInt64,
                            appliedShipments: [UInt64], clock: () -> UInt64 = { 0 }) {
        self.init(refreshing: previous, pending: pending, changedEdges: [], generation: generation, nowMs: nowMs,
                  appliedShipments: appliedShipments, clock: clock)
    }

    /// Whether `new` differs from `old` only in what a load refresh (``init(refreshing:pending:changedEdges:generation:nowMs:appliedShipments:clock:)``)
    /// can apply: CPU, RAM, bandwidth and its limit, report times, per-stream viewers, bandwidth and
    /// input counts (not whether a stream has inputs), and fields nothing in a snapshot derives
    /// from. Everything that places the edge — its streams, position, mode, tenant, tags,
    /// capabilities, poll failure, URLs, cluster — needs an incremental build
    /// (``canRestructure(from:to:)``) or a full one.
    public static func isLoadOnlyChange(from old: EdgeState, to new: EdgeState) -> Bool {
        guard canRestructure(from: old, to: new), old.streamIds == new.streamIds,
              old.mode == new.mode, old.tenant == new.tenant, old.tags == new.tags, old.capabilities == new.capabilities,
              old.pollError == new.pollError, old.isStatic == new.isStatic, old.resolvedURLs == new.resolvedURLs,
              old.position == new.position else { return false }
        for k in 0..<old.streamStats.count where (old.streamStats[k].inputs > 0) != (new.streamStats[k].inputs > 0) { return false }
        return true
    }

    /// A successor with new pending bandwidth for every edge and new load for `changedEdges`
    /// (each passing ``isLoadOnlyChange(from:to:)`` against its state in `previous`): the
    /// structure — edge indices, candidate columns' order, the index — is shared; the scoring
    /// rows, the changed edges' per-stream figures and the index bounds are recomputed, O(edges +
    /// candidates) and no hashing of names, instead of a full build (docs/PERFORMANCE.md).
    public convenience init(refreshing previous: RoutingSnapshot, pending: [UInt64], changedEdges: [(index: Int, edge: EdgeState)],
                            generation: UInt64, nowMs: UInt64, appliedShipments: [UInt64], clock: () -> UInt64 = { 0 }) {
        let started = clock()
        precondition(pending.count == previous.edgeCount, "pending must be indexed like the previous snapshot")
        for (i, e) in changedEdges {
            precondition(i < previous.localEdgeCount && previous.nodeIds[i] == e.nodeId, "a changed edge must keep its index")
        }
        let edges = previous.edgeTable.refreshed(pending: pending, changed: changedEdges, weights: previous.weights,
                                                 staleness: previous.staleness, nowMs: nowMs)
        let streams = changedEdges.isEmpty ? previous.streamTable : previous.streamFigures(after: changedEdges, in: edges)
        let rows = edges.rows.buffer
        // Node bounds are computed without pending: a pending-only refresh shares them, a load change
        // recomputes them; the exclusion tally is recounted only if some edge's exclusion changed.
        let reasonsChanged = changedEdges.contains { previous.hot[$0.index].exclusion != rows[$0.index].exclusion }
        let bounds = IndexBounds(refreshing: previous.bounds, index: previous.index, streamCount: streams.entries.count, hot: rows,
                                 weights: previous.weights, loadChangedBaseUsed: changedEdges.isEmpty ? nil : edges.baseUsed,
                                 reasonsChanged: reasonsChanged)
        self.init(previous, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments, edges: edges, streams: streams,
                  bounds: bounds, startedNs: started, clock: clock)
    }

    /// The stream table after load-only changes of `changed` edges (already in `edges`): their
    /// input counts and viewer bits in the columns (a copy, only when one differs), and the
    /// totals of every stream they carry.
    private func streamFigures(after changed: [(index: Int, edge: EdgeState)], in edges: EdgeTable) -> StreamTable {
        var t = streamTable
        var affected: [(slot: Int, id: Int32)] = []
        var patches: [(at: Int, inputs: UInt32, hasViewers: Bool)] = []
        for (i, e) in changed {
            for k in 0..<e.streamIds.count {
                guard let slot = streamIndex(named: names.name(e.streamIds[k])) else { continue }
                affected.append((slot, e.streamIds[k]))
                let c = candidates(of: slot)
                var lo = 0, hi = c.count
                while lo < hi { let mid = (lo + hi) / 2; if Int(c.edges[mid]) < i { lo = mid + 1 } else { hi = mid } }
                guard lo < c.count, Int(c.edges[lo]) == i else { continue }
                let st = e.streamStats[k]
                if c.inputs[lo] != st.inputs || c.hasViewers(lo) != (st.viewers > 0) {
                    patches.append((Int(t.entries[slot].candidateStart) + lo, st.inputs, st.viewers > 0))
                }
            }
        }
        if !patches.isEmpty {
            t.columns = streamTable.columns.copy()
            for p in patches {
                t.columns.inputs[p.at] = p.inputs
                t.columns.setHasViewers(p.at, p.hasViewers)
            }
        }
        for (slot, id) in affected {
            var up: UInt64 = 0, viewers: UInt64 = 0
            for j in candidates(of: slot).edges {
                if let st = edges.states[Int(j)].stats(forId: id) { up &+= st.upBytesPerSec; viewers &+= UInt64(st.viewers) }
            }
            t.setTotals(slot, up: up, viewers: viewers)
        }
        return t
    }
}
