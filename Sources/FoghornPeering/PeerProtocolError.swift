/// Why a peer's bytes were refused. `reason` is a stable label
/// (`foghorn_peer_channel_errors_total{reason}`); the channel closes on any of them.
public struct PeerProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var detail: String

    public init(_ reason: String, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason): \(detail)" }

    /// Every reason a decoder can give.
    public static let reasons = ["bad_version", "unknown_type", "oversized", "malformed"]

    static func malformed(_ detail: String) -> PeerProtocolError { PeerProtocolError("malformed", detail) }
}
