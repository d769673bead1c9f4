/// What keeps an edge out of routing (``blocking``) and what limits it while it routes
/// (``notes``), in words an operator can act on. The report's answer and `/debug/edges` carry the
/// same lines, so an edge that reports but gets no viewers says why without reading SCORING.md.
///
/// Each line starts with a stable reason (`no_metrics:`, `stale:` …, the names of
/// ``Exclusion/reason`` where one applies), then what to do.
///
/// ```swift
/// var e = EdgeState(nodeId: "n1"); e.isStatic = true
/// EdgeWarnings(e, staleness: StalenessPolicy(), nowMs: 0).blocking   // a static edge: never stale
/// // ["no_metrics: ram_max_bytes missing (report the host's total RAM in bytes)",
/// //  "no_metrics: bw_limit_bytes_per_sec missing (report the uplink's capacity in bytes/s)",
/// //  "no_urls: no base_url and no outputs: no viewer URL can be built …"]
/// ```
public struct EdgeWarnings: Sendable, Equatable {
    /// Reasons the edge gets no viewers at all.
    public var blocking: [String] = []
    /// Routable, but something limits it (no streams, no position, streams without input).
    public var notes: [String] = []

    public var isRoutable: Bool { blocking.isEmpty }

    public init(_ e: EdgeState, staleness: StalenessPolicy, nowMs: UInt64) {
        let staleAfterMs = staleness.staleAfterMs
        switch e.mode {
        case .maintenance: blocking.append("maintenance: an operator set this edge to maintenance (PUT /v1/edges/\(e.nodeId)/mode {\"mode\":\"normal\"} ends it)")
        case .draining: blocking.append("draining: an operator set this edge to draining: no new viewers (PUT /v1/edges/\(e.nodeId)/mode {\"mode\":\"normal\"} ends it)")
        case .normal: break
        }
        if !e.pollError.isEmpty {
            blocking.append(e.pollError == "starting" ? "poll_failed: not polled yet" : "poll_failed: the last poll of its MistServer failed (\(e.pollError))")
        }
        switch staleness.health(of: e, nowMs: nowMs) {
        case .fresh: break
        case .stale, .evict:
            if let last = e.lastReportMs {
                let age = nowMs >= last ? nowMs - last : 0
                blocking.append("stale: no report for \(age / 1000) s (edges leave routing after \(staleAfterMs / 1000) s without one)")
            } else {
                blocking.append("stale: no report yet since enrolment or restart (the next report brings it in)")
            }
        }
        if e.ramMaxBytes == 0 { blocking.append("no_metrics: ram_max_bytes missing (report the host's total RAM in bytes)") }
        if e.bwLimitBytesPerSec == 0 { blocking.append("no_metrics: bw_limit_bytes_per_sec missing (report the uplink's capacity in bytes/s)") }
        if !e.capabilities.contains(.edge) { blocking.append("capability: capabilities lacks \"edge\": not a viewer edge") }
        if e.resolvedURLs.isEmpty {
            blocking.append("no_urls: no base_url and no outputs: no viewer URL can be built (report base_url, e.g. https://\(e.domain.isEmpty ? "edge.example" : e.domain)/)")
        }
        if e.bwLimitBytesPerSec > 0, e.upBytesPerSec &+ e.pendingBytesPerSec >= e.bwLimitBytesPerSec {
            blocking.append("bandwidth_exhausted: up_bytes_per_sec (+ redirects in flight) reaches bw_limit_bytes_per_sec")
        }
        if e.streamCount == 0 {
            notes.append("no_streams: reports no streams: viewers are sent only to edges that carry their stream")
        } else {
            var noInput = 0
            for s in e.streamStats where s.inputs == 0 { noInput += 1 }
            if noInput > 0 { notes.append("stream_no_inputs: \(noInput) of \(e.streamCount) streams have no input (inputs 0): their viewers are not sent here") }
        }
        if !e.tenant.isEmpty { notes.append("tenant: serves only playback IDs of tenant \(e.tenant) (its enrolment token's)") }
        if !e.hasValidGeo { notes.append("no_position: no lat/lon: the geo term scores this edge 0 (report lat and lon, or MistServer's loc)") }
    }
}
