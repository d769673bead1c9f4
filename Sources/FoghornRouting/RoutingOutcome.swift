/// Route outcomes counted per loop (`foghorn_routing_decisions_total{outcome}`).
public enum RoutingOutcome: Int, CaseIterable, Sendable {
    case redirect, json, preflight, viewKeyNotFound, streamOffline, noEdgeAvailable, protocolNotAvailable, badRequest, resolverUnavailable

    public var label: String {
        switch self {
        case .redirect: return "redirect"
        case .json: return "json"
        case .preflight: return "preflight"
        case .viewKeyNotFound: return "view_key_not_found"
        case .streamOffline: return "stream_offline"
        case .noEdgeAvailable: return "no_edge_available"
        case .protocolNotAvailable: return "protocol_not_available"
        case .badRequest: return "bad_request"
        case .resolverUnavailable: return "resolver_unavailable"
        }
    }
}
