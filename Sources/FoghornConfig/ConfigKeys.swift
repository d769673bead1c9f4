public import FoghornJSON
import FoghornModel

/// A configuration problem: which key, what is wrong. `check-config` prints it.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The key (or `file`/line position) the problem is about.
    public var key: String
    public var problem: String
    /// Where the value came from: `file`, `env FOGHORN_X`, `flag --x`, `default`.
    public var source: String

    public init(key: String, problem: String, source: String) {
        self.key = key
        self.problem = problem
        self.source = source
    }

    public var description: String { "\(key): \(problem) (from \(source))" }
}

/// One configuration key: its name, documentation, default and how a value is
/// applied. The table in ``ConfigKeys/all`` is the single declaration of every
/// key; docs/OPERATIONS.md mirrors it (a test checks they agree).
public struct ConfigKey: Sendable {
    public let name: String
    public let summary: String
    /// The default, as text.
    public let defaultText: String
    let apply: @Sendable (inout FoghornConfiguration, JSONValue) -> String?
    /// The key's effective value, for `/debug/config` (secrets come back redacted).
    public let read: @Sendable (FoghornConfiguration) -> JSONValue
    /// The fields of ``FoghornConfiguration`` this key sets: compared and copied by a reload.
    public let fields: ConfigFields
    /// What SIGHUP does with a new value (declared in ``ConfigKeys/reloadClasses``).
    public internal(set) var reload: ConfigReload = .restart

    init(name: String, summary: String, defaultText: String, fields: ConfigFields, read: @escaping @Sendable (FoghornConfiguration) -> JSONValue,
         apply: @escaping @Sendable (inout FoghornConfiguration, JSONValue) -> String?) {
        self.name = name
        self.summary = summary
        self.defaultText = defaultText
        self.fields = fields
        self.read = read
        self.apply = apply
    }

    /// `FOGHORN_<NAME>`.
    public var environmentVariable: String { "FOGHORN_" + name.uppercased() }
    /// `--name-with-dashes`.
    public var flag: String { "--" + name.replacingUnderscores() }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}

/// How a key's new value is taken over on SIGHUP.
public enum ConfigReload: Sendable {
    /// Applied to the running process (the control plane, the viewer loops' settings, the
    /// listeners' timeouts and limits).
    case live
    /// Read at start only: a changed value is logged (`configuration reloaded; these keys
    /// changed but need a restart`) and the running value stays in effect and in `/debug/config`.
    case restart
    /// Some fields live, the named ones restart-only (reported as `key.field`).
    case partly(restartOnly: [(field: String, fields: ConfigFields)])

    public var isLive: Bool { if case .live = self { return true } else { return false } }
}

/// Fields of ``FoghornConfiguration`` behind one key: equal in two configurations? copy them over.
public struct ConfigFields: Sendable {
    public let same: @Sendable (FoghornConfiguration, FoghornConfiguration) -> Bool
    public let copy: @Sendable (inout FoghornConfiguration, FoghornConfiguration) -> Void

    public static func path<T: Equatable & Sendable>(_ p: any WritableKeyPath<FoghornConfiguration, T> & Sendable) -> ConfigFields {
        ConfigFields(same: { $0[keyPath: p] == $1[keyPath: p] }, copy: { $0[keyPath: p] = $1[keyPath: p] })
    }

    public static func all(_ parts: [ConfigFields]) -> ConfigFields {
        ConfigFields(same: { a, b in parts.allSatisfy { $0.same(a, b) } }, copy: { a, b in for p in parts { p.copy(&a, b) } })
    }
}

public enum ConfigKeys {
    /// How each key reloads (SIGHUP); every key not listed is restart-only. Live: the control
    /// plane takes static edges, playback records, weights, the GeoIP database and Mist nodes;
    /// the viewer loops take `sticky_band`, `redirect_status` and `url_stream_name`; every
    /// listener takes its timeouts, connection cap and pipelining limit; enrolment reads the
    /// cluster's slug and root domain, the internal listener `internal_auth`, SIGTERM
    /// `shutdown_delay_ms`. Parser limits (buffers sized at start), listen addresses, loops,
    /// tokens, secrets, trusted proxies, CORS, the resolver, peers and staleness need a restart.
    static let reloadClasses: [String: ConfigReload] = [
        "header_timeout_ms": .live, "idle_timeout_ms": .live, "write_timeout_ms": .live, "linger_ms": .live,
        "max_connections_per_loop": .live, "max_pipelined_requests": .live, "shutdown_delay_ms": .live,
        "geoip_db": .live, "sticky_band": .live, "url_stream_name": .live, "redirect_status": .live, "internal_auth": .live,
        "edge_scheme": .live, "log_client_ip": .live, "log_query": .live,
        "weight_cpu": .live, "weight_ram": .live, "weight_bandwidth": .live, "weight_geo": .live, "weight_stream_bonus": .live,
        "edges": .live, "playback": .live, "cluster_slug": .live, "root_domain": .live,
        "cluster": .live,  // its id is restart-only: cluster_id keeps the running one
        "mist": .partly(restartOnly: [("passphrase", .path(\.mistPassphrase)), ("poll_interval_s", .path(\.mistPollIntervalS)),
                                       ("fallback", .path(\.mistFallback)), ("compat", .path(\.mistCompat))]),
        "tls": .partly(restartOnly: [("handshake_timeout_ms", .path(\.tlsHandshakeTimeoutMs)), ("check_interval_s", .path(\.tlsCheckIntervalS)),
                                      ("ticket_rotate_s", .path(\.tlsTicketRotateS))]),
    ]

    public static let all: [ConfigKey] = declared.map { key in
        var k = key
        k.reload = reloadClasses[key.name] ?? .restart
        return k
    }

    /// The key table as declared (``all`` adds each key's reload class).
    static let declared: [ConfigKey] = [
        listen("http_listen", "viewer HTTP listener (one SO_REUSEPORT socket per data loop)", \.httpListen),
        listen("internal_listen", "internal listener: ops, admin, edge API (control loop)", \.internalListen),
        int("loops", "data loops (threads serving viewers); 0 = one per CPU core", \.loops, 0...256),
        oneOf("log_level", "log level", \.logLevel, ["trace", "debug", "info", "notice", "warning", "error", "critical"]),
        bool("access_log", "one JSON access-log line per viewer request (bounded queue; dropped lines are counted)", \.accessLog),
        int("max_request_line_bytes", "longest request line (method, target, version); longer → 414", \.maxRequestLineBytes, 64...1_048_576),
        int("max_header_bytes", "largest header block (all header lines + final CRLF); larger → 431", \.maxHeaderBytes, 64...1_048_576),
        int("max_headers", "most header fields per request; more → 431", \.maxHeaders, 1...1000),
        int("max_body_bytes", "largest request body on the internal listener; larger → 413 (viewer listener: 0)", \.maxBodyBytes, 0...67_108_864),
        int("header_timeout_ms", "whole request head must arrive within this of its first byte → else 408", \.headerTimeoutMs, 1...600_000),
        int("idle_timeout_ms", "idle keep-alive connections are closed after this", \.idleTimeoutMs, 1...3_600_000),
        int("write_timeout_ms", "a response not taken by the peer within this closes the connection", \.writeTimeoutMs, 1...600_000),
        int("linger_ms", "after an error response, input is drained this long before closing", \.lingerMs, 0...60_000),
        int("max_connections_per_loop", "connections per loop; at the cap the loop stops accepting", \.maxConnectionsPerLoop, 1...1_000_000),
        int("max_pipelined_requests", "pipelined requests answered per batch before writing", \.maxPipelinedRequests, 1...1024),
        int("shutdown_delay_ms", "on SIGTERM, keep serving this long with /readyz = 503 before draining", \.shutdownDelayMs, 0...600_000),
        int("hard_stop_after_ms", "on SIGTERM, exit after this long even if connections remain", \.hardStopAfterMs, 1...3_600_000),
        int("control_stall_after_ms", "the watchdog calls the control loop stalled after this long without running: logged, /livez 503", \.controlStallAfterMs, 200...600_000),
        string("internal_token", "admin bearer token for the internal listener; empty refuses every mutation", \.internalToken, secret: true),
        string("internal_token_file", "read internal_token from this file (one line; not both)", \.internalTokenFile),
        string("cluster_secret_file", "read cluster_secret from this file (one line; not both)", \.clusterSecretFile),
        list("trusted_proxies", "CIDRs whose X-Forwarded-For / X-Real-IP / CF-Connecting-IP / X-Forwarded-Proto are believed", \.trustedProxies, validate: { CIDRBlock.parse($0) == nil ? "\"\($0)\" is not a CIDR block" : nil }),
        list("proxy_protocol_from", "CIDRs of L4 load balancers whose connections start with a PROXY header (v1 or v2) on the viewer listeners; others are closed; empty = no PROXY protocol", \.proxyProtocolFrom, validate: { CIDRBlock.parse($0) == nil ? "\"\($0)\" is not a CIDR block" : nil }),
        string("geoip_db", "path of a MaxMind-format City .mmdb; empty = no geo term", \.geoipDb),
        string("state_path", "durable state (enrolled edges, token uses, modes, playback records, weights and Mist nodes set through the API): an SQLite file, created if missing; :memory: keeps none across restarts", \.statePath),
        string("cluster_id", "this cluster's ID (enrollment answers, federation)", \.clusterId),
        string("cluster_slug", "DNS label of this cluster: edge domains are edge-<node>.<slug>.<root_domain>", \.clusterSlug),
        string("root_domain", "root DNS domain of edge names", \.rootDomain),
        string("cluster_secret", "HMAC key for enrollment tokens and edge credentials; empty = generated once and kept in the state store (state_path :memory: → random per process)", \.clusterSecret, secret: true),
        int("edge_stale_after_ms", "an edge with no report for this long leaves routing", \.edgeStaleAfterMs, 1000...86_400_000),
        int("edge_evict_after_ms", "an edge with no report for this long leaves routing and lists (an enrolled edge's registration stays: its next report brings it back)", \.edgeEvictAfterMs, 1000...604_800_000),
        int("sticky_band", "score points within which a returning viewer keeps its edge (0 = off)", \.stickyBand, 0...1_000_000),
        oneOf("url_stream_name", "name used for $ in edge URLs", \.urlStreamName, ["playback", "internal"]),
        oneOf("internal_auth", "what internal_token guards on the internal listener: mutations, all (every read but probes), auto (all unless internal_listen is loopback)", \.internalAuth, ["auto", "mutations", "all"]),
        oneOf("edge_scheme", "scheme of edge URLs given to viewers: template (each edge's own; https for viewers on HTTPS), https or http (every edge URL rewritten)", \.edgeScheme, ["template", "https", "http"]),
        oneOf("log_client_ip", "client address in the access log: full, truncated (IPv4 /24, IPv6 /48) or off", \.logClientIp, ["full", "truncated", "off"]),
        bool("log_query", "keep query strings (signed tokens) in the access log's path", \.logQuery),
        int("redirect_status", "redirect status for /play with a protocol (307 or 302)", \.redirectStatus, 302...307),
        list("cors_allowed_origins", "Access-Control-Allow-Origin policy: * or exact origins", \.corsAllowedOrigins, validate: { $0 == "*" || (($0.hasPrefix("http://") || $0.hasPrefix("https://")) && InputRules.forbiddenURLByte($0) == nil) ? nil : "\"\($0)\" is not * or an http(s) origin" }),
        int("weight_cpu", "score weight of CPU", \.weightCpu, 0...1_000_000),
        int("weight_ram", "score weight of RAM", \.weightRam, 0...1_000_000),
        int("weight_bandwidth", "score weight of bandwidth", \.weightBandwidth, 0...1_000_000),
        int("weight_geo", "score weight of geo distance", \.weightGeo, 0...1_000_000),
        int("weight_stream_bonus", "score bonus for carrying the stream", \.weightStreamBonus, 0...1_000_000),
        section("edges", "static edges: a list of {node_id, base_url, outputs, streams, …} (report fields)", \.edges, typed: \.staticEdges.count),
        section("playback", "static playback records: a list of {id, stream, tenant?, cluster?}", \.playback, typed: \.staticPlayback.count),
        string("resolver_url", "upstream playback resolver (http(s)://host:port[/base]); unknown IDs → GET <url>/v1/playback/<id>; empty = embedded records only", \.resolverUrl),
        string("resolver_ca_file", "CA bundle (PEM) trusted for an https resolver; empty = the system trust store", \.resolverCaFile),
        int("resolver_timeout_ms", "deadline of one resolver lookup; parked viewers get 503 RESOLVER_UNAVAILABLE after it", \.resolverTimeoutMs, 10...30_000),
        int("resolver_ttl_s", "resolved records are fresh this long (then refreshed in the background)", \.resolverTtlS, 1...86_400),
        int("resolver_stale_s", "after the TTL, a record is still served this long while refreshing, and while the resolver fails", \.resolverStaleS, 0...86_400),
        int("resolver_negative_ttl_s", "an unknown ID is answered 404 without asking again for this long", \.resolverNegativeTtlS, 0...3600),
        mist(),
        state(),
        listen("https_listen", "HTTPS viewer listener (data loops); bound only when tls.certificates are configured", \.httpsListen),
        tls(),
        bool("http_redirect_to_https", "the HTTP listener redirects every request to HTTPS (needs TLS)", \.httpRedirectToHttps),
        int("http_redirect_status", "status of that redirect for GET/HEAD (301 or 308; other methods get 308)", \.httpRedirectStatus, 301...308),
        cluster(),
        listen("peer_listen", "peer listener for PeerChannels from other clusters (bound only when peers are configured)", \.peerListen),
        peersKey(),
        peering(),
        optionalListen("edge_listen", "public edge API listener (enrol, report; TLS with tls.certificates, control loop); empty = not bound", \.edgeListen),
        edgeAPI(),
    ]

    /// A listen address that may be empty (the listener is then not bound).
    static func optionalListen(_ name: String, _ summary: String, _ path: any WritableKeyPath<FoghornConfiguration, ListenAddress?> & Sendable) -> ConfigKey {
        ConfigKey(name: name, summary: summary, defaultText: "\"\"", fields: .path(path),
                  read: { .string($0[keyPath: path]?.description ?? "") }) { config, value in
            guard case .string(let s) = value else { return "expected \"HOST:PORT\" or \"\", got \(value.typeDescription)" }
            if s.isEmpty {
                config[keyPath: path] = nil
                return nil
            }
            guard let address = ListenAddress.parse(s) else {
                return "\"\(s)\" is not HOST:PORT with a numeric IPv4 host or a bracketed IPv6 host"
            }
            config[keyPath: path] = address
            return nil
        }
    }

    /// `edge_api: {public_url, report_interval_s, plaintext, address_per_minute, …}`.
    static func edgeAPI() -> ConfigKey {
        let ints: [(String, any WritableKeyPath<EdgeAPISettings, Int> & Sendable, ClosedRange<Int>)] = [
            ("report_interval_s", \.reportIntervalS, 1...300),
            ("address_per_minute", \.addressPerMinute, 1...1_000_000), ("address_burst", \.addressBurst, 1...100_000),
            ("credential_per_minute", \.credentialPerMinute, 1...1_000_000), ("credential_burst", \.credentialBurst, 1...100_000),
            ("tracked_keys", \.trackedKeys, 1024...16_777_216), ("max_body_bytes", \.maxBodyBytes, 1024...67_108_864),
            ("max_connections", \.maxConnections, 1...1_000_000),
        ]
        let defaults = EdgeAPISettings()
        let names = (["public_url"] + ints.map(\.0) + ["plaintext"]).joined(separator: ", ")
        return ConfigKey(name: "edge_api", summary: "public edge API: {\(names)}",
                         defaultText: "{public_url: \"\", " + ints.map { "\($0.0): \(defaults[keyPath: $0.1])" }.joined(separator: ", ") + ", plaintext: false}",
                         fields: .path(\.edgeAPI),
                         read: { c in .object([("public_url", .string(c.edgeAPI.publicUrl))] + ints.map { ($0.0, JSONValue.int(Int64(c.edgeAPI[keyPath: $0.1]))) }
                                              + [("plaintext", .bool(c.edgeAPI.plaintext))]) }) { config, value in
            guard case .object(let members) = objectValue(value) else { return "expected an object {\(names)}" }
            for (key, item) in members {
                switch key {
                case "public_url":
                    guard let s = item.stringValue else { return "public_url: expected https://host[:port]" }
                    if !s.isEmpty {
                        guard let parts = URLParts.parse(s), s.hasPrefix("https://") || s.hasPrefix("http://"), InputRules.forbiddenURLByte(s) == nil,
                              parts.host.utf8.count <= 253 else {
                            return "public_url: expected http(s)://host[:port] (the URL edges reach edge_listen at)"
                        }
                    }
                    config.edgeAPI.publicUrl = s.hasSuffix("/") ? String(s.dropLast()) : s
                case "plaintext":
                    guard let b = item.boolValue else { return "plaintext: expected true or false" }
                    config.edgeAPI.plaintext = b
                default:
                    guard let field = ints.first(where: { $0.0 == key }) else { return "\(key): unknown field (\(names))" }
                    guard let n = item.intValue, field.2.contains(Int(n)) else { return "\(key): expected an integer in \(field.2.lowerBound)...\(field.2.upperBound)" }
                    config.edgeAPI[keyPath: field.1] = Int(n)
                }
            }
            return nil
        }
    }

    /// `tls: {certificates: [{cert, key}], handshake_timeout_ms, check_interval_s}`.
    static func tls() -> ConfigKey {
        ConfigKey(name: "tls", summary: "HTTPS: {certificates: [{cert, key}] (PEM files; first = default, SNI picks), handshake_timeout_ms, check_interval_s, ticket_rotate_s, edge_certificate: {cert, key} (handed to enrolling edges)}",
                  defaultText: "{certificates: [], handshake_timeout_ms: 5000, check_interval_s: 10, ticket_rotate_s: 43200, edge_certificate: null}",
                  fields: .all([.path(\.tlsCertificates), .path(\.tlsHandshakeTimeoutMs), .path(\.tlsCheckIntervalS), .path(\.tlsTicketRotateS), .path(\.tlsEdgeCertificate)]),
                  read: { c in .object([
                      ("certificates", .array(c.tlsCertificates.map { .object([("cert", .string($0.cert)), ("key", .string($0.key))]) })),
                      ("handshake_timeout_ms", .int(Int64(c.tlsHandshakeTimeoutMs))), ("check_interval_s", .int(Int64(c.tlsCheckIntervalS))),
                      ("ticket_rotate_s", .int(Int64(c.tlsTicketRotateS))),
                      ("edge_certificate", c.tlsEdgeCertificate.map { .object([("cert", .string($0.cert)), ("key", .string($0.key))]) } ?? .null),
                  ]) }) { config, value in
            guard case .object(let members) = objectValue(value) else { return "expected an object {certificates, handshake_timeout_ms, check_interval_s, ticket_rotate_s}" }
            for (key, item) in members {
                switch key {
                case "certificates":
                    guard let list = item.arrayValue else { return "certificates: expected a list of {cert, key}" }
                    var pairs: [TLSFilePair] = []
                    for (i, entry) in list.enumerated() {
                        guard let cert = entry["cert"]?.stringValue, !cert.isEmpty, let keyPath = entry["key"]?.stringValue, !keyPath.isEmpty,
                              entry.objectValue?.count == 2 else {
                            return "certificates[\(i)]: expected {cert: PEM path, key: PEM path}"
                        }
                        pairs.append(TLSFilePair(cert: cert, key: keyPath))
                    }
                    config.tlsCertificates = pairs
                case "handshake_timeout_ms":
                    guard let n = item.intValue, (100...120_000).contains(n) else { return "handshake_timeout_ms: expected an integer in 100...120000" }
                    config.tlsHandshakeTimeoutMs = Int(n)
                case "check_interval_s":
                    guard let n = item.intValue, (0...86_400).contains(n) else { return "check_interval_s: expected an integer in 0...86400" }
                    config.tlsCheckIntervalS = Int(n)
                case "ticket_rotate_s":
                    guard let n = item.intValue, (0...604_800).contains(n) else { return "ticket_rotate_s: expected an integer in 0...604800" }
                    config.tlsTicketRotateS = Int(n)
                case "edge_certificate":
                    if case .null = item { config.tlsEdgeCertificate = nil; continue }
                    guard let cert = item["cert"]?.stringValue, !cert.isEmpty, let keyPath = item["key"]?.stringValue, !keyPath.isEmpty,
                          item.objectValue?.count == 2 else {
                        return "edge_certificate: expected {cert: PEM path, key: PEM path} (the cluster's wildcard for edges)"
                    }
                    config.tlsEdgeCertificate = TLSFilePair(cert: cert, key: keyPath)
                default:
                    return "\(key): unknown field (certificates, handshake_timeout_ms, check_interval_s, ticket_rotate_s, edge_certificate)"
                }
            }
            return nil
        }
    }

    /// `cluster: {id, slug, root_domain}` — the same settings as `cluster_id`, `cluster_slug`, `root_domain`.
    static func cluster() -> ConfigKey {
        ConfigKey(name: "cluster", summary: "this cluster: {id, slug, root_domain} (same as cluster_id, cluster_slug, root_domain)", defaultText: "{}",
                  fields: .all([.path(\.clusterId), .path(\.clusterSlug), .path(\.rootDomain)]),
                  read: { c in .object([("id", .string(c.clusterId)), ("slug", .string(c.clusterSlug)), ("root_domain", .string(c.rootDomain))]) }) { config, value in
            guard case .object(let members) = objectValue(value) else { return "expected an object {id, slug, root_domain}" }
            for (key, item) in members {
                guard let s = item.stringValue, !s.isEmpty else { return "\(key): expected a non-empty string" }
                switch key {
                case "id":
                    guard s.utf8.count <= 64, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
                        return "id: expected 1-64 letters, digits, '-', '_' or '.'"
                    }
                    config.clusterId = s
                case "slug": config.clusterSlug = s
                case "root_domain": config.rootDomain = s
                default: return "\(key): unknown field (id, slug, root_domain)"
                }
            }
            return nil
        }
    }

    /// `peers: [{cluster, address, mode, secret}]`.
    static func peersKey() -> ConfigKey {
        ConfigKey(name: "peers", summary: "peer clusters: a list of {cluster, address: host:port, mode: always|on-demand, secret, tls?}; unlisted clusters are never dialled and refused", defaultText: "[]",
                  fields: .path(\.peers),
                  read: { c in .array(c.peers.map { p in .object([("cluster", .string(p.cluster)), ("address", .string(p.address)), ("mode", .string(p.mode.rawValue)), ("secret", .string("<redacted>")), ("tls", .bool(p.tls))]) }) }) { config, value in
            guard case .array(let items) = objectValue(value) else { return "expected a list of {cluster, address, mode, secret}" }
            var peers: [PeerConfig] = []
            for (i, item) in items.enumerated() {
                guard case .object(let members) = item else { return "[\(i)]: expected an object {cluster, address, mode, secret}" }
                for (k, _) in members where !["cluster", "address", "mode", "secret", "secret_file", "tls"].contains(k) {
                    return "[\(i)].\(k): unknown field (cluster, address, mode, secret, secret_file, tls)"
                }
                var tls = false
                if let t = item["tls"] {
                    guard let b = t.boolValue else { return "[\(i)].tls: expected true or false" }
                    tls = b
                }
                guard let cluster = item["cluster"]?.stringValue, !cluster.isEmpty, cluster.utf8.count <= 64,
                      cluster.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
                    return "[\(i)].cluster: expected 1-64 letters, digits, '-', '_' or '.'"
                }
                guard let addressText = item["address"]?.stringValue, let address = PeerConfig.parseAddress(addressText) else {
                    return "[\(i)].address: expected host:port"
                }
                guard let modeText = item["mode"]?.stringValue, let mode = PeerConfig.Mode(rawValue: modeText) else {
                    return "[\(i)].mode: expected always or on-demand"
                }
                // secret_file: read by the command (ConfigLoader.resolveSecretFiles), checked there.
                let secretFile = item["secret_file"]?.stringValue ?? ""
                if item["secret_file"] != nil && secretFile.isEmpty { return "[\(i)].secret_file: expected a path" }
                if !secretFile.isEmpty && item["secret"] != nil { return "[\(i)]: give secret or secret_file, not both" }
                let secret = item["secret"]?.stringValue ?? ""
                guard !secretFile.isEmpty || secret.utf8.count >= 16 else {
                    return "[\(i)].secret: expected a shared secret of at least 16 bytes (or secret_file)"
                }
                if peers.contains(where: { $0.cluster == cluster }) { return "[\(i)].cluster: \(cluster) is listed twice" }
                var peer = PeerConfig(cluster: cluster, host: address.host, port: address.port, mode: mode, secret: secret, tls: tls)
                peer.secretFile = secretFile
                peers.append(peer)
            }
            config.peers = peers
            return nil
        }
    }

    /// `peering: {close_grace_s, query_deadline_ms, …}`.
    static func peering() -> ConfigKey {
        let fields: [(String, any WritableKeyPath<PeeringSettings, Int> & Sendable, ClosedRange<Int>)] = [
            ("close_grace_s", \.closeGraceS, 0...86_400), ("query_deadline_ms", \.queryDeadlineMs, 10...30_000),
            ("summary_interval_s", \.summaryIntervalS, 1...15), ("summary_ttl_s", \.summaryTtlS, 1...3600),
            ("max_stale_s", \.maxStaleS, 1...86_400), ("negative_ttl_s", \.negativeTtlS, 0...3600),
            ("heartbeat_interval_s", \.heartbeatIntervalS, 1...300), ("dead_after_s", \.deadAfterS, 2...3600),
            ("backoff_max_s", \.backoffMaxS, 1...3600), ("max_frame_bytes", \.maxFrameBytes, 65_536...268_435_456),
        ]
        let defaults = PeeringSettings()
        let names = (fields.map(\.0) + ["tls_listen", "tls_ca_file"]).joined(separator: ", ")
        return ConfigKey(name: "peering", summary: "PeerChannel timers, bounds and TLS: {\(names)}",
                         defaultText: "{" + fields.map { "\($0.0): \(defaults[keyPath: $0.1])" }.joined(separator: ", ") + ", tls_listen: false, tls_ca_file: \"\"}",
                         fields: .path(\.peering),
                         read: { c in .object(fields.map { ($0.0, JSONValue.int(Int64(c.peering[keyPath: $0.1]))) }
                                                + [("tls_listen", .bool(c.peering.tlsListen)), ("tls_ca_file", .string(c.peering.tlsCaFile))]) }) { config, value in
            guard case .object(let members) = objectValue(value) else { return "expected an object {\(names)}" }
            for (key, item) in members {
                if key == "tls_listen" {
                    guard let b = item.boolValue else { return "tls_listen: expected true or false" }
                    config.peering.tlsListen = b
                    continue
                }
                if key == "tls_ca_file" {
                    guard let f = item.stringValue else { return "tls_ca_file: expected a path" }
                    config.peering.tlsCaFile = f
                    continue
                }
                guard let field = fields.first(where: { $0.0 == key }) else { return "\(key): unknown field (\(names))" }
                guard let n = item.intValue, field.2.contains(Int(n)) else { return "\(key): expected an integer in \(field.2.lowerBound)...\(field.2.upperBound)" }
                config.peering[keyPath: field.1] = Int(n)
            }
            if config.peering.maxStaleS < config.peering.summaryTtlS { return "max_stale_s must be at least summary_ttl_s" }
            if config.peering.deadAfterS <= config.peering.heartbeatIntervalS { return "dead_after_s must be greater than heartbeat_interval_s" }
            return nil
        }
    }

    /// An object or list given as JSON text (environment variables, `--set`) or as a tree.
    static func objectValue(_ value: JSONValue) -> JSONValue {
        if case .string(let text) = value, let parsed = try? JSONParser.parse(text) { return parsed }
        return value
    }

    /// `mist: {nodes: [...], passphrase, poll_interval_s, fallback}` (file), or
    /// `FOGHORN_MIST` / `--set mist=` as the same JSON object.
    static func mist() -> ConfigKey {
        ConfigKey(name: "mist", summary: "MistServer nodes to poll and MistUtilLoad API: {nodes, passphrase, passphrase_file, poll_interval_s, fallback, compat}", defaultText: "{}",
                  fields: .all([.path(\.mistNodes), .path(\.mistPassphrase), .path(\.mistPollIntervalS), .path(\.mistFallback), .path(\.mistCompat)]),
                  read: { c in .object([("nodes", .array(c.mistNodes.map(JSONValue.string))), ("passphrase", .string("<redacted>")),
                                       ("poll_interval_s", .int(Int64(c.mistPollIntervalS))), ("fallback", .string(c.mistFallback)),
                                       ("compat", .bool(c.mistCompat))]) }) { config, value in
            var v = value
            if case .string(let text) = value {
                guard let parsed = try? JSONParser.parse(text) else { return "expected a JSON object" }
                v = parsed
            }
            guard case .object(let members) = v else { return "expected an object {nodes, passphrase, poll_interval_s, fallback}" }
            for (key, item) in members {
                switch key {
                case "nodes":
                    guard let list = item.arrayValue else { return "nodes: expected a list of \"host[:port][/MiB]\"" }
                    var nodes: [String] = []
                    for n in list {
                        guard let s = n.stringValue, MistNodeAddress.parse(s) != nil else {
                            return "nodes: \(n.jsonText) is not host[:port][/bandwidth MiB]"
                        }
                        nodes.append(s)
                    }
                    config.mistNodes = nodes
                case "passphrase":
                    guard let s = item.stringValue, !s.isEmpty, !s.contains("/") else { return "passphrase: expected a non-empty string without '/'" }
                    config.mistPassphrase = s
                case "passphrase_file":
                    guard let s = item.stringValue, !s.isEmpty else { return "passphrase_file: expected a path" }
                    config.mistPassphraseFile = s
                case "poll_interval_s":
                    guard let i = item.intValue, i >= 1, i <= 3600 else { return "poll_interval_s: expected an integer in 1...3600" }
                    config.mistPollIntervalS = Int(i)
                case "fallback":
                    guard let s = item.stringValue else { return "fallback: expected a string" }
                    config.mistFallback = s
                case "compat":
                    guard let b = item.boolValue else { return "compat: expected true or false" }
                    config.mistCompat = b
                default:
                    return "\(key): unknown field (nodes, passphrase, passphrase_file, poll_interval_s, fallback, compat)"
                }
            }
            return nil
        }
    }

    /// `state: {redis_url, redis_password_file, replica_id, changelog_max}`: replicas over Redis.
    static func state() -> ConfigKey {
        ConfigKey(name: "state", summary: "replicas: durable state in Redis {redis_url, redis_password_file, replica_id, changelog_max}; {} = SQLite at state_path",
                  defaultText: "{}",
                  fields: .all([.path(\.stateRedisUrl), .path(\.stateRedisPasswordFile), .path(\.replicaId), .path(\.stateChangelogMax)]),
                  read: { c in .object([("redis_url", .string(ConfigKeys.withoutPassword(c.stateRedisUrl))), ("redis_password_file", .string(c.stateRedisPasswordFile)),
                                       ("replica_id", .string(c.replicaId)), ("changelog_max", .int(Int64(c.stateChangelogMax)))]) }) { config, value in
            var v = value
            if case .string(let text) = value {
                guard let parsed = try? JSONParser.parse(text) else { return "expected a JSON object" }
                v = parsed
            }
            guard case .object(let members) = v else { return "expected an object {redis_url, redis_password_file, replica_id, changelog_max}" }
            for (key, item) in members {
                switch key {
                case "redis_url":
                    guard let s = item.stringValue, s.isEmpty || s.hasPrefix("redis://") else { return "redis_url: expected redis://host[:port][/db]" }
                    config.stateRedisUrl = s
                case "redis_password_file":
                    guard let s = item.stringValue else { return "redis_password_file: expected a path" }
                    config.stateRedisPasswordFile = s
                case "replica_id":
                    guard let s = item.stringValue, s.utf8.count <= 64, s.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                        return "replica_id: expected up to 64 printable ASCII characters without spaces"
                    }
                    config.replicaId = s
                case "changelog_max":
                    guard let i = item.intValue, i >= 1000, i <= 10_000_000 else { return "changelog_max: expected an integer in 1000...10000000" }
                    config.stateChangelogMax = Int(i)
                default:
                    return "\(key): unknown field (redis_url, redis_password_file, replica_id, changelog_max)"
                }
            }
            return nil
        }
    }

    /// A Redis URL as logs and `/debug/config` show it (a password in it redacted).
    public static func withoutPassword(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), url.hasPrefix("redis://") else { return url }
        return "redis://<redacted>" + url[at...]
    }

    static func bool(_ name: String, _ summary: String, _ path: any WritableKeyPath<FoghornConfiguration, Bool> & Sendable) -> ConfigKey {
        ConfigKey(name: name, summary: summary, defaultText: String(FoghornConfiguration()[keyPath: path]), fields: .path(path),
                  read: { .bool($0[keyPath: path]) }) { config, value in
            switch value {
            case .bool(let b): config[keyPath: path] = b
            case .string(let s) where ["true", "on", "1", "yes"].contains(s.lowercased()): config[keyPath: path] = true
            case .string(let s) where ["false", "off", "0", "no"].contains(s.lowercased()): config[keyPath: path] = false
            default: return "expected true or false, got \(value.typeDescription)"
            }
            return nil
        }
    }

    static func string(_ name: String, _ summary: String, _ path: any WritableKeyPath<FoghornConfiguration, String> & Sendable, secret: Bool = false) -> ConfigKey {
        ConfigKey(name: name, summary: summary, defaultText: secret ? "" : FoghornConfiguration()[keyPath: path], fields: .path(path),
                  read: { c in secret ? .string(c[keyPath: path].isEmpty ? "" : "<redacted>") : .string(c[keyPath: path]) }) { config, value in
            switch value {
            case .string(let s): config[keyPath: path] = s
            case .int(let i): config[keyPath: path] = String(i)
            default: return "expected a string, got \(value.typeDescription)"
            }
            return nil
        }
    }

    /// A list: a YAML/JSON array of strings, or one comma-separated string (env, flags).
    static func list(_ name: String, _ summary: String, _ path: any WritableKeyPath<FoghornConfiguration, [String]> & Sendable, validate: @escaping @Sendable (String) -> String?) -> ConfigKey {
        ConfigKey(name: name, summary: summary, defaultText: FoghornConfiguration()[keyPath: path].joined(separator: ","), fields: .path(path),
                  read: { .array($0[keyPath: path].map(JSONValue.string)) }) { config, value in
            var items: [String] = []
            switch value {
            case .string(let s):
                items = s.split(separator: ",").map { String($0.trimmingCharacters()) }.filter { !$0.isEmpty }
            case .array(let array):
                for v in array {
                    guard let s = v.stringValue else { return "expected strings, got \(v.typeDescription)" }
                    items.append(s)
                }
            default:
                return "expected a list of strings, got \(value.typeDescription)"
            }
            for item in items { if let problem = validate(item) { return problem } }
            config[keyPath: path] = items
            return nil
        }
    }

    /// A structured section (a list of objects), checked in depth by ``ConfigLoader/validate(_:)``.
    /// `typed`: how many entries the loader already typed (``FoghornConfiguration/staticEdges``…).
    static func section(_ name: String, _ summary: String, _ path: any WritableKeyPath<FoghornConfiguration, [JSONValue]> & Sendable,
                        typed: any KeyPath<FoghornConfiguration, Int> & Sendable) -> ConfigKey {
        ConfigKey(name: name, summary: summary, defaultText: "[]", fields: .path(path),
                  read: { .string("\($0[keyPath: path].count + $0[keyPath: typed]) entries (see /v1/edges, /v1/playback)") }) { config, value in
            guard case .array(let items) = value else { return "expected a list, got \(value.typeDescription)" }
            config[keyPath: path] = items
            return nil
        }
    }

    public static func named(_ name: String) -> ConfigKey? { all.first { $0.name == name } }

    static func int(_ name: String, _ summary: String, _ path: any WritableKeyPath<FoghornConfiguration, Int> & Sendable, _ range: ClosedRange<Int>) -> ConfigKey {
        ConfigKey(name: name, summary: summary, defaultText: String(FoghornConfiguration()[keyPath: path]), fields: .path(path),
                  read: { .int(Int64($0[keyPath: path])) }) { config, value in
            var number: Int64?
            switch value {
            case .int(let i): number = i
            case .string(let s): number = Int64(s.trimmingSpaces())
            default: number = value.intValue
            }
            guard let n = number else { return "expected an integer, got \(value.typeDescription)" }
            guard n >= Int64(range.lowerBound), n <= Int64(range.upperBound) else {
                return "\(n) is out of range \(range.lowerBound)...\(range.upperBound)"
            }
            config[keyPath: path] = Int(n)
            return nil
        }
    }

    static func listen(_ name: String, _ summary: String, _ path: any WritableKeyPath<FoghornConfiguration, ListenAddress> & Sendable) -> ConfigKey {
        ConfigKey(name: name, summary: summary, defaultText: FoghornConfiguration()[keyPath: path].description, fields: .path(path),
                  read: { .string($0[keyPath: path].description) }) { config, value in
            guard case .string(let s) = value else { return "expected \"HOST:PORT\", got \(value.typeDescription)" }
            guard let address = ListenAddress.parse(s) else {
                return "\"\(s)\" is not HOST:PORT with a numeric IPv4 host or a bracketed IPv6 host"
            }
            config[keyPath: path] = address
            return nil
        }
    }

    static func oneOf(_ name: String, _ summary: String, _ path: any WritableKeyPath<FoghornConfiguration, String> & Sendable, _ allowed: [String]) -> ConfigKey {
        ConfigKey(name: name, summary: summary + " (" + allowed.joined(separator: "|") + ")", defaultText: FoghornConfiguration()[keyPath: path], fields: .path(path),
                  read: { .string($0[keyPath: path]) }) { config, value in
            guard case .string(let s) = value else { return "expected a string, got \(value.typeDescription)" }
            guard allowed.contains(s) else { return "\"\(s)\" is not one of \(allowed.joined(separator: ", "))" }
            config[keyPath: path] = s
            return nil
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self[...]
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
