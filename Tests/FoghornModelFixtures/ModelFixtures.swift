public import FoghornModel

/// Model values tests build again and again, in one place: an edge with the figures a test
/// cares about (the rest neutral), a snapshot of edges, a ranking by node ID.

/// The table fixture edges, reports, stores and snapshots intern their stream names in.
public let fixtureNames = StreamNameTable()

/// A static edge (always fresh) with load, position, streams and placement as given; its base
/// URL is `base` with `HOSTNAME` replaced by the node ID.
public func edge(_ id: String, cpu: UInt64 = 0, ramUsed: UInt64 = 0, ramMax: UInt64 = 1000, up: UInt64 = 0, limit: UInt64 = 1000,
                 lat: Double = .nan, lon: Double = .nan, streams: [String: EdgeStreamStats] = ["s": EdgeStreamStats(inputs: 1)],
                 tags: [String] = [], tenant: String = "", mode: EdgeMode = .normal, base: String = "https://HOSTNAME/") -> EdgeState {
    var e = EdgeState(nodeId: id)
    e.cpuPermille = cpu; e.ramUsedBytes = ramUsed; e.ramMaxBytes = ramMax; e.upBytesPerSec = up; e.bwLimitBytesPerSec = limit
    e.lat = lat; e.lon = lon; e.setStreams(streams, in: fixtureNames); e.tags = tags; e.tenant = tenant; e.mode = mode; e.isStatic = true
    e.baseURL = base.replacingAll("HOSTNAME", with: id)
    return e
}

/// An enrolled edge that reported at `reportedMs` carrying `streams` (one input each): routable,
/// nothing used, and stale once `StalenessPolicy.staleAfterMs` passes without another report.
public func reportingEdge(_ id: String, streams: [String], reportedMs: UInt64) -> EdgeState {
    var e = EdgeState(nodeId: id)
    e.cpuPermille = 100
    e.ramMaxBytes = 1 << 30
    e.bwLimitBytesPerSec = 1 << 40
    e.lastReportMs = reportedMs
    e.setStreams(Dictionary(uniqueKeysWithValues: streams.map { ($0, EdgeStreamStats(inputs: 1)) }), in: fixtureNames)
    return e
}

/// A full build of `edges` (generation 1) with `playback`.
public func snapshot(_ edges: [EdgeState], playback: [PlaybackRecord] = [PlaybackRecord(playbackId: "p", stream: "s")],
                     weights: ScoringWeights = .defaults, nowMs: UInt64 = 0, staleness: StalenessPolicy = StalenessPolicy()) -> RoutingSnapshot {
    RoutingSnapshot(.init(generation: 1, nowMs: nowMs, weights: weights, staleness: staleness, edges: edges, playback: playback, names: fixtureNames))
}

/// The node IDs `Scorer.top` ranks for `r`, best first.
public func ranking(_ s: RoutingSnapshot, _ r: ScoringRequest) -> [String] {
    let top = Scorer.top(s, r)
    return (0..<top.count).map { s.nodeIds[top[$0].edge] }
}

extension String {
    /// `replacingAll` under the name the older tests use.
    public func replacingOccurrences(_ a: String, _ b: String) -> String { replacingAll(a, with: b) }
}

extension EdgeState {
    /// The streams by name in ``fixtureNames`` (tests read and write edges' streams this way).
    public var streams: [String: EdgeStreamStats] {
        get { streams(in: fixtureNames) }
        set { setStreams(newValue, in: fixtureNames) }
    }
}

extension EdgeReport {
    /// The reported streams by name in ``fixtureNames``.
    public var streams: [String: EdgeStreamStats]? {
        get { streams(in: fixtureNames) }
        set { setStreams(newValue, in: fixtureNames) }
    }
}
