import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornPeering
import FoghornTesting

/// Response splitting through edge URLs, tried at every door an attacker has: an enrolled
/// edge's report, a polled MistServer node, a peer cluster's frames, the playback resolver's
/// answers. Each refuses the value (400 naming the field, or a logged, counted rejection), and
/// no viewer answer ever carries an injected header.
@Suite(.serialized) struct HeaderInjectionTests {
    @Test func edgeReportsWithControlBytesInURLsAreRefusedByField() throws {
        let server = try RoutingTests.start()
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (a, token) = try RoutingTests.enroll(ip)
        #expect(try RoutingTests.report(ip, a, token).status == 200)
        #expect(try RoutingTests.call(ip, "PUT", "/v1/playback/pk", body: #"{"stream": "live+s"}"#).status == 201)
        RoutingTests.settle()
        let cases: [(body: String, field: String)] = [
            (#"{"base_url": "http://a/\r\nSet-Cookie: pwned=1"}"#, "base_url"),
            (#"{"base_url": "http://a/\u0000x"}"#, "base_url"),
            (#"{"base_url": "http://a/ b"}"#, "base_url"),
            (#"{"outputs": {"HLS": "https://HOST/hls/$/index.m3u8\r\nSet-Cookie: pwned=1"}}"#, "outputs.HLS"),
            (#"{"outputs": {"HLS": "https://HOST/hls/$/index.m3u8\u007f"}}"#, "outputs.HLS"),
            (#"{"outputs": {"HLS": "javascript://HOST/%0aalert(1)"}}"#, "outputs.HLS"),
            (#"{"outputs": {"HLS": ["https://HOST/hls/$/\nx"]}}"#, "outputs.HLS"),
            (#"{"streams": {"live\r\nx": {"inputs": 1}}}"#, "streams.live\r\nx"),
            (#"{"location": "Amsterdam\u0000"}"#, "location"),
            (#"{"ram_used_bytes": 9000, "ram_max_bytes": 8000}"#, "ram_used_bytes"),
        ]
        for c in cases {
            let r = try RoutingTests.call(ip, "POST", "/v1/edges/\(a)/report", body: c.body, token: token)
            #expect(r.status == 400, "\(c.body)")
            let j = try JSONParser.parse(r.body)
            #expect(j["code"] == .string("INVALID_FIELD"), "\(c.body)")
            #expect(j["field"] == .string(c.field), "\(c.body) → \(j["field"]?.stringValue ?? "-")")
        }
        // Nothing changed: the edge still routes with the URLs of its last good report.
        RoutingTests.settle()
        let play = try RoutingTests.call(vp, "GET", "/play/pk/hls/index.m3u8", token: nil)
        #expect(play.status == 307)
        #expect(play.header("Location") == "https://\(a).edges.example/hls/pk/index.m3u8")
        #expect(play.header("Set-Cookie") == nil)
        // The stream-protocol schemes edges really use are accepted.
        let good = try RoutingTests.call(ip, "POST", "/v1/edges/\(a)/report", body: """
            {"outputs": {"HLS": "https://HOST/hls/$/index.m3u8", "RTMP": "rtmp://HOST:1935/play/$", "RTSP": "rtsp://HOST:5554/$",
             "WebRTC": ["wss://HOST/webrtc/$"], "SRT": "srt://HOST:8889?streamid=$", "DTSC": "dtsc://HOST:4200/$", "MP4": "//HOST/$.mp4"}}
            """, token: token)
        #expect(good.status == 200)
    }

    @Test func configFileURLsAreCheckedToo() throws {
        for (edge, key) in [
            (#"{"node_id": "e1", "base_url": "https://e1.example/\r\nX: y"}"#, "base_url"),
            (#"{"node_id": "e1", "base_url": "https://e1.example/", "outputs": {"HLS": "ftp://HOST/$"}}"#, "outputs.HLS"),
        ] {
            var config = FoghornConfiguration()
            config.edges = [try JSONParser.parse(edge)]
            #expect(throws: ConfigError.self) { try StaticState.absorbTrees(&config) }
            do { try StaticState.absorbTrees(&config) } catch { #expect("\(error)".contains(key), "\(error)") }
        }
    }

    /// A MistServer node (plain HTTP, no authentication) whose document has a template with CR/LF:
    /// the template is dropped, the refusal logged and counted, the rest of the document used.
    @Test func aPolledMistNodeCannotInjectHeaders() throws {
        let doc = FakeMistNode.document(streams: [("live+m", 1, 1, 0, false)])
            .replacingOccurrences(of: #""HLS": "http://HOST:8080/hls/$/index.m3u8""#,
                                  with: #""HLS": "http://HOST:8080/hls/$/index.m3u8\r\nSet-Cookie: mist=1", "RTMP": "rtmp://HOST:1935/play/$""#)
            .replacingOccurrences(of: #""name": "somewhere""#, with: #""name": "some\u0007where""#)
        #expect(doc.contains("mist=1"))
        let node = try FakeMistNode(host: "127.0.0.5", document: doc)
        defer { node.stop() }
        let server = try RoutingTests.start { c in
            c.mistNodes = [node.address]
            c.mistPollIntervalS = 1
            c.playback = [.object([("id", .string("pm")), ("stream", .string("live+m"))])]
        }
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        #expect(try MistTests.waitFor { try MistTests.nodeState(ip, node.address)["state"] == .string("online") })
        let edge = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/v1/edges/\(node.address)").body)
        #expect(edge["outputs"]?["HLS"] == nil)
        #expect(edge["outputs"]?["RTMP"] == .string("rtmp://HOST:1935/play/$"))
        #expect(edge["location"] == .string(""))
        // The poll's snapshot is published within the coalescing delay (bounded wait).
        var play = try RoutingTests.call(vp, "GET", "/play/pm/hls/index.m3u8", token: nil)
        for _ in 0..<100 where play.status != 307 {
            usleep(50_000)
            play = try RoutingTests.call(vp, "GET", "/play/pm/hls/index.m3u8", token: nil)
        }
        #expect(play.header("Set-Cookie") == nil)
        #expect(play.status == 307)  // HLS derived from the node's base URL instead
        #expect(play.header("Location") == "http://127.0.0.5/hls/pm/index.m3u8")
        #expect(try FederationTests.metric(server, #"foghorn_input_rejections_total{source="mist"}"#) >= 2)
    }

    /// A peer cluster (authenticated, but not trusted with our headers) sends an edge summary and
    /// a query answer whose edges carry CR/LF templates: those edges are left out and counted,
    /// the frame's other edges are used, the channel stays up.
    @Test func aPeerCannotInjectHeaders() throws {
        let peerPort = try FederationTests.freePort("127.0.0.1")
        let unused = try FederationTests.freePort("127.0.0.1")
        let server = try FederationTests.start("local", ip: "127.0.0.1", peerPort: peerPort,
                                               peers: [PeerConfig(cluster: "evil", host: "127.0.0.1", port: unused, mode: .always, secret: FederationTests.secret)],
                                               playback: [("pp", "live+p")])
        defer { server.stopNow() }
        let peer = try ScriptedPeer(host: "127.0.0.1", port: peerPort, cluster: "evil", listenerCluster: "local", secret: FederationTests.secret)
        func edge(_ id: String, _ template: String, base: String = "") -> PeerEdge {
            PeerEdge(nodeId: id, baseURL: base.isEmpty ? "https://\(id).evil.example/" : base, outputs: [.init(name: "HLS", template: template)],
                     lat: 52.37, lon: 4.9, cpuPermille: 100, ramUsedBytes: 1, ramMaxBytes: 10, bwAvailableBytesPerSec: 100_000_000,
                     streams: [.init(name: "live+p", inputs: 1, viewers: 0)])
        }
        try peer.send(.edgeSummary(streams: nil, edges: [
            edge("bad1", "https://HOST/hls/$/index.m3u8\r\nSet-Cookie: peer=1"),
            edge("bad2", "https://HOST/hls/$/index.m3u8", base: "https://x.example/\nSet-Cookie: peer=2"),
            edge("good", "https://HOST/hls/$/index.m3u8"),
        ]))
        var play: TestClient.Response?
        #expect(try FederationTests.eventually {
            play = try FederationTests.call(server, "GET", "/play/pp/hls/index.m3u8")
            return play?.status == 307
        })
        #expect(play?.header("Location") == "https://good.evil.example/hls/pp/index.m3u8")
        #expect(play?.header("X-Foghorn-Edge") == "good@evil")
        #expect(play?.header("Set-Cookie") == nil)
        #expect(try FederationTests.metric(server, #"foghorn_input_rejections_total{source="peer"}"#) == 2)
        // Only the good edge is known; the channel is still up.
        let debug = try FederationTests.call(server, "GET", "/debug/score?playback=pp", toInternal: true).bodyText
        #expect(debug.contains("good@evil") && !debug.contains("bad1") && !debug.contains("bad2"))
        #expect(try FederationTests.peer(server, "evil")?["state"] == .string("connected"))
    }

    /// The playback resolver answers a record whose stream name carries CR/LF: refused (the viewer
    /// gets 503, not a split response), logged and counted.
    @Test func resolverAnswersAreCheckedAtTheDoor() throws {
        let resolver = try FakeResolver(records: ["evil": #"live+r\r\nSet-Cookie: r=1"#, "fine": "live+r"])
        defer { resolver.stop() }
        let server = try RoutingTests.start { c in
            c.resolverUrl = resolver.url
            c.resolverTimeoutMs = 3000
            c.urlStreamName = "internal"
            c.edges = [try! JSONParser.parse(#"{"node_id": "e1", "base_url": "https://e1.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000000, "streams": {"live+r": {"inputs": 1}}}"#)]
        }
        defer { server.stopNow() }
        let vp = server.httpPort
        let bad = try TestClient.get(port: vp, "/play/evil/hls/index.m3u8")
        #expect(bad.status == 503)
        #expect(bad.header("Set-Cookie") == nil)
        let fine = try TestClient.get(port: vp, "/play/fine/hls/index.m3u8")
        #expect(fine.status == 307)
        #expect(fine.header("Location") == "https://e1.example/hls/live+r/index.m3u8")
        #expect(try FederationTests.metric(server, #"foghorn_input_rejections_total{source="resolver"}"#) == 1)
    }
}
