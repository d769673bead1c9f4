/// One configured peer cluster (`peers:` list). A cluster not listed is
/// unsubscribed: never dialled, and its inbound channels are refused.
public struct PeerConfig: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Channel kept up at all times (a streamer's preferred ↔ official clusters).
        case always
        /// Queried on a viewer miss; a stream-scoped channel lives while shared streams do.
        case onDemand = "on-demand"
    }

    public var cluster: String
    /// `host:port` of the peer's peer listener (host may be a name).
    public var host: String
    public var port: UInt16
    public var mode: Mode
    /// The pair's shared secret (HMAC key of the handshake).
    public var secret: String
    /// Dial this peer over TLS (its peer listener has `peering.tls_listen`).
    public var tls: Bool
    /// `secret_file`: where `secret` is read from (the command resolves it; empty: inline).
    public var secretFile = ""

    public init(cluster: String, host: String, port: UInt16, mode: Mode, secret: String, tls: Bool = false) {
        self.cluster = cluster
        self.host = host
        self.port = port
        self.mode = mode
        self.secret = secret
        self.tls = tls
    }

    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `host:port` / `[v6]:port` (names allowed, port required).
    public static func parseAddress(_ text: String) -> (host: String, port: UInt16)? {
        guard let parts = HostPortText.split(text), !parts.host.isEmpty,
              parts.host.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" }),
              let port = HostPortText.port(parts.port), port > 0 else { return nil }
        return (String(parts.host), port)
    }
}

/// Timers and bounds of the PeerChannels (`peering:` section).
public struct PeeringSettings: Sendable, Equatable {
    /// A stream-scoped channel with no shared stream left closes after this.
    public var closeGraceS = 30
    /// How long a viewer miss waits for on-demand peers' answers.
    public var queryDeadlineMs = 250
    /// Edge summaries are pushed this often (≤ 15 s).
    public var summaryIntervalS = 5
    /// Remote data is fresh this long after it arrived.
    public var summaryTtlS = 30
    /// While a peer is unreachable its last data is still used up to this age (stale-if-error), then dropped.
    public var maxStaleS = 60
    /// "Not here" answers are remembered this long.
    public var negativeTtlS = 3
    public var heartbeatIntervalS = 10
    /// A channel silent this long is dead (closed, redialled).
    public var deadAfterS = 30
    /// Reconnect backoff: 500 ms doubling up to this, with ±20 % jitter.
    public var backoffMaxS = 30
    public var maxFrameBytes = 8 << 20
    /// The peer listener accepts TLS only (with the `tls.certificates`).
    public var tlsListen = false
    /// CA bundle (PEM) that peers' certificates must chain to; empty = the system store.
    public var tlsCaFile = ""

    public init() {}
}
