import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// Where we matched the surfaces we replace more closely (issue "Drop-in means drop-in").
@Suite struct DropInTests {
    static func start(_ configure: (inout FoghornConfiguration) -> Void = { _ in }) throws -> FoghornServer {
        try TestServer.start { c in
            c.edges = try! JSONParser.parse("""
                [{"node_id": "e1", "base_url": "https://e1.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
                  "streams": {"live+s": {"inputs": 1}}}]
                """).arrayValue!
            c.playback = [.object([("id", .string("a")), ("stream", .string("live+s"))])]
            c.internalToken = "tok"
            configure(&c)
        }
    }

    @Test func anUnknownDistanceIsNullNotZero() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let j = try JSONParser.parse(try TestClient.get(port: server.httpPort, "/play/a").body)
        let primary = try #require(j["primary"])
        #expect(primary["geoDistance"] == JSONValue.null)
        #expect(primary["nodeId"] == .string("e1"))
    }

    @Test func theCompatQueryAnswersABrowsersPreflight() throws {
        let server = try Self.start { $0.mistCompat = true }
        defer { server.stopNow() }
        let client = try TestClient(port: server.httpPort)
        try client.send("OPTIONS /live+s?proto=hls HTTP/1.1\r\nHost: t\r\nOrigin: https://player.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-session\r\n\r\n")
        let r = try client.readResponse()
        #expect(r.status == 204)
        #expect(r.header("Access-Control-Allow-Origin") == "*")
        #expect(r.header("Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS")
        #expect(r.header("Access-Control-Allow-Headers") == "x-session")
        #expect(try TestClient.get(port: server.httpPort, "/live+s").status == 200)  // the query itself still answers
    }

    @Test func verboseReadinessNamesTheSnapshotBeingServed() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        for i in 0..<3 {
            #expect(try RoutingTests.call(server.internalPort, "PUT", "/v1/playback/p\(i)", body: #"{"stream": "live+s"}"#, token: "tok").status == 201)
        }
        RoutingTests.settle()
        let generation = try JSONParser.parse(try TestClient.get(port: server.internalPort, "/debug/snapshot").body)["generation"]?.intValue ?? -1
        #expect(generation > 1)
        let verbose = try JSONParser.parse(try TestClient.get(port: server.internalPort, "/readyz?verbose").body)
        let snapshot = verbose["checks"]?.arrayValue?.first { $0["name"] == .string("snapshot") }
        #expect(snapshot?["detail"] == .string("generation \(generation)"))
    }

    @Test func foghornsNodeEndpointsAreAliasesOfOurs() throws {
        let server = try Self.start { $0.edges[0] = try! JSONParser.parse("""
            {"node_id": "e1", "base_url": "https://e1.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
             "streams": {"live+s": {"inputs": 1, "viewers": 7}, "live+t": {"inputs": 1, "viewers": 5}}}
            """) }
        defer { server.stopNow() }
        let ip = server.internalPort
        let drained = try RoutingTests.call(ip, "PUT", "/nodes/e1/mode", body: #"{"mode": "draining", "set_by": "ops"}"#, token: "tok")
        #expect(drained.status == 200, "\(drained.bodyText)")
        let j = try JSONParser.parse(drained.body)
        #expect(j["node_id"] == .string("e1") && j["operational_mode"] == .string("draining") && j["active_viewers"] == .int(12))
        RoutingTests.settle()
        #expect(try TestClient.get(port: server.httpPort, "/play/a/hls/index.m3u8").status == 503)
        let status = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/nodes/e1/drain-status").body)
        #expect(status["operational_mode"] == .string("draining"))
        // "" is normal, on both paths.
        #expect(try JSONParser.parse(try RoutingTests.call(ip, "PUT", "/nodes/e1/mode", body: #"{"mode": ""}"#, token: "tok").body)["operational_mode"] == .string("normal"))
        #expect(try RoutingTests.call(ip, "PUT", "/v1/edges/e1/mode", body: #"{"mode": ""}"#, token: "tok").status == 200)
        RoutingTests.settle()
        #expect(try TestClient.get(port: server.httpPort, "/play/a/hls/index.m3u8").status == 307)
        // The same checks as ours.
        #expect(try RoutingTests.call(ip, "PUT", "/nodes/e1/mode", body: #"{"mode": "off"}"#, token: "tok").status == 400)
        #expect(try RoutingTests.call(ip, "PUT", "/nodes/e1/mode", body: #"{"mode": "draining"}"#, token: nil).status == 401)
        #expect(try RoutingTests.call(ip, "PUT", "/nodes/nope/mode", body: #"{"mode": "draining"}"#, token: "tok").status == 404)
        #expect(try RoutingTests.call(ip, "GET", "/nodes/nope/drain-status").status == 404)
        #expect(try RoutingTests.call(ip, "GET", "/nodes/overview").status == 200)
    }
}

extension DropInTests {
    /// `?lstserver=1` lists every node the balancer routes to, not only polled Mist nodes.
    @Test func lstserverListsReportingEdgesToo() throws {
        let server = try Self.start { $0.mistCompat = true }
        defer { server.stopNow() }
        let list = try JSONParser.parse(try RoutingTests.call(server.internalPort, "GET", "/?lstserver=1", token: nil).body)
        #expect(list["e1"] == .string("Monitored (online)"))
        #expect(try RoutingTests.call(server.internalPort, "PUT", "/v1/edges/e1/mode", body: #"{"mode": "maintenance"}"#, token: "tok").status == 200)
        let after = try JSONParser.parse(try RoutingTests.call(server.internalPort, "GET", "/?lstserver=1", token: nil).body)
        #expect(after["e1"] == .string("Offline"))
    }
}

extension DropInTests {
    @Test func viewerCountsLeaveOutEdgesInMaintenance() throws {
        let server = try Self.start { c in
            c.mistCompat = true
            c.edges = try! JSONParser.parse("""
                [{"node_id": "e1", "base_url": "https://e1.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
                  "streams": {"live+s": {"inputs": 1, "viewers": 7}}},
                 {"node_id": "e2", "base_url": "https://e2.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
                  "streams": {"live+s": {"inputs": 1, "viewers": 5}}}]
                """).arrayValue!
        }
        defer { server.stopNow() }
        let ip = server.internalPort
        #expect(try RoutingTests.call(ip, "GET", "/?stream=live+s", token: nil).bodyText == "12")
        #expect(try RoutingTests.call(ip, "PUT", "/v1/edges/e2/mode", body: #"{"mode": "maintenance"}"#, token: "tok").status == 200)
        #expect(try RoutingTests.call(ip, "GET", "/?stream=live+s", token: nil).bodyText == "7")
        #expect(try JSONParser.parse(try RoutingTests.call(ip, "GET", "/?viewers=1", token: nil).body)["live+s"] == .int(7))
    }

    @Test func healthOnTheViewerPortIsTheProbeNotAStream() throws {
        let server = try Self.start { $0.mistCompat = true }
        defer { server.stopNow() }
        let r = try TestClient.get(port: server.httpPort, "/health")
        #expect(r.status == 200)
        #expect(r.bodyText == "ok\n")
        #expect(try TestClient.get(port: server.httpPort, "/live+s").bodyText == "e1.example")  // streams still answer
    }
}

extension DropInTests {
    @Test func theCompatQueryTakesCloudflaresPositionFromATrustedProxy() throws {
        func start(trusted: Bool) throws -> FoghornServer {
            try Self.start { c in
                c.mistCompat = true
                if trusted { c.trustedProxies = ["127.0.0.0/8"] }
                c.edges = try! JSONParser.parse("""
                    [{"node_id": "ams", "base_url": "https://ams.example/", "lat": 52.37, "lon": 4.9, "ram_max_bytes": 1000,
                      "bw_limit_bytes_per_sec": 1000000000, "streams": {"live+s": {"inputs": 1}}},
                     {"node_id": "nyc", "base_url": "https://nyc.example/", "lat": 40.71, "lon": -74.0, "ram_max_bytes": 1000,
                      "bw_limit_bytes_per_sec": 1000000000, "streams": {"live+s": {"inputs": 1}}}]
                    """).arrayValue!
            }
        }
        let server = try start(trusted: true)
        defer { server.stopNow() }
        #expect(try TestClient.get(port: server.httpPort, "/live+s", headers: ["CF-IPLatitude: 40.7", "CF-IPLongitude: -73.9"]).bodyText == "nyc.example")
        #expect(try TestClient.get(port: server.httpPort, "/live+s", headers: ["CF-IPLatitude: 51.5", "CF-IPLongitude: -0.1"]).bodyText == "ams.example")
        // A trusted proxy's headers win over the query (MistUtilLoad's and Foghorn's order); the query alone still counts.
        #expect(try TestClient.get(port: server.httpPort, "/live+s?lat=52.3&lon=4.8", headers: ["X-Latitude: 40.7", "X-Longitude: -73.9"]).bodyText == "nyc.example")
        #expect(try TestClient.get(port: server.httpPort, "/live+s?lat=40.7&lon=-73.9").bodyText == "nyc.example")
        #expect(try TestClient.get(port: server.httpPort, "/live+s?lat=52.3&lon=4.8").bodyText == "ams.example")
        // On the internal listener (the operators'), the same order for ?source=.
        #expect(try RoutingTests.call(server.internalPort, "GET", "/?source=live+s&lat=52.3&lon=4.8", token: nil,
                                      headers: ["CF-IPLatitude: 40.7", "CF-IPLongitude: -73.9"]).bodyText == "dtsc://nyc.example")
        #expect(try RoutingTests.call(server.internalPort, "GET", "/?source=live+s&lat=52.3&lon=4.8", token: nil).bodyText == "dtsc://ams.example")
        // From an untrusted peer the headers are ignored.
        let untrusted = try start(trusted: false)
        defer { untrusted.stopNow() }
        let a = try TestClient.get(port: untrusted.httpPort, "/live+s", headers: ["CF-IPLatitude: 40.7", "CF-IPLongitude: -73.9"]).bodyText
        let b = try TestClient.get(port: untrusted.httpPort, "/live+s", headers: ["CF-IPLatitude: 51.5", "CF-IPLongitude: -0.1"]).bodyText
        #expect(a == b)
    }
}

extension DropInTests {
    /// Foghorn always offers MistServer's HTML player page: `/play/<id>.html` and `MIST_HTML`.
    @Test func theHTMLPlayerPageIsOffered() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let r = try TestClient.get(port: server.httpPort, "/play/a.html")
        #expect(r.status == 307)
        #expect(r.header("Location") == "https://e1.example/a.html")
        #expect(try TestClient.get(port: server.httpPort, "/play/a/embed").header("Location") == "https://e1.example/a.html")
        let j = try JSONParser.parse(try TestClient.get(port: server.httpPort, "/play/a").body)
        #expect(j["primary"]?["outputs"]?["MIST_HTML"]?["url"] == .string("https://e1.example/a.html"))
        #expect(j["primary"]?["outputs"]?["MIST_HTML"]?["protocol"] == .string("MIST_HTML"))
        // An edge's own HTML output wins over the derived page.
        let own = try Self.start { $0.edges[0] = try! JSONParser.parse("""
            {"node_id": "e1", "base_url": "https://e1.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
             "outputs": {"HTTP": "https://HOST:4433/$.html"}, "streams": {"live+s": {"inputs": 1}}}
            """) }
        defer { own.stopNow() }
        #expect(try TestClient.get(port: own.httpPort, "/play/a.html").header("Location") == "https://e1.example:4433/a.html")
    }
}

extension DropInTests {
    /// Foghorn's `/source/by-node/<node>?source=`: the node in the path is the one asking.
    @Test func sourceByNodeSkipsTheNodeInThePath() throws {
        let server = try Self.start { c in
            c.mistCompat = true
            c.edges = try! JSONParser.parse("""
                [{"node_id": "e1", "base_url": "https://e1.example/", "cpu_permille": 100, "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
                  "streams": {"live+s": {"inputs": 1}}},
                 {"node_id": "e2", "base_url": "https://e2.example/", "cpu_permille": 500, "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
                  "streams": {"live+s": {"inputs": 1}}}]
                """).arrayValue!
        }
        defer { server.stopNow() }
        let ip = server.internalPort
        #expect(try RoutingTests.call(ip, "GET", "/source/by-node/e2?source=live+s", token: nil).bodyText == "dtsc://e1.example")
        #expect(try RoutingTests.call(ip, "GET", "/source/by-node/e1?source=live+s", token: nil).bodyText == "dtsc://e2.example")
        #expect(try RoutingTests.call(ip, "GET", "/source/by-node/e1/extra?source=live+s", token: nil).bodyText == "dtsc://e2.example")
        let redirect = try RoutingTests.call(ip, "GET", "/source/by-node/e1?source=live+s&redirect=1", token: nil)
        #expect(redirect.status == 302 && redirect.header("Location") == "dtsc://e2.example")
        #expect(try RoutingTests.call(ip, "GET", "/source/by-node/e1?source=live+none", token: nil).bodyText == "FULL")
        let missing = try RoutingTests.call(ip, "GET", "/source/by-node/e1", token: nil)
        #expect(missing.status == 400)
        #expect(try JSONParser.parse(missing.body)["code"] == .string("MISSING_SOURCE"))
        // Without the path, the caller's own address decides (127.0.0.1 is neither node).
        #expect(try RoutingTests.call(ip, "GET", "/?source=live+s", token: nil).bodyText == "dtsc://e1.example")
    }
}

extension DropInTests {
    /// Foghorn's `/nodes/overview`: a list, `cap`, `offset`, `limit`, `include_stale`, `full`.
    @Test func nodesOverviewIsFoghornsList() throws {
        let server = try RoutingTests.start { c in
            c.edges = try! JSONParser.parse("""
                [{"node_id": "e1", "base_url": "https://e1.example/", "cpu_permille": 250, "ram_used_bytes": 250, "ram_max_bytes": 1000,
                  "bw_limit_bytes_per_sec": 1000, "up_bytes_per_sec": 100, "tags": ["eu"], "streams": {"live+s": {"inputs": 1, "viewers": 4}}},
                 {"node_id": "e2", "base_url": "https://e2.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000,
                  "capabilities": ["edge", "storage"]}]
                """).arrayValue!
        }
        defer { server.stopNow() }
        let ip = server.internalPort
        let (enrolled, _) = try RoutingTests.enroll(ip)  // never reported: stale
        func ids(_ query: String) throws -> [String] {
            let r = try RoutingTests.call(ip, "GET", "/nodes/overview\(query)")
            #expect(r.status == 200, "\(query): \(r.bodyText)")
            return try JSONParser.parse(r.body).arrayValue?.compactMap { $0["node_id"]?.stringValue } ?? []
        }
        #expect(try ids("") == ["e1", "e2"])
        #expect(try ids("?include_stale=true") == ["e1", "e2", enrolled].sorted())
        #expect(try ids("?cap=storage") == ["e2"])
        #expect(try ids("?cap=edge,storage") == ["e2"])
        #expect(try ids("?offset=1&limit=1") == ["e2"])
        #expect(try ids("?limit=1") == ["e1"])
        #expect(try ids("?offset=5") == [])
        #expect(try ids("?limit=1000000&offset=1000000") == [])  // the largest accepted
        let e1 = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/nodes/overview?limit=1").body).arrayValue![0]
        #expect(e1["host"] == .string("e1.example"))
        #expect(e1["operational_mode"] == .string("normal"))
        #expect(e1["cpu_tenths"] == .int(250) && e1["ram_max"] == .int(1000) && e1["ram_current"] == .int(250))
        #expect(e1["up_speed"] == .int(100) && e1["bw_limit"] == .int(1000) && e1["avail_bandwidth"] == .int(900) && e1["add_bandwidth"] == .int(0))
        #expect(e1["is_active"] == .bool(true) && e1["is_stale"] == .bool(false) && e1["cap_edge"] == .bool(true) && e1["cap_storage"] == .bool(false))
        #expect(e1["tags"] == .array([.string("eu")]))
        #expect(e1["streams"]?.arrayValue?.first?["name"] == .string("live+s"))
        #expect(e1["streams"]?.arrayValue?.first?["viewers"] == .int(4))
        let full = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/nodes/overview?full=true&limit=1").body)
        #expect(full["node_count"] == .int(2) && full["nodes"]?.arrayValue?.count == 1)
        for bad in ["?limit=-1", "?offset=x", "?limit=1000001", "?offset=1000001", "?cap=gpu"] {
            let r = try RoutingTests.call(ip, "GET", "/nodes/overview\(bad)")
            #expect(r.status == 400, "\(bad)")
            #expect(try JSONParser.parse(r.body)["code"] == .string(bad.contains("cap") ? "INVALID_CAPABILITY" : "INVALID_PARAMETER"))
        }
    }
}

extension DropInTests {
    /// `?streamstats=` sums reporting edges' cumulative `bytes_up`/`bytes_down` too.
    @Test func streamstatsCountsReportedByteTotals() throws {
        let server = try RoutingTests.start { $0.mistCompat = true }
        defer { server.stopNow() }
        let ip = server.internalPort
        let (a, tokenA) = try RoutingTests.enroll(ip)
        let (b, tokenB) = try RoutingTests.enroll(ip)
        func report(_ id: String, _ token: String, _ stream: String) throws -> Int {
            try RoutingTests.call(ip, "POST", "/v1/edges/\(id)/report", body: """
                {"cpu_permille": 100, "ram_used_bytes": 1000, "ram_max_bytes": 8000, "bw_limit_bytes_per_sec": 125000000,
                 "base_url": "https://\(id).edges.example/", "streams": {"\(stream)": {"inputs": 1, "viewers": 2, "up_bytes_per_sec": 600000}}}
                """.replacingOccurrences(of: #""up_bytes_per_sec": 600000}"#, with: #""up_bytes_per_sec": 600000, "bytes_up": 5000000, "bytes_down": 1000}"#),
                token: token).status
        }
        #expect(try report(a, tokenA, "live+x") == 200)
        #expect(try report(b, tokenB, "live+x") == 200)
        RoutingTests.settle()
        let stats = try RoutingTests.call(ip, "GET", "/?streamstats=live+x", token: nil)
        #expect(stats.bodyText == #"{"live+x":[4,300000,10000000,2000]}"#)
        // A negative counter is refused at the door, and changes nothing.
        let bad = try RoutingTests.call(ip, "POST", "/v1/edges/\(a)/report", body: #"{"streams": {"live+x": {"inputs": 1, "bytes_up": -1}}}"#, token: tokenA)
        #expect(bad.status == 400)
        #expect(try JSONParser.parse(bad.body)["field"] == .string("streams.live+x.bytes_up"))
        // Removed: its totals go with it.
        #expect(try RoutingTests.call(ip, "DELETE", "/v1/edges/\(b)").status == 204)
        RoutingTests.settle()
        #expect(try RoutingTests.call(ip, "GET", "/?streamstats=live+x", token: nil).bodyText == #"{"live+x":[2,300000,5000000,1000]}"#)
    }
}
