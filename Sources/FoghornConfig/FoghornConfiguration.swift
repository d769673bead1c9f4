public import FoghornJSON
public import FoghornModel

/// Every setting of a Foghorn process, with its default. Each field is one
/// config key (see ``ConfigKeys``), one `FOGHORN_<KEY>` environment variable
/// and, for the common ones, one `--flag`. Precedence: flags > environment >
/// file > defaults.
public struct FoghornConfiguration: Sendable, Equatable {
    public var httpListen = ListenAddress(host: "0.0.0.0", port: 18008)
    public var internalListen = ListenAddress(host: "127.0.0.1", port: 18009)
    /// Data loops; 0 means one per CPU core.
    public var loops = 0
    public var logLevel = "info"
    /// One JSON line per viewer request (through the bounded log queue).
    public var accessLog = false

    public var maxRequestLineBytes = 8192
    public var maxHeaderBytes = 16384
    public var maxHeaders = 64
    public var maxBodyBytes = 1_048_576
    public var headerTimeoutMs = 5000
    public var idleTimeoutMs = 30000
    public var writeTimeoutMs = 10000
    public var lingerMs = 2000
    public var maxConnectionsPerLoop = 10000
    public var maxPipelinedRequests = 16

    public var shutdownDelayMs = 0
    public var hardStopAfterMs = 30000
    /// The watchdog calls the control loop stalled after this long without a tick.
    public var controlStallAfterMs = 5000

    /// Admin bearer token for the internal listener; empty = every mutation refused.
    public var internalToken = ""
    public var trustedProxies: [String] = []
    /// `internal_token_file`, `cluster_secret_file`: the secrets read from files (Kubernetes
    /// secrets, systemd credentials) instead of the configuration or argv.
    public var internalTokenFile = ""
    public var clusterSecretFile = ""
    /// `proxy_protocol_from`: CIDRs of the L4 balancers that send a PROXY header; empty = off.
    public var proxyProtocolFrom: [String] = []
    public var geoipDb = ""
    /// The durable state file (SQLite); `:memory:` keeps nothing across restarts.
    public var statePath = "foghorn-state.db"
    /// Replicas: durable state in Redis (`state.redis_url`; empty: SQLite at `statePath`).
    public var stateRedisUrl = ""
    public var stateRedisPasswordFile = ""
    /// This replica's name in the changelog and logs (empty: host name, process ID and a random suffix).
    public var replicaId = ""
    /// Changelog entries Redis keeps (approximately; a replica further behind reads everything again).
    public var stateChangelogMax = 100_000
    public var clusterId = "local"
    public var clusterSlug = "local"
    public var rootDomain = "foghorn.local"
    /// Signs enrollment tokens and edge credentials; empty = a random per-process secret.
    public var clusterSecret = ""
    public var edgeStaleAfterMs = 90_000
    public var edgeEvictAfterMs = 300_000
    public var stickyBand = 0
    /// `playback` (the edge resolves the ID, as the reference) or `internal` (stream name in URLs).
    public var urlStreamName = "playback"
    /// `auto`, `mutations` or `all`: see ``effectiveInternalAuth``.
    public var internalAuth = "auto"
    public var redirectStatus = 307
    /// `edge_scheme`: template | https | http (see `EdgeScheme`).
    public var edgeScheme = "template"
    /// Access log: the client address `full`, `truncated` (IPv4 /24, IPv6 /48) or `off`; the query string or not.
    public var logClientIp = "full"
    public var logQuery = true
    /// `["*"]` or exact origins (then `Vary: Origin`).
    public var corsAllowedOrigins: [String] = ["*"]
    public var weightCpu = 500
    public var weightRam = 500
    public var weightBandwidth = 1000
    public var weightGeo = 1000
    public var weightStreamBonus = 50
    /// Static edges as given (each: `node_id` plus report fields, `tenant`, `mode`); the loader
    /// moves them into ``staticEdges`` (``StaticState/absorbTrees(_:)``), a JSON file streams them there.
    public var edges: [JSONValue] = []
    /// Static playback records as given (each: `id`, `stream`, `tenant`, `cluster`), moved into ``staticPlayback``.
    public var playback: [JSONValue] = []
    /// The static edges, typed and validated, their streams interned in ``streamNames``.
    public var staticEdges: [EdgeState] = []
    /// The table the configuration's stream names are interned in: the server that runs it
    /// serves with this table (``StaticState/parse(_:into:)`` re-interns edges typed in another).
    public var streamNames = StreamNameTable()
    /// The static playback records, typed and validated.
    public var staticPlayback: [PlaybackRecord] = []

    /// Forgets the static edges and records, given as trees or typed (large: whoever took them
    /// over — the control plane — should not leave a second copy in a kept configuration).
    public mutating func dropStaticState() {
        edges = []
        playback = []
        staticEdges = []
        staticPlayback = []
    }

    /// Upstream playback resolver base URL (`http://host:port`); empty = embedded records only.
    /// Unknown IDs are looked up at `<url>/v1/playback/<id>`.
    public var resolverUrl = ""
    public var resolverTimeoutMs = 500
    public var resolverTtlS = 60
    public var resolverStaleS = 30
    public var resolverNegativeTtlS = 5
    /// CA bundle (PEM) trusted for an https resolver; empty = the system store.
    public var resolverCaFile = ""

    /// MistServer nodes polled directly (`host[:port][/bandwidth MiB]`, API port 4242 by default).
    public var mistNodes: [String] = []
    /// The controller's `prometheus` passphrase: nodes are polled at `/<passphrase>.json`.
    public var mistPassphrase = "koekjes"
    /// `mist.passphrase_file`: read the passphrase from this file (the command resolves it).
    public var mistPassphraseFile = ""
    public var mistPollIntervalS = 5
    /// What MistUtilLoad-compatible queries answer when no node qualifies.
    public var mistFallback = "FULL"
    /// Serve MistUtilLoad's API (`GET /<stream>` on the viewer listener, `/?…` queries on the
    /// internal one) even without configured nodes. On whenever nodes are configured.
    public var mistCompat = false
    public var mistCompatEnabled: Bool { mistCompat || !mistNodes.isEmpty }

    /// HTTPS viewer listener on the data loops; bound only when certificates are configured.
    public var httpsListen = ListenAddress(host: "0.0.0.0", port: 18443)
    /// Certificate chain / key PEM file pairs; the first is the default, SNI picks among them.
    public var tlsCertificates: [TLSFilePair] = []
    public var tlsHandshakeTimeoutMs = 5000
    /// Certificate files are checked for changes this often (0 = only on SIGHUP).
    public var tlsCheckIntervalS = 10
    /// Session-ticket keys rotate this often (the previous key still resumes for one period).
    public var tlsTicketRotateS = 43_200
    /// The HTTP listener answers every request with a redirect to HTTPS.
    public var httpRedirectToHttps = false
    /// Status of that redirect for GET/HEAD (other methods always get 308).
    public var httpRedirectStatus = 301

    /// Peer listener (PeerChannels from other clusters' Foghorns); bound only when `peers` is non-empty.
    public var peerListen = ListenAddress(host: "0.0.0.0", port: 18019)
    public var peers: [PeerConfig] = []
    public var peering = PeeringSettings()
    /// `edge_listen`: the public edge API (enrol, report) over TLS; nil = not bound.
    public var edgeListen: ListenAddress?
    /// `edge_api`: that listener's limits and what enrolment answers.
    public var edgeAPI = EdgeAPISettings()
    /// `tls.edge_certificate`: the cluster's wildcard for `*.<slug>.<root_domain>`, handed to
    /// enrolling edges so they serve HTTPS for their domain; nil = not handed out.
    public var tlsEdgeCertificate: TLSFilePair?

    public init() {}
}

/// `edge_api: {…}` — the public edge listener's limits and what enrolment tells an edge.
public struct EdgeAPISettings: Sendable, Equatable {
    /// The URL edges reach this listener at (`https://foghorn.eu.example.net:18444`); the enrol
    /// answer's `report_url` is built on it. Empty: the scheme and Host the enrolling edge used.
    public var publicUrl = ""
    /// How often an edge should report (told to it at enrolment).
    public var reportIntervalS = 5
    /// Serve the edge API without TLS (only behind a TLS-terminating proxy, or in tests).
    public var plaintext = false
    /// Requests per minute and burst per source address (every request, before anything else).
    public var addressPerMinute = 600
    public var addressBurst = 60
    /// Requests per minute and burst per credential (an edge's reports, one enrolment token's uses).
    public var credentialPerMinute = 60
    public var credentialBurst = 10
    /// Addresses and credentials tracked at once (fixed memory; the quietest are forgotten first).
    public var trackedKeys = 65_536
    /// Largest request body; larger → 413.
    public var maxBodyBytes = 1_048_576
    /// Connections at once; at the cap the listener stops accepting.
    public var maxConnections = 4096

    public init() {}
}

/// One certificate chain and its private key (PEM files).
public struct TLSFilePair: Sendable, Equatable {
    public var cert: String
    public var key: String
    public init(cert: String, key: String) {
        self.cert = cert
        self.key = key
    }
}

/// What the admin token guards on the internal listener (`internal_auth`).
public enum InternalAuth: String, Sendable {
    /// Only mutations (and edge reports, which may use their own credential); reads are open.
    case mutations
    /// Every endpoint but the probes (`/livez`, `/readyz`, `/health`, `/v1/version`), enrolment
    /// and reports (their own credentials) and, with `mist.compat`, the MistUtilLoad API
    /// (MistServer cannot send a token).
    case all
}

extension FoghornConfiguration {
    /// Whether `internal_listen` is bound to loopback only (127.0.0.0/8, ::1).
    public var internalListenIsLoopback: Bool { IPAddress.parse(internalListen.host)?.isLoopback ?? false }

    /// `internal_auth`, with `auto` decided: `all` when the internal listener is reachable from
    /// other hosts, `mutations` on loopback.
    public var effectiveInternalAuth: InternalAuth {
        switch internalAuth {
        case "all": .all
        case "mutations": .mutations
        default: internalListenIsLoopback ? .mutations : .all
        }
    }

    /// What an operator should hear about before running this configuration (logged at start,
    /// listed by `check-config` and `/readyz?verbose`).
    public var warnings: [String] {
        var out: [String] = []
        if !internalListenIsLoopback && internalToken.isEmpty {
            out.append("internal_listen \(internalListen) is not loopback and no internal_token is set: every mutation is refused"
                + (effectiveInternalAuth == .all ? " and every read but the probes answers 403" : ", and reads (edges, debug, metrics) are open to anyone who can reach it"))
        } else if !internalListenIsLoopback && effectiveInternalAuth == .mutations {
            out.append("internal_listen \(internalListen) is not loopback and internal_auth is mutations: reads (edges, debug, metrics) need no token")
        }
        if tlsCertificates.isEmpty && !httpRedirectToHttps && edgeScheme == "template",
           let edge = staticEdges.first(where: { $0.baseURL.hasPrefix("https://") || $0.outputs.contains { $0.template.hasPrefix("https://") } }) {
            out.append("viewers arrive over plain HTTP (no tls.certificates) and edges such as \(edge.nodeId) are https: ExoPlayer/Media3 does not follow an http→https redirect unless allowCrossProtocolRedirects is set; serve viewers over HTTPS, or set edge_scheme")
        }
        return out
    }
}

/// A `host:port` to listen on. IPv6 hosts are written in brackets: `[::1]:18009`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `1.2.3.4:80`, `[::1]:80`, `:80` (all IPv4 interfaces). Only numeric hosts.
    public static func parse(_ text: String) -> ListenAddress? {
        guard let parts = HostPortText.split(text) else { return nil }
        var host = parts.host
        if parts.bracketed {
            guard host.contains(":"), IPAddressText.isIPv6(host) else { return nil }
        } else {
            if host.isEmpty { host = "0.0.0.0" }
            guard IPAddressText.isIPv4(host) else { return nil }
        }
        guard let port = HostPortText.port(parts.port) else { return nil }
        return ListenAddress(host: String(host), port: port)
    }
}

/// `host:port` and `[v6]:port` text, split once for every parser of addresses.
public enum HostPortText {
    /// The host (without brackets) and port text; nil when there is no `:port` part.
    public static func split(_ text: String) -> (host: Substring, port: Substring, bracketed: Bool)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            return (text[text.index(after: text.startIndex)..<close], rest.dropFirst(), true)
        }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        return (text[..<colon], text[text.index(after: colon)...], false)
    }

    /// A decimal port 0…65535 (ASCII digits only).
    public static func port(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt16(text)
    }
}

/// Syntax checks of numeric IP literals (no DNS).
public enum IPAddressText {
    public static func isIPv4(_ s: Substring) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p), v <= 255 else { return false }
            if p.count > 1 && p.first == "0" { return false }
        }
        return true
    }

    public static func isIPv6(_ s: Substring) -> Bool {
        guard s.count >= 2, s.count <= 45 else { return false }
        var text = s
        var groupsNeeded = 8
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard isIPv4(text[text.index(after: lastColon)...]) else { return false }
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
            groupsNeeded = 6
        }
        let doubleColonCount = text.components(separatedBy: "::").count - 1
        guard doubleColonCount <= 1 else { return false }
        let pieces = text.split(separator: ":", omittingEmptySubsequences: true)
        for piece in pieces {
            guard piece.count <= 4, piece.allSatisfy(\.isHexDigit) else { return false }
        }
        if doubleColonCount == 1 { return pieces.count < groupsNeeded }
        return pieces.count == groupsNeeded && !text.hasPrefix(":") && !text.hasSuffix(":")
    }
}

extension Substring {
    fileprivate func components(separatedBy separator: String) -> [Substring] {
        var result: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            result.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        result.append(rest)
        return result
    }
}
