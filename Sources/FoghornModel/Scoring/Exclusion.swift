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
    /// The edge lacks the `edge` capability.
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

/// Edge capabilities reported by the sidecar.
public struct EdgeCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let edge = EdgeCapabilities(rawValue: 1)
    public static let ingest = EdgeCapabilities(rawValue: 2)
    public static let storage = EdgeCapabilities(rawValue: 4)
    public static let processing = EdgeCapabilities(rawValue: 8)

    public static func named(_ name: String) -> EdgeCapabilities? {
        switch name {
        case "edge": return .edge
        case "ingest": return .ingest
        case "storage": return .storage
        case "processing": return .processing
        default: return nil
        }
    }

    public var names: [String] {
        var out: [String] = []
        if contains(.edge) { out.append("edge") }
        if contains(.ingest) { out.append("ingest") }
        if contains(.storage) { out.append("storage") }
        if contains(.processing) { out.append("processing") }
        return out
    }
}
