import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// The routing core end to end: enrollment, reports, playback records, /play answers.
@Suite(.serialized) struct RoutingTests {
    static let token = "test-admin-token"

    static func start(_ configure: (inout FoghornConfiguration) -> Void = { _ in }) throws -> FoghornServer {
        try TestServer.start { c in
            c.internalToken = token
            c.clusterSecret = "s3cret"
            c.clusterSlug = "eu1"
            c.rootDomain = "example.net"
            configure(&c)
        }
    }

    static func call(_ port: UInt16, _ method: String, _ path: String, body: String? = nil, token: String? = RoutingTests.token,
                     headers: [String] = []) throws -> TestClient.Response {
        let client = try TestClient(port: port)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: t\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        for h in headers { request += h + "\r\n" }
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        request += "\r\n" + (body ?? "")
        try client.send(request)
        return try client.readResponse(headRequest: method == "HEAD")
    }

    /// Enrolls an edge and returns (node_id, edge_token).
    static func enroll(_ port: UInt16, tenant: String? = nil) throws -> (String, String) {
        let body = tenant.map { #"{"tenant": "\#($0)"}"# } ?? "{}"
        let issued = try call(port, "POST", "/v1/enrollment-tokens", body: body)
        #expect(issued.status == 201)
        let token = try JSONParser.parse(issued.body)["enrollment_token"]!.stringValue!
        let enrolled = try call(port, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(token)", "public_ip": "203.0.113.7"}"#, token: nil)
        #expect(enrolled.status == 201)
        let j = try JSONParser.parse(enrolled.body)
        let id = j["node_id"]!.stringValue!
        #expect(id.count == 12 && id.allSatisfy(\.isHexDigit))
        #expect(j["domain"] == .string("edge-\(id).eu1.example.net"))
        #expect(j["cluster_id"] == .string("local"))
        return (id, j["edge_token"]!.stringValue!)
    }

    static func report(_ port: UInt16, _ id: String, _ edgeToken: String, cpu: Int = 100, up: Int = 0, stream: String = "live+s", inputs: Int = 1,
                       lat: Double = 52.37, lon: Double = 4.9) throws -> TestClient.Response {
        try call(port, "POST", "/v1/edges/\(id)/report", body: """
            {"cpu_permille": \(cpu), "ram_used_bytes": 1000, "ram_max_bytes": 8000, "up_bytes_per_sec": \(up),
             "bw_limit_bytes_per_sec": 125000000, "lat": \(lat), "lon": \(lon), "base_url": "https://\(id).edges.example/",
             "outputs": {"HLS": "https://HOST/hls/$/index.m3u8"},
             "streams": {"\(stream)": {"inputs": \(inputs), "viewers": 3, "up_bytes_per_sec": 600000}}}
            """, token: edgeToken)
    }

    /// Two edges carrying `live+s` for playback ID `pk`. London is a little busier:
    /// without a viewer position Seattle wins; with one, distance decides.
    static func londonAndSeattle(_ ip: UInt16) throws -> (String, String) {
        let (london, tl) = try enroll(ip)
        let (seattle, ts) = try enroll(ip)
        #expect(try report(ip, london, tl, cpu: 300, lat: 51.5, lon: -0.1).status == 200)
        #expect(try report(ip, seattle, ts, cpu: 100, lat: 47.6, lon: -122.3).status == 200)
        #expect(try call(ip, "PUT", "/v1/playback/pk", body: #"{"stream": "live+s"}"#).status == 201)
        settle()
        return (london, seattle)
    }

    /// Two enrolled edges carrying `live+s` — `a` idle (CPU 100‰), `b` busy (900‰) — and playback
    /// ID `id` for the stream, published. Returns both edges with their tokens.
    static func idleAndBusy(_ ip: UInt16, playback id: String) throws -> (a: (String, String), b: (String, String)) {
        let a = try enroll(ip), b = try enroll(ip)
        #expect(try report(ip, a.0, a.1, cpu: 100).status == 200)
        #expect(try report(ip, b.0, b.1, cpu: 900).status == 200)
        #expect(try call(ip, "PUT", "/v1/playback/\(id)", body: #"{"stream": "live+s"}"#).status == 201)
        settle()
        return (a, b)
    }

    /// Waits (bounded) until the published snapshot reflects a change.
    static func settle() { usleep(60_000) }

    /// GETs `path` on `port` until `done` holds (every 20 ms, at most 5 s); the last answer.
    static func eventually(_ port: UInt16, _ path: String, _ done: (TestClient.Response) -> Bool) throws -> TestClient.Response {
        var r = try call(port, "GET", path, token: nil)
        for _ in 0..<250 where !done(r) {
            usleep(20_000)
            r = try call(port, "GET", path, token: nil)
        }
        return r
    }

    /// JSON answers are written straight into a buffer with their strings escaped only where
    /// needed: a template and an internal stream name with a quote, a backslash and a tab must
    /// come back intact through a JSON parser, clean ones byte for byte.
    @Test func jsonAnswerEscapesTemplatesAndNames() throws {
        let server = try Self.start { $0.urlStreamName = "internal" }
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (a, tokenA) = try Self.enroll(ip)
        let stream = "live+q\"u\\o'te"  // a quote, a backslash (controls and spaces are refused: URL rules)
        let report = try Self.call(ip, "POST", "/v1/edges/\(a)/report", body: """
            {"cpu_permille": 100, "ram_used_bytes": 1000, "ram_max_bytes": 8000, "up_bytes_per_sec": 0,
             "bw_limit_bytes_per_sec": 125000000, "lat": 52.37, "lon": 4.9, "base_url": "https://\(a).edges.example/",
             "outputs": {"HLS": "https://HOST/hls/$/index.m3u8?label=\\"x\\"&v=1", "MP4": "https://HOST/$.mp4"},
             "streams": {\(JSONValue.string(stream).jsonText): {"inputs": 1, "viewers": 3, "up_bytes_per_sec": 600000}}}
            """, token: tokenA)
        #expect(report.status == 200, "\(report.bodyText)")
        #expect(try Self.call(ip, "PUT", "/v1/playback/pq", body: #"{"stream": \#(JSONValue.string(stream).jsonText)}"#).status == 201)
        Self.settle()
        let json = try Self.call(vp, "GET", "/play/pq", token: nil)
        #expect(json.status == 200, "\(json.bodyText)")
        let j = try JSONParser.parse(json.body)
        #expect(j["primary"]?["outputs"]?["HLS"]?["url"] == .string("https://\(a).edges.example/hls/\(stream)/index.m3u8?label=\"x\"&v=1"))
        #expect(j["primary"]?["outputs"]?["MP4"]?["url"] == .string("https://\(a).edges.example/\(stream).mp4"))
        #expect(j["metadata"]?["streamId"] == .string(stream))
        #expect(j["metadata"]?["contentId"] == .string("pq"))
        #expect(json.bodyText.contains(#""MP4":{"protocol":"MP4","url":"https://\#(a).edges.example/live+q\"u\\o'te.mp4"}"#))
    }

    @Test func enrollReportAndPlay() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let ((a, _), (b, _)) = try Self.idleAndBusy(ip, playback: "pk1")

        let r = try Self.call(vp, "GET", "/play/pk1/hls/index.m3u8?token=abc", token: nil)
        #expect(r.status == 307)
        #expect(r.header("Location") == "https://\(a).edges.example/hls/pk1/index.m3u8?token=abc")
        #expect(r.bodyText == r.header("Location"))
        #expect(r.header("Cache-Control") == "no-store")
        #expect(r.headers("Access-Control-Allow-Origin") == ["*"])
        #expect(r.header("X-Request-ID")?.count == 32)
        #expect(r.header("X-Foghorn-Edge") == a)

        // Rendition path, DASH derived from base_url, .mp4 suffix form, /resolve alias, HEAD.
        #expect(try Self.call(vp, "GET", "/play/pk1/hls/0_1/index.m3u8", token: nil).header("Location") == "https://\(a).edges.example/hls/pk1/0_1/index.m3u8")
        #expect(try Self.call(vp, "GET", "/play/pk1/dash/index.mpd", token: nil).header("Location") == "https://\(a).edges.example/cmaf/pk1/index.mpd")
        #expect(try Self.call(vp, "GET", "/play/pk1.mp4", token: nil).header("Location") == "https://\(a).edges.example/pk1.mp4")
        #expect(try Self.call(vp, "GET", "/resolve/pk1/webrtc", token: nil).header("Location") == "https://\(a).edges.example/webrtc/pk1")
        let head = try Self.call(vp, "HEAD", "/play/pk1/hls/index.m3u8", token: nil)
        #expect(head.status == 307 && head.body.isEmpty && head.header("Location") != nil)
        // Echoed request ID.
        #expect(try Self.call(vp, "GET", "/play/pk1/hls", token: nil, headers: ["X-Request-ID: abc-123"]).header("X-Request-ID") == "abc-123")

        // JSON without a protocol.
        let json = try Self.call(vp, "GET", "/play/pk1", token: nil)
        #expect(json.status == 200)
        let j = try JSONParser.parse(json.body)
        #expect(j["primary"]?["nodeId"] == .string(a))
        #expect(j["primary"]?["url"] == .string("https://\(a).edges.example/webrtc/pk1"))
        #expect(j["primary"]?["outputs"]?["HLS"]?["url"] == .string("https://\(a).edges.example/hls/pk1/index.m3u8"))
        #expect(j["fallbacks"]?.arrayValue?.first?["nodeId"] == .string(b))
        #expect(j["metadata"]?["isLive"] == .bool(true))
        #expect(j["metadata"]?["contentId"] == .string("pk1"))

        // Preflight: 204, never a redirect.
        let pre = try Self.call(vp, "OPTIONS", "/play/pk1/hls/index.m3u8", token: nil,
                                headers: ["Origin: https://player.example", "Access-Control-Request-Method: GET", "Access-Control-Request-Headers: authorization"])
        #expect(pre.status == 204)
        #expect(pre.header("Location") == nil)
        #expect(pre.header("Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS, POST")
        #expect(pre.header("Access-Control-Allow-Headers") == "authorization")

        // debug/score names the same winner with every term.
        let debug = try JSONParser.parse(try Self.call(ip, "GET", "/debug/score?playback=pk1&lat=52.37&lon=4.9").body)
        #expect(debug["winner"] == .string(a))
        #expect(debug["candidates"]?.arrayValue?.count == 2)
        #expect(debug["candidates"]?.arrayValue?.first { $0["node_id"] == .string(a) }?["cpu"] == .int(450))

        let metrics = try TestClient.get(port: ip, "/metrics").bodyText
        #expect(metrics.contains(#"foghorn_routing_decisions_total{outcome="redirect"} 7"#))
        #expect(metrics.contains(#"foghorn_routing_decisions_total{outcome="json"} 1"#))
    }

    /// A report that changes only load is published by a load refresh (no full build) and
    /// changes the decision; one that moves the edge, draining it, a new edge, a playback record
    /// or new weights, an incremental build — no full build at all.
    @Test func loadOnlyReportsRefreshWithoutAFullBuild() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let ((a, ta), (b, tb)) = try Self.idleAndBusy(ip, playback: "pl")
        func counters() throws -> (rebuilds: Int64, loads: Int64, incremental: Int64) {
            let j = try JSONParser.parse(try Self.call(ip, "GET", "/debug/snapshot").body)
            return (j["rebuilds"]?.intValue ?? -1, j["load_refreshes"]?.intValue ?? -1, j["incremental_builds"]?.intValue ?? -1)
        }
        func winner() throws -> String? { try Self.call(vp, "GET", "/play/pl/hls", token: nil).header("X-Foghorn-Edge") }
        #expect(try winner() == a)
        let before = try counters()
        // Same streams, position and URLs; only CPU (and viewers) change: a is busy now.
        #expect(try Self.report(ip, a, ta, cpu: 950).status == 200)
        #expect(try Self.report(ip, b, tb, cpu: 50).status == 200)
        Self.settle()
        #expect(try winner() == b)
        let after = try counters()
        #expect(after.rebuilds == before.rebuilds)
        #expect(after.loads >= before.loads + 1 && after.incremental == before.incremental)
        // Moving b places it elsewhere: an incremental build (no full one).
        #expect(try Self.report(ip, b, tb, cpu: 50, lat: 40.4, lon: -3.7).status == 200)
        Self.settle()
        let moved = try counters()
        #expect(moved.rebuilds == after.rebuilds && moved.incremental == after.incremental + 1)
        #expect(try winner() == b)
        // Draining b (an admin call) too: a wins again.
        #expect(try Self.call(ip, "PUT", "/v1/edges/\(b)/mode", body: #"{"mode": "draining"}"#).status == 200)
        Self.settle()
        #expect(try winner() == a)
        #expect(try counters().rebuilds == after.rebuilds && counters().incremental == moved.incremental + 1)
        // A new edge changes the edge set: renumbered by an incremental build too.
        _ = try Self.enroll(ip)
        Self.settle()
        #expect(try counters().rebuilds == after.rebuilds && counters().incremental == moved.incremental + 2)
        #expect(try winner() == a)
        // A playback record: the snapshot's playback table patched (no full build); it routes.
        #expect(try Self.call(ip, "PUT", "/v1/playback/other", body: #"{"stream": "live+s"}"#).status == 201)
        Self.settle()
        #expect(try counters().rebuilds == after.rebuilds && counters().incremental == moved.incremental + 3)
        #expect(try Self.call(vp, "GET", "/play/other/hls", token: nil).header("X-Foghorn-Edge") == a)
        // Removed again: unknown.
        #expect(try Self.call(ip, "DELETE", "/v1/playback/other").status == 204)
        Self.settle()
        #expect(try Self.call(vp, "GET", "/play/other/hls", token: nil).status == 404)
        #expect(try winner() == a)
        // New weights: rows and bounds recomputed, no full build; the scores use them.
        #expect(try Self.call(ip, "PUT", "/v1/weights", body: #"{"cpu": 600}"#).status == 200)
        Self.settle()
        #expect(try counters().rebuilds == after.rebuilds)
        let scored = try JSONParser.parse(try Self.call(ip, "GET", "/debug/score?playback=pl").body)
        #expect(scored["candidates"]?.arrayValue?.first { $0["node_id"] == .string(a) }?["cpu"] == .int(30))  // 600 × (1 − 950/1000); 25 under the old 500
        #expect(try winner() == a)
        // Every replaced snapshot is counted until no loop holds it; the loop holds only the newest.
        let retired = try JSONParser.parse(try Self.call(ip, "GET", "/debug/snapshot").body)["retired_snapshots"]?.intValue
        #expect(retired != nil && retired! >= 0 && retired! <= 3)
    }

    /// A stream starting or ending on an edge is published by an incremental build (no full
    /// build): the new stream routes, the one no edge carries any more is offline.
    @Test func streamsStartingAndEndingTakeIncrementalBuilds() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let ((a, ta), (b, tb)) = try Self.idleAndBusy(ip, playback: "pl")
        #expect(try Self.call(ip, "PUT", "/v1/playback/pn", body: #"{"stream": "live+new"}"#).status == 201)
        Self.settle()
        func state() throws -> (rebuilds: Int64, incremental: Int64, streams: Int64) {
            let j = try JSONParser.parse(try Self.call(ip, "GET", "/debug/snapshot").body)
            return (j["rebuilds"]?.intValue ?? -1, j["incremental_builds"]?.intValue ?? -1, j["streams"]?.intValue ?? -1)
        }
        func play(_ id: String) throws -> (status: Int, edge: String?, code: String?) {
            let r = try Self.call(vp, "GET", "/play/\(id)/hls", token: nil)
            let code = r.status == 307 ? nil : try JSONParser.parse(r.body)["code"]?.stringValue
            return (r.status, r.header("X-Foghorn-Edge"), code)
        }
        #expect(try play("pn") == (404, nil, "STREAM_OFFLINE"))
        let before = try state()
        #expect(before.streams == 1)
        // b moves to live+new: the new stream routes to it; live+s stays on a.
        #expect(try Self.report(ip, b, tb, cpu: 900, stream: "live+new").status == 200)
        Self.settle()
        #expect(try play("pn") == (307, b, nil))
        #expect(try play("pl") == (307, a, nil))
        var now = try state()
        #expect(now.rebuilds == before.rebuilds && now.incremental >= before.incremental + 1 && now.streams == 2)
        // a moves too: live+s ends (offline), live+new goes to the idle a.
        #expect(try Self.report(ip, a, ta, cpu: 100, stream: "live+new").status == 200)
        Self.settle()
        #expect(try play("pn") == (307, a, nil))
        #expect(try play("pl") == (404, nil, "STREAM_OFFLINE"))
        now = try state()
        #expect(now.rebuilds == before.rebuilds && now.incremental >= before.incremental + 2 && now.streams == 1)
        // b goes back: live+s is live again on its old slot.
        #expect(try Self.report(ip, b, tb, cpu: 900, stream: "live+s").status == 200)
        Self.settle()
        #expect(try play("pl") == (307, b, nil))
        #expect(try play("pn") == (307, a, nil))
        now = try state()
        #expect(now.rebuilds == before.rebuilds && now.incremental >= before.incremental + 3 && now.streams == 2)
    }

    @Test func errorAnswersCarryCORSAndSpecificCodes() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (a, tokenA) = try Self.enroll(ip)
        #expect(try Self.report(ip, a, tokenA).status == 200)
        #expect(try Self.call(ip, "PUT", "/v1/playback/pk", body: #"{"stream": "live+s"}"#).status == 201)
        #expect(try Self.call(ip, "PUT", "/v1/playback/gone", body: #"{"stream": "live+nothing"}"#).status == 201)
        Self.settle()
        func check(_ path: String, _ status: Int, _ code: String) throws {
            let r = try Self.call(vp, "GET", path, token: nil)
            #expect(r.status == status, "\(path)")
            #expect(try JSONParser.parse(r.body)["code"] == .string(code), "\(path)")
            #expect(r.headers("Access-Control-Allow-Origin") == ["*"])
            #expect(r.header("Cache-Control") == "no-store")
        }
        try check("/play/unknown/hls", 404, "VIEW_KEY_NOT_FOUND")
        try check("/play/gone/hls", 404, "STREAM_OFFLINE")
        try check("/play/pk/rtmp", 404, "PROTOCOL_NOT_AVAILABLE")
        try check("/play/pk/bogusproto", 404, "PROTOCOL_NOT_AVAILABLE")
        try check("/play/", 400, "MISSING_VIEW_KEY")
        try check("/play/a%20b/hls", 400, "INVALID_VIEW_KEY")
        try check("/play/pk/hls?tag_adjust=notjson", 400, "INVALID_TAG_ADJUST")
        let tagged = try Self.call(vp, "GET", "/play/pk/hls", token: nil, headers: [#"X-Tag-Adjust: {"eu": 100}"#])
        #expect(tagged.status == 307)
        // Every edge excluded → 503 with Retry-After.
        #expect(try Self.call(ip, "PUT", "/v1/edges/\(a)/mode", body: #"{"mode": "draining"}"#).status == 200)
        Self.settle()
        let r = try Self.call(vp, "GET", "/play/pk/hls", token: nil)
        #expect(r.status == 503)
        #expect(r.header("Retry-After") == "5")
        #expect(try JSONParser.parse(r.body)["code"] == .string("NO_EDGE_AVAILABLE"))
        // A stream without inputs is offline.
        #expect(try Self.call(ip, "PUT", "/v1/edges/\(a)/mode", body: #"{"mode": "normal"}"#).status == 200)
        #expect(try Self.report(ip, a, tokenA, inputs: 0).status == 200)
        Self.settle()
        try check("/play/pk/hls", 404, "STREAM_OFFLINE")
    }

    @Test func authenticationAndValidation() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let ip = server.internalPort
        let noToken = try Self.call(ip, "PUT", "/v1/playback/x", body: #"{"stream": "s"}"#, token: nil)
        #expect(noToken.status == 401)
        #expect(noToken.header("WWW-Authenticate") == "Bearer")
        #expect(try Self.call(ip, "PUT", "/v1/playback/x", body: #"{"stream": "s"}"#, token: "wrong").status == 401)
        let (a, tokenA) = try Self.enroll(ip)
        let (_, tokenB) = try Self.enroll(ip)
        // Another edge's credential cannot report for this one.
        #expect(try Self.report(ip, a, tokenB).status == 401)
        // Invalid field → 400 naming it, state unchanged.
        #expect(try Self.report(ip, a, tokenA, cpu: 300).status == 200)
        let bad = try Self.call(ip, "POST", "/v1/edges/\(a)/report", body: #"{"cpu_permille": 5000, "ram_max_bytes": 1}"#, token: tokenA)
        #expect(bad.status == 400)
        let j = try JSONParser.parse(bad.body)
        #expect(j["code"] == .string("INVALID_FIELD"))
        #expect(j["field"] == .string("cpu_permille"))
        let edge = try JSONParser.parse(try Self.call(ip, "GET", "/v1/edges/\(a)").body)
        #expect(edge["cpu_permille"] == .int(300))
        #expect(edge["ram_max_bytes"] == .int(8000))
        #expect(try Self.call(ip, "POST", "/v1/edges/\(a)/report", body: "{nope", token: tokenA).status == 400)
        #expect(try Self.call(ip, "POST", "/v1/edges/ffffffffffff/report", body: "{}", token: tokenA).status == 401)
        // Enrollment tokens: forged, used up, expired-range validation.
        let issued = try JSONParser.parse(try Self.call(ip, "POST", "/v1/enrollment-tokens", body: #"{"max_uses": 1}"#).body)["enrollment_token"]!.stringValue!
        let body = #"{"enrollment_token": "\#(issued)", "public_ip": "203.0.113.9"}"#
        #expect(try Self.call(ip, "POST", "/v1/edges/enroll", body: body, token: nil).status == 201)
        let again = try Self.call(ip, "POST", "/v1/edges/enroll", body: body, token: nil)
        #expect(again.status == 403)
        #expect(try JSONParser.parse(again.body)["code"] == .string("ENROLLMENT_TOKEN_USED"))
        let forged = issued.dropLast(3) + "AAA"
        let f = try Self.call(ip, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(forged)", "public_ip": "203.0.113.9"}"#, token: nil)
        #expect(f.status == 401)
        #expect(try JSONParser.parse(f.body)["code"] == .string("ENROLLMENT_TOKEN_FORGED"))
        #expect(try Self.call(ip, "POST", "/v1/enrollment-tokens", body: #"{"expires_in_s": 0}"#).status == 400)
        // Weights at runtime.
        let w = try Self.call(ip, "PUT", "/v1/weights", body: #"{"geo": 0}"#)
        #expect(try JSONParser.parse(w.body)["geo"] == .int(0))
        #expect(try Self.call(ip, "PUT", "/v1/weights", body: #"{"geo": -1}"#).status == 400)
    }

    @Test func debugConfigShowsTheEffectiveConfigWithSecretsRedacted() throws {
        let server = try Self.start { c in c.weightGeo = 700 }
        defer { server.stopNow() }
        let j = try JSONParser.parse(try Self.call(server.internalPort, "GET", "/debug/config").body)
        #expect(j["weight_geo"] == .int(700))
        #expect(j["internal_token"] == .string("<redacted>"))
        #expect(j["cluster_secret"] == .string("<redacted>"))
        #expect(j["cluster_slug"] == .string("eu1"))
        #expect(j["http_listen"] == .string("127.0.0.1:0"))
        for key in ConfigKeys.all { #expect(j[key.name] != nil, "\(key.name)") }
        #expect(!j.jsonText.contains(Self.token))
    }

    @Test func mutationsFailClosedWithoutAnAdminToken() throws {
        let server = try TestServer.start()
        defer { server.stopNow() }
        let r = try Self.call(server.internalPort, "PUT", "/v1/playback/x", body: #"{"stream": "s"}"#, token: "anything")
        #expect(r.status == 403)
        #expect(try JSONParser.parse(r.body)["code"] == .string("ADMIN_TOKEN_NOT_CONFIGURED"))
    }

    static let geoFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/geo/foghorn-test-city.mmdb").path

    /// A server with the project's geo fixture that trusts proxies on loopback.
    static func startBehindAProxy() throws -> FoghornServer {
        try start { c in
            c.geoipDb = geoFixture
            c.trustedProxies = ["127.0.0.0/8"]
        }
    }

    @Test func geoFromTheMMDBAndTrustedProxies() throws {
        let server = try Self.startBehindAProxy()
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (london, seattle) = try Self.londonAndSeattle(ip)
        // 81.2.69.142 is London, 216.160.83.56 is Milton, WA in fixtures/geo/cities.csv.
        let eu = try Self.call(vp, "GET", "/play/pk/hls", token: nil, headers: ["X-Forwarded-For: 81.2.69.142"])
        #expect(eu.header("X-Foghorn-Edge") == london)
        let us = try Self.call(vp, "GET", "/play/pk/hls", token: nil, headers: ["X-Forwarded-For: 216.160.83.56"])
        #expect(us.header("X-Foghorn-Edge") == seattle)
        let debug = try JSONParser.parse(try Self.call(ip, "GET", "/debug/score?playback=pk&ip=216.160.83.56").body)
        #expect(debug["viewer"]?["source"] == .string("geoip"))
        #expect(debug["winner"] == .string(seattle))
        // A private client address has no position: load alone decides.
        let local = try Self.call(vp, "GET", "/play/pk/hls", token: nil, headers: ["X-Forwarded-For: 10.1.2.3"])
        #expect(local.header("X-Foghorn-Edge") == seattle)
    }

    /// A client behind a trusted proxy that appends its own `X-Forwarded-For` line (HAProxy's
    /// `option forwardfor`) forges a first line: the lines are one list, so the proxy's hop — the
    /// real address — wins. A duplicated single-address header is ignored and counted.
    @Test func forwardingHeadersAcrossSeveralLines() throws {
        let server = try Self.startBehindAProxy()
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (london, seattle) = try Self.londonAndSeattle(ip)
        // The forged Seattle line first, the proxy's London line second: London (right-most untrusted hop).
        let two = try Self.call(vp, "GET", "/play/pk/hls", token: nil, headers: ["X-Forwarded-For: 216.160.83.56", "X-Forwarded-For: 81.2.69.142"])
        #expect(two.header("X-Foghorn-Edge") == london)
        let reversed = try Self.call(vp, "GET", "/play/pk/hls", token: nil, headers: ["X-Forwarded-For: 81.2.69.142", "x-forwarded-for: 216.160.83.56"])
        #expect(reversed.header("X-Foghorn-Edge") == seattle)
        // Trusted hops on the last line are skipped across lines.
        let hops = try Self.call(vp, "GET", "/play/pk/hls", token: nil,
                                 headers: ["X-Forwarded-For: 216.160.83.56", "X-Forwarded-For: 81.2.69.142, 127.0.0.9", "X-Forwarded-For: 127.0.0.5"])
        #expect(hops.header("X-Foghorn-Edge") == london)
        // Two X-Real-IP (or CF-Connecting-IP) lines are ambiguous: ignored (no position → Seattle by load), counted.
        for name in ["X-Real-IP", "CF-Connecting-IP"] {
            let dup = try Self.call(vp, "GET", "/play/pk/hls", token: nil, headers: ["\(name): 81.2.69.142", "\(name): 81.2.69.142"])
            #expect(dup.header("X-Foghorn-Edge") == seattle, "\(name)")
        }
        // …falling through to the next source.
        let next = try Self.call(vp, "GET", "/play/pk/hls", token: nil,
                                 headers: ["CF-Connecting-IP: 216.160.83.56", "CF-Connecting-IP: 216.160.83.56", "X-Forwarded-For: 81.2.69.142"])
        #expect(next.header("X-Foghorn-Edge") == london)
        let metrics = try Self.call(ip, "GET", "/metrics").bodyText
        #expect(metrics.contains(#"foghorn_forwarding_header_duplicates_total{header="cf-connecting-ip"} 2"#))
        #expect(metrics.contains(#"foghorn_forwarding_header_duplicates_total{header="x-real-ip"} 1"#))
    }

    /// Every carrier reports the stream with 0 inputs: `/play` answers 404 STREAM_OFFLINE and
    /// `/debug/score` says the same (it used to say NO_EDGE_AVAILABLE).
    @Test func debugScoreAgreesWithPlayWhenNoCarrierHasAnInput() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (a, token) = try Self.enroll(ip)
        #expect(try Self.report(ip, a, token, inputs: 0).status == 200)
        #expect(try Self.call(ip, "PUT", "/v1/playback/pk", body: #"{"stream": "live+s"}"#).status == 201)
        let play = try Self.eventually(vp, "/play/pk/hls") { $0.status == 404 && $0.bodyText.contains("STREAM_OFFLINE") }
        #expect(play.status == 404)
        #expect(try JSONParser.parse(play.body)["code"] == .string("STREAM_OFFLINE"))
        let debug = try JSONParser.parse(try Self.call(ip, "GET", "/debug/score?playback=pk").body)
        #expect(debug["outcome"] == .string("STREAM_OFFLINE"))
        #expect(debug["winner"] == .null)
        // With an input but the edge draining: both say NO_EDGE_AVAILABLE.
        #expect(try Self.report(ip, a, token, inputs: 1).status == 200)
        #expect(try Self.call(ip, "PUT", "/v1/edges/\(a)/mode", body: #"{"mode": "draining"}"#).status == 200)
        #expect(try Self.eventually(vp, "/play/pk/hls") { $0.status == 503 }.status == 503)
        #expect(try JSONParser.parse(try Self.call(ip, "GET", "/debug/score?playback=pk").body)["outcome"] == .string("NO_EDGE_AVAILABLE"))
    }

    /// Pending (anti-herd) bandwidth: a redirect and a JSON answer add the stream's per-viewer
    /// figure to the winner; a HEAD adds nothing (OPERATIONS and SCORING say so).
    @Test func headRequestsAddNoPendingBandwidth() throws {
        let server = try Self.start { c in c.loops = 1 }
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (a, token) = try Self.enroll(ip)
        #expect(try Self.report(ip, a, token).status == 200)
        #expect(try Self.call(ip, "PUT", "/v1/playback/pk", body: #"{"stream": "live+s"}"#).status == 201)
        Self.settle()
        func pending() throws -> Int {
            let j = try JSONParser.parse(try Self.call(ip, "GET", "/debug/score?playback=pk").body)
            return j["candidates"]?.arrayValue?.first?["pending_bytes_per_sec"]?.intValue.map { Int($0) } ?? -1
        }
        func settled(_ expected: Int) throws -> Int {
            var p = -1
            for _ in 0..<50 {
                p = try pending()
                if p == expected { break }
                usleep(20_000)
            }
            return p
        }
        for _ in 0..<5 { #expect(try Self.call(vp, "HEAD", "/play/pk/hls", token: nil).status == 307) }
        for _ in 0..<5 { #expect(try Self.call(vp, "HEAD", "/play/pk", token: nil).status == 200) }
        usleep(200_000)  // more than the 50 ms shipping interval
        #expect(try pending() == 0)
        // 600,000 B/s over 3 viewers: 200,000 B/s a viewer.
        #expect(try Self.call(vp, "GET", "/play/pk", token: nil).status == 200)
        #expect(try settled(200_000) == 200_000)
        #expect(try Self.call(vp, "GET", "/play/pk/hls", token: nil).status == 307)
        #expect(try settled(400_000) == 400_000)
    }

    @Test func untrustedPeersCannotSpoofTheirAddress() throws {
        let db = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/geo/foghorn-test-city.mmdb").path
        let server = try Self.start { c in c.geoipDb = db }  // no trusted proxies
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (_, seattle) = try Self.londonAndSeattle(ip)
        // Whatever the headers claim (a London viewer would go to London), the loopback peer has no
        // position, so load alone decides: Seattle.
        for header in ["X-Forwarded-For: 81.2.69.142", "X-Real-IP: 81.2.69.142", "CF-Connecting-IP: 81.2.69.142"] {
            #expect(try Self.call(vp, "GET", "/play/pk/hls", token: nil, headers: [header]).header("X-Foghorn-Edge") == seattle, "\(header)")
        }
    }
}
