/// The PeerChannel's wire framing (docs/PEERING.md):
///
///     +---------+------+----------------------+-----------------+
///     | version | type | length (u32, big end.) | payload (JSON) |
///     |  1 byte |1 byte|       4 bytes         | `length` bytes  |
///     +---------+------+----------------------+-----------------+
///
/// Example: a goodbye `{"reason":"shutdown"}` (21 bytes) is
/// `01 0A 00 00 00 15` followed by the 21 JSON bytes.
public enum PeerFrame {
    /// The only protocol version this build speaks.
    public static let version: UInt8 = 1
    public static let headerBytes = 6
    /// Default cap on one frame's payload (edge summaries of 10,000 edges fit).
    public static let defaultMaxPayloadBytes = 8 << 20

    /// Header + payload of one frame.
    public static func encode(_ type: PeerMessageType, payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headerBytes + payload.count)
        out.append(version)
        out.append(type.rawValue)
        let n = UInt32(payload.count)
        out.append(UInt8(n >> 24))
        out.append(UInt8((n >> 16) & 0xFF))
        out.append(UInt8((n >> 8) & 0xFF))
        out.append(UInt8(n & 0xFF))
        out.append(contentsOf: payload)
        return out
    }
}

/// Frame types. Unknown types close the channel (`unknown_type`).
public enum PeerMessageType: UInt8, CaseIterable, Sendable {
    case hello = 1
    case auth = 2
    case ready = 3
    case edgeSummary = 4
    case streamAdvertisement = 5
    case streamEnded = 6
    case queryStream = 7
    case queryAnswer = 8
    case heartbeat = 9
    case goodbye = 10

    public var name: String {
        switch self {
        case .hello: return "hello"
        case .auth: return "auth"
        case .ready: return "ready"
        case .edgeSummary: return "edge_summary"
        case .streamAdvertisement: return "stream_advertisement"
        case .streamEnded: return "stream_ended"
        case .queryStream: return "query_stream"
        case .queryAnswer: return "query_answer"
        case .heartbeat: return "heartbeat"
        case .goodbye: return "goodbye"
        }
    }
}
