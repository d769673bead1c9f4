import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornHTTP
import FoghornJSON
import FoghornPeering
import FoghornTesting

/// Federation end to end: real Foghorns on 127.0.0.2–.5 with their own peer
/// listeners. A and B are `always` peers, C is `on-demand` from A, D is not
/// listed by A. Timers are shortened (1 s summaries, heartbeats and grace).
@Suite(.serialized) struct FederationTests {
    static let token = "fed-admin-token"
    static let secret = "pair-secret-0123456789"

    static func freePort(_ ip: String) throws -> UInt16 {
        let s = try ListeningSocket.bind(host: ip, port: 0, reusePort: false)
        defer { s.closeUnused() }
        return s.port
    }

    static func edge(_ id: String, stream: String, lat: Double = 40.7, lon: Double = -74.0, bwLimit: Int = 125_000_000) -> String {
        """
        {"node_id": "\(id)", "base_url": "https://\(id).example/", "lat": \(lat), "lon": \(lon), "cpu_permille": 100,
         "ram_used_bytes": 1000, "ram_max_bytes": 8000, "up_bytes_per_sec": 0, "bw_limit_bytes_per_sec": \(bwLimit),
         "outputs": {"HLS": "https://HOST/hls/$/index.m3u8"}, "streams": {"\(stream)": {"inputs": 1, "viewers": 1}}}
        """
    }

    /// A (127.0.0.2) peered `always` with B (127.0.0.3), which carries `live+bs` on edge b1 and
    /// is started (again) by the returned function; A resolves playback ID `pb` to that stream.
    static func alwaysPair(configureA: (inout FoghornConfiguration) -> Void = { _ in }) throws
        -> (a: FoghornServer, startB: () throws -> FoghornServer)
    {
        let pa = try freePort("127.0.0.2"), pb = try freePort("127.0.0.3")
        let a = try start("a", ip: "127.0.0.2", peerPort: pa,
                          peers: [PeerConfig(cluster: "b", host: "127.0.0.3", port: pb, mode: .always, secret: secret)],
                          playback: [("pb", "live+bs")], configure: configureA)
        let startB = {
            try start("b", ip: "127.0.0.3", peerPort: pb,
                      peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa, mode: .always, secret: secret)],
                      edges: [edge("b1", stream: "live+bs")])
        }
        return (a, startB)
    }

    /// A Foghorn of cluster `id` on `ip` whose peer listener takes the fixed `peerPort` (its other
    /// listeners bind port 0). A fixed port picked free a moment ago can be taken meanwhile — by
    /// one of this very server's port-0 listeners on the same address (the kernel hands out the
    /// freed port), by another test's socket, or still by a server restarted here — so a start
    /// that fails with EADDRINUSE is retried, at most 20 times 50 ms apart.
    static func start(_ id: String, ip: String, peerPort: UInt16, peers: [PeerConfig], edges: [String] = [],
                      playback: [(String, String)] = [], configure: (inout FoghornConfiguration) -> Void = { _ in }) throws -> FoghornServer {
        var attempt = 0
        while true {
            do {
                return try startOnce(id, ip: ip, peerPort: peerPort, peers: peers, edges: edges, playback: playback, configure: configure)
            } catch where attempt < 20 && "\(error)".contains("Address already in use") {
                attempt += 1
                usleep(50_000)
            }
        }
    }

    private static func startOnce(_ id: String, ip: String, peerPort: UInt16, peers: [PeerConfig], edges: [String],
                                  playback: [(String, String)], configure: (inout FoghornConfiguration) -> Void) throws -> FoghornServer {
        try TestServer.start { c in
            c.httpListen = ListenAddress(host: ip, port: 0)
            c.internalListen = ListenAddress(host: ip, port: 0)
            c.clusterId = id
            c.internalToken = token
            c.peerListen = ListenAddress(host: ip, port: peerPort)
            c.peers = peers
            c.peering.summaryIntervalS = 1
            c.peering.heartbeatIntervalS = 1
            c.peering.deadAfterS = 3
            c.peering.closeGraceS = 1
            c.peering.negativeTtlS = 1
            c.peering.summaryTtlS = 5
            c.peering.maxStaleS = 10
            c.peering.backoffMaxS = 1
            c.edges = edges.map { try! JSONParser.parse($0) }
            c.playback = playback.map { JSONValue.object([("id", .string($0.0)), ("stream", .string($0.1))]) }
            configure(&c)
        }
    }

    static func call(_ server: FoghornServer, _ method: String, _ path: String, toInternal: Bool = false, body: String? = nil) throws -> TestClient.Response {
        let host = toInternal ? server.config.internalListen.host : server.config.httpListen.host
        let client = try TestClient(port: toInternal ? server.internalPort : server.httpPort, host: host)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        request += "\r\n" + (body ?? "")
        try client.send(request)
        return try client.readResponse(headRequest: method == "HEAD")
    }

    static func peer(_ server: FoghornServer, _ cluster: String) throws -> JSONValue? {
        let r = try call(server, "GET", "/debug/peers", toInternal: true)
        #expect(r.status == 200)
        return try JSONParser.parse(r.body)["peers"]?.arrayValue?.first { $0["cluster"]?.stringValue == cluster }
    }

    static func metric(_ server: FoghornServer, _ line: String) throws -> Int {
        let text = try call(server, "GET", "/metrics", toInternal: true).bodyText
        for l in text.split(separator: "\n") where l.hasPrefix(line + " ") {
            return Int(Double(l.dropFirst(line.count + 1)) ?? -1)
        }
        return 0
    }

    /// Polls `condition` every 20 ms for at most `timeoutMs`.
    static func eventually(_ timeoutMs: Int = 5000, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    @Test func alwaysPeersScoreEachOthersEdgesFromTheStart() throws {
        let pa = try Self.freePort("127.0.0.2"), pb = try Self.freePort("127.0.0.3")
        let a = try Self.start("a", ip: "127.0.0.2", peerPort: pa,
                               peers: [PeerConfig(cluster: "b", host: "127.0.0.3", port: pb, mode: .always, secret: Self.secret)],
                               edges: [Self.edge("a1", stream: "live+local")], playback: [("pb", "live+bs"), ("pl", "live+local")])
        defer { a.stopNow() }
        let b = try Self.start("b", ip: "127.0.0.3", peerPort: pb,
                               peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa, mode: .always, secret: Self.secret)],
                               edges: [Self.edge("b1", stream: "live+bs")])
        defer { b.stopNow() }

        let connected = try Self.eventually { try Self.peer(a, "b")?["state"] == .string("connected") }
        let debugA = try Self.call(a, "GET", "/debug/peers", toInternal: true).bodyText
        let debugB = try Self.call(b, "GET", "/debug/peers", toInternal: true).bodyText
        #expect(connected, "\(debugA) \(debugB)")
        #expect(try Self.eventually { try Self.call(a, "GET", "/play/pb/hls/index.m3u8").status == 307 })
        let r = try Self.call(a, "GET", "/play/pb/hls/index.m3u8")
        #expect(r.header("Location") == "https://b1.example/hls/pb/index.m3u8")
        #expect(r.header("X-Foghorn-Edge") == "b1@b")
        // No query was needed: B's edges came with its summaries.
        #expect(try Self.metric(a, "foghorn_peer_queries_total{outcome=\"found\"}") == 0)
        // B scores A's edges too (the channel carries both directions).
        #expect(try Self.eventually { try Self.peer(b, "a")?["remote_edges"] == .int(1) })
        // Local streams stay local.
        #expect(try Self.call(a, "GET", "/play/pl/hls/index.m3u8").header("X-Foghorn-Edge") == "a1")
        // Ops views.
        let info = try #require(try Self.peer(a, "b"))
        #expect(info["mode"] == .string("always"))
        #expect(info["streams"] == .array([.string("live+bs")]))
        #expect(try Self.eventually { try Self.peer(a, "b")?["rtt_ms"]?.doubleValue != nil })
        let score = try JSONParser.parse(try Self.call(a, "GET", "/debug/score?playback=pb", toInternal: true).body)
        let candidate = try #require(score["candidates"]?.arrayValue?.first)
        #expect(candidate["node_id"] == .string("b1@b"))
        #expect(candidate["cluster"] == .string("b"))
        #expect(candidate["cross_cluster_penalty"] == .int(200))
        #expect(candidate["stream_bonus"] == .int(0))
        #expect(try Self.metric(a, "foghorn_peer_channels{state=\"connected\"}") == 1)
        #expect(try Self.metric(a, "foghorn_peer_remote_edges") == 1)
    }

    @Test func onDemandPeerIsAskedOnceThenCachedAndClosedAfterTheStreamEnds() throws {
        let pa = try Self.freePort("127.0.0.2"), pc = try Self.freePort("127.0.0.4")
        let a = try Self.start("a", ip: "127.0.0.2", peerPort: pa,
                               peers: [PeerConfig(cluster: "c", host: "127.0.0.4", port: pc, mode: .onDemand, secret: Self.secret)],
                               playback: [("pc", "live+cs"), ("nowhere", "live+none")])
        defer { a.stopNow() }
        let c = try Self.start("c", ip: "127.0.0.4", peerPort: pc,
                               peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa, mode: .onDemand, secret: Self.secret)],
                               edges: [Self.edge("c1", stream: "live+cs")])
        defer { c.stopNow() }

        // Nothing is dialled before a viewer needs it.
        usleep(300_000)
        #expect(try Self.peer(a, "c")?["state"] == .string("idle"))
        #expect(try Self.metric(c, "foghorn_peer_inbound_total{result=\"accepted\"}") == 0)

        // The first viewer waits for one query and is sent to C's edge.
        let first = try Self.call(a, "GET", "/play/pc/hls/index.m3u8")
        #expect(first.status == 307)
        #expect(first.header("Location") == "https://c1.example/hls/pc/index.m3u8")
        #expect(first.header("X-Foghorn-Edge") == "c1@c")
        #expect(try Self.peer(a, "c")?["state"] == .string("connected"))
        #expect(try Self.metric(a, "foghorn_peer_queries_total{outcome=\"found\"}") == 1)
        #expect(try Self.metric(a, "foghorn_peer_query_duration_seconds_count{result=\"found\"}") == 1)
        // Later viewers are served from the cache: no new query.
        for _ in 0..<5 { #expect(try Self.call(a, "GET", "/play/pc/hls/index.m3u8").status == 307) }
        #expect(try Self.metric(c, "foghorn_peer_queries_served_total{result=\"found\"}") == 1)
        #expect(try Self.peer(c, "a")?["streams_requested_by_peer"] == .array([.string("live+cs")]))

        // A stream nobody has: 404 after asking; asked again only after the negative TTL.
        let none = try Self.call(a, "GET", "/play/nowhere/hls/index.m3u8")
        #expect(none.status == 404)
        #expect(try JSONParser.parse(none.body)["code"] == .string("STREAM_OFFLINE"))
        #expect(try Self.call(a, "GET", "/play/nowhere/hls/index.m3u8").status == 404)
        #expect(try Self.metric(c, "foghorn_peer_queries_served_total{result=\"not_found\"}") == 1)

        // The stream ends on C: its edges leave A's pool, and after the grace period the channel closes.
        #expect(try Self.call(c, "DELETE", "/v1/edges/c1", toInternal: true).status == 204)
        #expect(try Self.eventually { try Self.peer(a, "c")?["remote_edges"] == .int(0) })
        #expect(try Self.eventually(6000) { try Self.peer(a, "c")?["state"] == .string("idle") })
        #expect(try Self.call(a, "GET", "/play/pc/hls/index.m3u8").status == 404)
    }

    @Test func unlistedClusterIsNeverDialledAndRefused() throws {
        let pa = try Self.freePort("127.0.0.2"), pd = try Self.freePort("127.0.0.5")
        let a = try Self.start("a", ip: "127.0.0.2", peerPort: pa,
                               peers: [PeerConfig(cluster: "b", host: "127.0.0.3", port: try Self.freePort("127.0.0.3"), mode: .always, secret: Self.secret)],
                               playback: [("pd", "live+ds")])
        defer { a.stopNow() }
        let d = try Self.start("d", ip: "127.0.0.5", peerPort: pd,
                               peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa, mode: .always, secret: Self.secret)],
                               edges: [Self.edge("d1", stream: "live+ds")])
        defer { d.stopNow() }
        #expect(try Self.eventually { try Self.metric(a, "foghorn_peer_inbound_total{result=\"refused\"}") >= 2 })
        #expect(try Self.metric(a, "foghorn_peer_channel_errors_total{reason=\"unlisted_cluster\"}") >= 2)
        #expect(try Self.peer(d, "a")?["state"] != .string("connected"))
        #expect(try Self.peer(d, "a")?["last_error"] == .string("goodbye_unlisted_cluster"))
        // A never dials D, and D's stream never reaches A.
        #expect(try Self.metric(d, "foghorn_peer_inbound_total{result=\"accepted\"}") == 0)
        #expect(try Self.metric(d, "foghorn_peer_inbound_total{result=\"refused\"}") == 0)
        #expect(try Self.call(a, "GET", "/play/pd/hls/index.m3u8").status == 404)
        #expect(try Self.peer(a, "d") == nil)
    }

    @Test func wrongSecretFailsAuthentication() throws {
        let pa = try Self.freePort("127.0.0.2"), pb = try Self.freePort("127.0.0.3")
        let a = try Self.start("a", ip: "127.0.0.2", peerPort: pa,
                               peers: [PeerConfig(cluster: "b", host: "127.0.0.3", port: pb, mode: .always, secret: Self.secret)])
        defer { a.stopNow() }
        let b = try Self.start("b", ip: "127.0.0.3", peerPort: pb,
                               peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa, mode: .always, secret: "another-secret-0123456789")],
                               edges: [Self.edge("b1", stream: "live+bs")])
        defer { b.stopNow() }
        #expect(try Self.eventually { try Self.metric(a, "foghorn_peer_channel_errors_total{reason=\"auth_failed\"}") >= 1 })
        usleep(300_000)
        #expect(try Self.peer(a, "b")?["state"] != .string("connected"))
        #expect(try Self.peer(a, "b")?["remote_edges"] == .int(0))
    }

    @Test func downSlowAndGarbagePeersOnlyDegradeTheirStreams() throws {
        let stalling = try StallingPort()
        let garbage = try FakePeer(reply: Array("HTTP/1.1 200 OK\r\n\r\nnot a peer".utf8))
        defer { garbage.stop() }
        let refused = try RefusedPort.make()
        let pa = try Self.freePort("127.0.0.2")
        let a = try Self.start("a", ip: "127.0.0.2", peerPort: pa, peers: [
            PeerConfig(cluster: "down", host: "127.0.0.1", port: refused, mode: .onDemand, secret: Self.secret),
            PeerConfig(cluster: "slow", host: "127.0.0.1", port: stalling.port, mode: .onDemand, secret: Self.secret),
            PeerConfig(cluster: "junk", host: "127.0.0.1", port: garbage.port, mode: .onDemand, secret: Self.secret),
        ], edges: [Self.edge("a1", stream: "live+local")], playback: [("remote", "live+elsewhere"), ("local", "live+local")])
        defer { a.stopNow() }

        // A miss answers 404 at the query deadline (250 ms) plus a little, never hangs.
        let started = Date()
        let r = try Self.call(a, "GET", "/play/remote/hls/index.m3u8")
        let elapsedMs = Date().timeIntervalSince(started) * 1000
        #expect(r.status == 404)
        #expect(elapsedMs < 250 + 300, "answered after \(elapsedMs) ms")
        // Local routing is unaffected meanwhile and afterwards.
        #expect(try Self.call(a, "GET", "/play/local/hls/index.m3u8").status == 307)
        #expect(try Self.eventually { try Self.metric(a, "foghorn_peer_channel_errors_total{reason=\"bad_version\"}") >= 1 })
        #expect(try Self.metric(a, "foghorn_peer_channel_errors_total{reason=\"connect_failed\"}") >= 1)
        #expect(try Self.metric(a, "foghorn_peer_queries_total{outcome=\"timeout\"}") >= 1)
        #expect(try Self.peer(a, "junk")?["last_error"] == .string("bad_version"))
        #expect(try Self.peer(a, "down")?["state"] == .string("backoff"))

        // Concurrent local viewers while remote misses are parked: all answered at once.
        let parked = (0..<20).map { _ in try? TestClient(port: a.httpPort, host: "127.0.0.2") }
        for client in parked { try client?.send("GET /play/remote/hls/index.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n") }
        let localStart = Date()
        #expect(try Self.call(a, "GET", "/play/local/hls/index.m3u8").status == 307)
        #expect(Date().timeIntervalSince(localStart) < 0.2)
        for client in parked { #expect(try client?.readResponse().status == 404) }
    }

    @Test func garbageInboundIsRefusedAndCounted() throws {
        let pa = try Self.freePort("127.0.0.2")
        let a = try Self.start("a", ip: "127.0.0.2", peerPort: pa,
                               peers: [PeerConfig(cluster: "b", host: "127.0.0.3", port: try Self.freePort("127.0.0.3"), mode: .onDemand, secret: Self.secret)])
        defer { a.stopNow() }
        let inputs: [[UInt8]] = [
            Array("GET / HTTP/1.1\r\n\r\n".utf8),                                 // wrong version byte
            [1, 200, 0, 0, 0, 0],                                                 // unknown type
            [1, 1, 0x7F, 0xFF, 0xFF, 0xFF],                                       // oversized
            PeerFrame.encode(.hello, payload: Array("{not json".utf8)),           // malformed
            PeerMessage.hello(.init(cluster: "zz", nonce: "1")).frame(),          // unlisted
            PeerMessage.queryStream(id: 1, stream: "s").frame(),                  // before the handshake
        ]
        for bytes in inputs {
            let client = try TestClient(port: pa, host: "127.0.0.2")
            try client.send(bytes)
            #expect(try client.waitForClose(timeoutMs: 2000))
        }
        #expect(try Self.metric(a, "foghorn_peer_inbound_total{result=\"refused\"}") == inputs.count)
        for reason in ["bad_version", "unknown_type", "oversized", "malformed", "unlisted_cluster", "unexpected_message"] {
            #expect(try Self.metric(a, "foghorn_peer_channel_errors_total{reason=\"\(reason)\"}") == 1, "\(reason)")
        }
        #expect(try Self.call(a, "GET", "/livez", toInternal: true).status == 200)
    }

    @Test func oneQueryPerPeerForAThousandConcurrentMisses() throws {
        let pa = try Self.freePort("127.0.0.2"), pc = try Self.freePort("127.0.0.4")
        let c = try Self.start("c", ip: "127.0.0.4", peerPort: pc,
                               peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa, mode: .onDemand, secret: Self.secret)],
                               edges: [Self.edge("c1", stream: "live+cs", bwLimit: 1_250_000_000)])
        defer { c.stopNow() }
        // (10 Gbps free: room for all 1,000 viewers' expected bandwidth.)
        // A slow-ish answer window: the deadline is generous so every viewer joins the same query.
        let a = try Self.start("a", ip: "127.0.0.2", peerPort: pa,
                               peers: [PeerConfig(cluster: "c", host: "127.0.0.4", port: pc, mode: .onDemand, secret: Self.secret)],
                               playback: [("pc", "live+cs")]) { $0.peering.queryDeadlineMs = 2000 }
        defer { a.stopNow() }
        var clients: [TestClient] = []
        for _ in 0..<1000 { clients.append(try TestClient(port: a.httpPort, host: "127.0.0.2")) }
        let request = Array("GET /play/pc/hls/index.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n".utf8)
        for client in clients { try client.send(request) }
        var statuses: [Int: Int] = [:]
        for client in clients { statuses[try client.readResponse(timeoutMs: 10_000).status, default: 0] += 1 }
        #expect(statuses == [307: 1000])
        let served = try Self.metric(c, "foghorn_peer_queries_served_total{result=\"found\"}")
        let found = try Self.metric(a, "foghorn_peer_queries_total{outcome=\"found\"}")
        let joined = try Self.metric(a, "foghorn_peer_queries_total{outcome=\"joined\"}")
        #expect(served == 1 && found == 1, "served \(served), found \(found), joined \(joined)")
    }

    @Test func alwaysPeerThatGoesAwayIsRedialledAndItsEdgesServeStaleThenExpire() throws {
        let (a, startB) = try Self.alwaysPair { $0.peering.maxStaleS = 3; $0.peering.summaryTtlS = 2 }
        defer { a.stopNow() }
        var b = try startB()
        #expect(try Self.eventually { try Self.call(a, "GET", "/play/pb/hls/index.m3u8").status == 307 })
        b.stopNow()
        // The channel is lost; B's edges are still served (stale-if-error) …
        #expect(try Self.eventually { try Self.peer(a, "b")?["state"] != .string("connected") })
        #expect(try Self.call(a, "GET", "/play/pb/hls/index.m3u8").status == 307)
        // … until the stale bound, then dropped.
        #expect(try Self.eventually(6000) { try Self.call(a, "GET", "/play/pb/hls/index.m3u8").status == 404 })
        // B comes back: A redials within its (1 s) backoff cap and routes to B again — no duplicates.
        b = try startB()
        defer { b.stopNow() }
        #expect(try Self.eventually(5000) { try Self.call(a, "GET", "/play/pb/hls/index.m3u8").status == 307 })
        #expect(try Self.peer(a, "b")?["remote_edges"] == .int(1))
        #expect(try Self.peer(a, "b")?["connects"]?.intValue ?? 0 >= 2)
    }

    @Test func channelsOverTLSVerifyPeersAndRefusePlaintext() throws {
        let dir = try TestCertificates.tempDir()
        let ca = try TestCertificates.ca(in: dir)
        let certA = try TestCertificates.leaf("fa", names: ["127.0.0.2", "foghorn.a.example.net"], in: dir)
        let certB = try TestCertificates.leaf("fb", names: ["127.0.0.3", "foghorn.b.example.net"], in: dir)
        let pa = try Self.freePort("127.0.0.2"), pb = try Self.freePort("127.0.0.3"), pc = try Self.freePort("127.0.0.4")
        func secure(_ c: inout FoghornConfiguration, _ cert: (String, String)) {
            c.tlsCertificates = [TLSFilePair(cert: cert.0, key: cert.1)]
            c.httpsListen = ListenAddress(host: c.httpListen.host, port: 0)
            c.peering.tlsListen = true
            c.peering.tlsCaFile = ca
        }
        let a = try Self.start("a", ip: "127.0.0.2", peerPort: pa, peers: [
            PeerConfig(cluster: "b", host: "127.0.0.3", port: pb, mode: .always, secret: Self.secret, tls: true),
            PeerConfig(cluster: "c", host: "127.0.0.4", port: pc, mode: .always, secret: Self.secret, tls: false),
        ], playback: [("pb", "live+bs")]) { secure(&$0, certA) }
        defer { a.stopNow() }
        let b = try Self.start("b", ip: "127.0.0.3", peerPort: pb,
                               peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa, mode: .always, secret: Self.secret, tls: true)],
                               edges: [Self.edge("b1", stream: "live+bs")]) { secure(&$0, certB) }
        defer { b.stopNow() }
        // C dials A in plaintext: A's TLS-only peer listener refuses it.
        let c = try Self.start("c", ip: "127.0.0.4", peerPort: pc,
                               peers: [PeerConfig(cluster: "a", host: "127.0.0.2", port: pa, mode: .always, secret: Self.secret, tls: false)])
        defer { c.stopNow() }

        #expect(try Self.eventually { try Self.peer(a, "b")?["state"] == .string("connected") })
        #expect(try Self.eventually { try Self.call(a, "GET", "/play/pb/hls/index.m3u8").header("X-Foghorn-Edge") == "b1@b" })
        #expect(try Self.eventually { try Self.metric(a, "foghorn_peer_channel_errors_total{reason=\"tls_handshake_failed\"}") >= 1 })
        #expect(try Self.peer(c, "a")?["state"] != .string("connected"))
        // A dials C in plaintext (as configured) and C's plain listener accepts: only listed, authenticated peers.
        #expect(try Self.eventually { try Self.peer(a, "c")?["state"] == .string("connected") })
    }

    @Test func flappingAlwaysPeerKeepsItsEdgesAndReconnectsWithinTheBackoff() throws {
        let (a, startB) = try Self.alwaysPair()
        defer { a.stopNow() }
        var b = try startB()
        #expect(try Self.eventually { try Self.call(a, "GET", "/play/pb/hls/index.m3u8").status == 307 })
        // Down and up four times, 600 ms each: B's edge keeps serving throughout (stale-if-error,
        // max_stale 10 s), and every outage ends in a reconnect.
        var statuses: [Int: Int] = [:]
        for _ in 0..<4 {
            b.stopNow()
            for _ in 0..<6 {
                statuses[try Self.call(a, "GET", "/play/pb/hls/index.m3u8").status, default: 0] += 1
                usleep(100_000)
            }
            b = try startB()
            #expect(try Self.eventually(4000) { try Self.peer(a, "b")?["state"] == .string("connected") })
        }
        defer { b.stopNow() }
        #expect(statuses == [307: 24])
        let info = try #require(try Self.peer(a, "b"))
        #expect(info["connects"] == .int(5))
        #expect(info["remote_edges"] == .int(1))
        // Reconnect attempts stay on the backoff schedule (500 ms doubling, cap 1 s here, ±20 %):
        // well under one attempt per 100 ms over ~5 s of flapping.
        #expect((info["errors"]?["connect_failed"]?.intValue ?? 0) <= 12)
    }
}
