/// The reweighting: new scoring weights (`PUT /v1/weights`, a reload) or a new GeoIP lookup.
/// Every scoring row's load terms and the index bounds are computed again — O(edges + index),
/// no stream or playback work. The index's structure does not depend on the weights (they only
/// steered where its trees split), so it is shared.
extension RoutingSnapshot {
    /// `previous` under weights `w` and GeoIP lookup `geo`, with `pending` for every edge.
    public convenience init(reconfiguring previous: RoutingSnapshot, weights w: ScoringWeights, geo: (any GeoLookup)?, pending: [UInt64],
                            generation: UInt64, nowMs: UInt64, appliedShipments: [UInt64], clock: () -> UInt64 = { 0 }) {
        let started = clock()
        precondition(pending.count == previous.edgeCount, "pending must be indexed like the previous snapshot")
        let edges = previous.edgeTable.reweighted(w, pending: pending, staleness: previous.staleness, nowMs: nowMs)
        let bounds = IndexBounds(index: previous.index, streamCount: previous.streams.count, hot: edges.rows.buffer, baseUsed: edges.baseUsed, weights: w)
        self.init(previous, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments, weights: w, geo: .some(geo), edges: edges,
                  bounds: bounds, startedNs: started, clock: clock)
    }
}
