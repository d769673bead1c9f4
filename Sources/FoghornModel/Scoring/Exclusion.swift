/// Why an edge was not a candidate. Named in `/debug/score` and counted in
/// `foghorn_routing_exclusions_total{reason}`.
public enum Exclusion: UInt8, CaseIterable, Sendable {
    case maintenance = 1
    case draining
    case stale
    /// `ram_max_bytes` or `bw_limit_bytes_per_sec` not reported yet.
    case noMetrics
    case bandwidthExhausted
    case streamMissing
    case streamNoInputs
    case tenantMismatch
    /// The edge lacks the `edge` capability, or one the request's `cap=` requires.
    case capability
    /// A negative tag adjustment took the score to zero.
    case adjustedToZero
    /// A polled MistServer node did not answer its last poll properly.
    case pollFailed
    /// The node lists `conf_streams` and the stream is not among them.
    case streamNotAllowed
    /// A peer cluster's edge whose score does not exceed the cross-cluster penalty.
    case belowCrossClusterPenalty

    public var reason: String {
        switch self {
        case .maintenance: return "maintenance"
        case .draining: return "draining"
        case .stale: return "stale"
        case .noMetrics: return "no_metrics"
        case .bandwidthExhausted: return "bandwidth_exhausted"
        case .streamMissing: return "stream_missing"
        case .streamNoInputs: return "stream_no_inputs"
        case .tenantMismatch: return "tenant_mismatch"
        case .capability: return "capability"
        case .adjustedToZero: return "adjusted_to_zero"
        case .pollFailed: return "poll_failed"
        case .streamNotAllowed: return "stream_not_allowed"
        case .belowCrossClusterPenalty: return "below_cross_cluster_penalty"
        }
    }
}
