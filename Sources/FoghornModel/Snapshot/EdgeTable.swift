/// A snapshot's edges: this cluster's in node-ID order (indices `0..<localCount`, so a lower
/// index is a lower node ID, the tie-break), then peer clusters' (`node@cluster`), with their
/// scoring rows and what a refresh needs to recompute them. Builds that leave the edges alone
/// share the table; refreshes replace `rows` and `pending`.
public struct EdgeTable: Sendable {
    /// Each edge's state (boxes shared with other snapshots).
    public internal(set) var states: SnapshotEdges
    /// The scoring rows the scorer reads.
    public internal(set) var rows: EdgeRows
    /// Pending (anti-herd) bytes/s per edge as the control loop last folded them.
    public internal(set) var pending: [UInt64]
    /// Each row's `used` without pending (pending-only refreshes add to this; they never read `states`).
    var baseUsed: [UInt64]
    /// Each edge's resolved URL templates (by ``ViewerProtocol`` raw value), shared with its EdgeState.
    public internal(set) var urls: [URLTemplateTable]
    public internal(set) var nodeIds: [String]
    public internal(set) var nodeHash: [UInt64]
    /// Edges `0..<localCount` are this cluster's; the rest are peers'.
    public internal(set) var localCount: Int
    /// Qualified ID (`node@cluster`) → index, for peers' edges.
    var remoteIndex: [String: Int]
    /// Equal for snapshots with the same edges at the same indices: the generation of the build
    /// that last numbered them (full or renumbering).
    public internal(set) var structureToken: UInt64
    /// Tag name → bit (the first 63 distinct tags; others set bit 63 and are matched by name).
    var tagBit: [String: Int]

    public var count: Int { nodeIds.count }

    /// Binary search over the local node-ID order (no per-snapshot dictionary to build); peers'
    /// edges (`node@cluster`) through their own index.
    public func index(nodeId: String) -> Int? {
        if !remoteIndex.isEmpty, let r = remoteIndex[nodeId] { return r }
        var lo = 0, hi = localCount
        while lo < hi {
            let mid = (lo + hi) / 2
            if nodeIds[mid] < nodeId { lo = mid + 1 } else { hi = mid }
        }
        return lo < localCount && nodeIds[lo] == nodeId ? lo : nil
    }

    /// This table with new pending bandwidth for every edge and, for `changed` edges (same
    /// index, same placement), new states and load terms: every row's usage recomputed, the
    /// changed ones' load terms afresh. O(edges), no hashing.
    func refreshed(pending: [UInt64], changed: [(index: Int, edge: EdgeState)], weights w: ScoringWeights, staleness: StalenessPolicy,
                   nowMs: UInt64) -> EdgeTable {
        var t = self
        t.pending = pending
        for (i, e) in changed {
            t.states.replace(i, with: e)
            t.baseUsed[i] = EdgeHot.used(e)
        }
        t.rows = EdgeRows(refreshing: rows, count: count, baseUsed: t.baseUsed, pending: pending, weights: w)
        for (i, e) in changed { t.rows.buffer[i].setLoad(e, pending: pending[i], weights: w, staleness: staleness, nowMs: nowMs) }
        return t
    }

    /// This table with `states` in place of its edges (same indices) — `changed` (ascending index)
    /// placed and loaded afresh, new tenants and tags interned — and `pending` for every edge.
    func restructured(states: SnapshotEdges, changed: [(index: Int, edge: EdgeState)], pending: [UInt64], tenants: inout TenantTable,
                      weights w: ScoringWeights, staleness: StalenessPolicy, nowMs: UInt64) -> EdgeTable {
        var t = self
        t.states = states
        t.pending = pending
        for (i, e) in changed { t.baseUsed[i] = EdgeHot.used(e) }
        // Copied (10,000 retains) only when some URL really changed.
        if changed.contains(where: { urls[$0.index] != $0.edge.resolvedURLs }) {
            for (i, e) in changed { t.urls[i] = e.resolvedURLs }
        }
        t.rows = EdgeRows(refreshing: rows, count: count, baseUsed: t.baseUsed, pending: pending, weights: w)
        for (i, _) in changed {
            let e = states[i]
            t.rows.buffer[i].place(e, tenant: tenants.intern(e.tenant), tagBit: &t.tagBit)
            t.rows.buffer[i].setLoad(e, pending: pending[i], weights: w, staleness: staleness, nowMs: nowMs)
        }
        return t
    }

    /// This table's edges scored under new weights (``RoutingSnapshot/init(reconfiguring:weights:geo:pending:generation:nowMs:appliedShipments:clock:)``):
    /// every row's load terms afresh, placements kept.
    func reweighted(_ w: ScoringWeights, pending: [UInt64], staleness: StalenessPolicy, nowMs: UInt64) -> EdgeTable {
        var t = self
        t.pending = pending
        t.rows = EdgeRows(count: count)
        for i in 0..<count {
            t.rows.buffer[i] = rows.buffer[i]
            t.rows.buffer[i].setLoad(states[i], pending: pending[i], weights: w, staleness: staleness, nowMs: nowMs)
        }
        return t
    }
}
