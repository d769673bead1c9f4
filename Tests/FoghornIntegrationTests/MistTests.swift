import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// MistServer nodes polled directly, and MistUtilLoad's API.
@Suite(.serialized) struct MistTests {
    static func waitFor(_ timeoutMs: Int = 5000, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = TestClient.nowMs() + timeoutMs
        while TestClient.nowMs() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    static func nodeState(_ ip: UInt16, _ id: String) throws -> JSONValue {
        try JSONParser.parse(try RoutingTests.call(ip, "GET", "/v1/mist/nodes/\(id)").body)
    }

    @Test func pollsNodesComputesRatesAndServesTheCompatAPI() throws {
        let ams = try FakeMistNode(host: "127.0.0.2", document: FakeMistNode.document(
            cpu: 200, bwUp: 1_000_000, lat: 52.37, lon: 4.9, streams: [("live+foo", 10, 1, 500_000, false)]))
        let nyc = try FakeMistNode(host: "127.0.0.3", document: FakeMistNode.document(
            cpu: 200, bwUp: 1_000_000, lat: 40.7, lon: -74.0, tags: ["us"], streams: [("live+foo", 10, 0, 0, true)]))
        defer { ams.stop(); nyc.stop() }
        let server = try RoutingTests.start { c in
            c.mistNodes = [ams.address, nyc.address]
            c.mistPollIntervalS = 1
        }
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        #expect(try Self.waitFor { try Self.nodeState(ip, ams.address)["state"] == .string("online") && Self.nodeState(ip, nyc.address)["state"] == .string("online") })

        // The edge model is fed like a report: cpu ‰, RAM ratio, outputs, streams.
        let edge = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/v1/edges/\(ams.address)").body)
        #expect(edge["cpu_permille"] == .int(200))
        #expect(edge["ram_max_bytes"] == .int(1_000_000))
        #expect(edge["ram_used_bytes"] == .int(250_062))  // max((4,000,000 + 1,000) / 16,000,000, 1,000 / 1,000,000), in ppm
        #expect(edge["bw_limit_bytes_per_sec"] == .int(134_217_728))  // MistUtilLoad's default 128 MiB/s
        #expect(edge["outputs"]?["HLS"] == .string("http://HOST:8080/hls/$/index.m3u8"))

        // Counters advance by 2 MB between polls → about 2 MB/s over ~1 s.
        ams.setDocument(FakeMistNode.document(cpu: 200, bwUp: 3_000_000, lat: 52.37, lon: 4.9, streams: [("live+foo", 10, 1, 2_500_000, false)]))
        #expect(try Self.waitFor {
            let up = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/v1/edges/\(ams.address)").body)["up_bytes_per_sec"]?.intValue ?? 0
            return up > 1_000_000 && up < 4_000_000
        })
        // Later samples change only load: published by load refreshes, not full builds.
        #expect(try Self.waitFor {
            (try JSONParser.parse(try RoutingTests.call(ip, "GET", "/debug/snapshot").body)["load_refreshes"]?.intValue ?? 0) > 0
        })

        // GET /<stream>: the closest node for a viewer in Amsterdam, the other for New York.
        let near = try RoutingTests.call(vp, "GET", "/live+foo?lat=52.3&lon=4.8", token: nil)
        #expect(near.status == 200)
        #expect(near.bodyText == "127.0.0.2")
        #expect(near.header("Content-Length") == "9")
        #expect(try RoutingTests.call(vp, "GET", "/live+foo?lat=40.7&lon=-74", token: nil).bodyText == "127.0.0.3")
        let hls = try RoutingTests.call(vp, "GET", "/live+foo?lat=52.3&lon=4.8&proto=HLS&session=7", token: nil)
        #expect(hls.status == 307)
        #expect(hls.header("Location") == "http://127.0.0.2:8080/hls/live+foo/index.m3u8?session=7")
        #expect(try RoutingTests.call(vp, "GET", "/live+foo?proto=RTMP", token: nil).status == 404)
        // Tag adjustment flips the choice.
        #expect(try RoutingTests.call(vp, "GET", "/live+foo?lat=52.3&lon=4.8", token: nil, headers: [#"X-Tag-Adjust: {"us": 5000}"#]).bodyText == "127.0.0.3")
        // HTTP/1.0 and favicon are complete answers.
        let favicon = try RoutingTests.call(vp, "GET", "/favicon.ico", token: nil)
        #expect(favicon.status == 404 && favicon.header("Content-Length") != nil)
        let client = try TestClient(port: vp)
        try client.send("GET /live+foo HTTP/1.0\r\n\r\n")
        #expect(try client.readResponse().header("Connection") == "close")
        #expect(try client.waitForClose(timeoutMs: 3000))

        // Root queries on the internal listener.
        #expect(try RoutingTests.call(ip, "GET", "/?weights=%7B%7D", token: nil).bodyText == #"{"cpu":500,"ram":500,"bw":1000,"geo":1000,"bonus":50}"#)
        let list = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/?lstserver=1", token: nil).body)
        #expect(list[ams.address] == .string("Monitored (online)"))
        // Source: the node with a live, non-replicated input (nyc's copy is replicated).
        #expect(try RoutingTests.call(ip, "GET", "/?source=live+foo", token: nil).bodyText == "dtsc://127.0.0.2")
        #expect(try RoutingTests.call(ip, "GET", "/?source=live+nothing", token: nil).bodyText == "FULL")
        #expect(try RoutingTests.call(ip, "GET", "/?source=live+nothing&fallback=push://", token: nil).bodyText == "push://")
        #expect(try RoutingTests.call(ip, "GET", "/?stream=live+foo", token: nil).bodyText == "20")
        #expect(try JSONParser.parse(try RoutingTests.call(ip, "GET", "/?viewers=1", token: nil).body)["live+foo"] == .int(20))
        #expect(try JSONParser.parse(try RoutingTests.call(ip, "GET", "/?streamstats=live", token: nil).body)["live+foo"]?.arrayValue?.first == .int(20))
        #expect(try RoutingTests.call(ip, "GET", "/?ingest=10", token: nil).bodyText.hasPrefix("127.0.0."))
        // One host: MistUtilLoad's bare state object; an unknown one: {}.
        let host = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/?host=127.0.0.2", token: nil).body)
        #expect(host["cpu"] == .int(20))
        #expect(host["geo"]?["lat"] == .double(52.37))
        #expect(try RoutingTests.call(ip, "GET", "/?host=203.0.113.9", token: nil).bodyText == "{}")
        // No variables: every node by name.
        let all = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/", token: nil).body)
        #expect(all[ams.address]?["cpu"] == .int(20))
    }

    @Test func failingNodesLeaveRoutingWithAReasonAndComeBack() throws {
        let good = try FakeMistNode(host: "127.0.0.4", document: FakeMistNode.document(streams: [("live+bar", 1, 1, 0, false)]))
        let flaky = try FakeMistNode(host: "127.0.0.5", document: FakeMistNode.document(streams: [("live+bar", 1, 1, 0, false)]))
        let stall = try StallingPort()
        let refused = try RefusedPort.make()
        defer { good.stop(); flaky.stop() }
        flaky.setBehaviour(.garbage)
        let server = try RoutingTests.start { c in
            c.mistNodes = [good.address, flaky.address, "127.0.0.1:\(stall.port)", "127.0.0.1:\(refused)"]
            c.mistPollIntervalS = 1
        }
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        // The good node is online quickly, whatever the stalled one does.
        #expect(try Self.waitFor(2500) { try Self.nodeState(ip, good.address)["state"] == .string("online") })
        #expect(try Self.waitFor { (try Self.nodeState(ip, flaky.address)["last_error"]?.stringValue ?? "").hasPrefix("invalid_document") })
        #expect(try Self.waitFor { (try Self.nodeState(ip, "127.0.0.1:\(refused)")["last_error"]?.stringValue ?? "").hasPrefix("connect_failed") })
        #expect(try Self.waitFor(6000) { (try Self.nodeState(ip, "127.0.0.1:\(stall.port)")["last_error"]?.stringValue ?? "").hasPrefix("timeout") })
        // Errored nodes are out of routing; the good one takes the viewers.
        for _ in 0..<5 { #expect(try RoutingTests.call(vp, "GET", "/live+bar", token: nil).bodyText == "127.0.0.4") }
        let edges = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/debug/edges").body)["edges"]?.arrayValue ?? []
        let flakyEdge = edges.first { $0["node_id"] == .string(flaky.address) }
        #expect(flakyEdge?["state"] == .string("poll_failed"))
        #expect(flakyEdge?["poll_error"]?.stringValue?.hasPrefix("invalid_document") == true)
        // Oversized and HTTP errors are errors too; then the node recovers.
        flaky.setBehaviour(.oversized)
        #expect(try Self.waitFor(8000) { (try Self.nodeState(ip, flaky.address)["last_error"]?.stringValue ?? "").hasPrefix("too_large") })
        flaky.setBehaviour(.normal)
        #expect(try Self.waitFor(12000) { try Self.nodeState(ip, flaky.address)["state"] == .string("online") })
        // Removing the stalled node is immediate.
        let started = TestClient.nowMs()
        #expect(try RoutingTests.call(ip, "DELETE", "/v1/mist/nodes/127.0.0.1:\(stall.port)").status == 204)
        #expect(TestClient.nowMs() - started < 500)
        #expect(try RoutingTests.call(ip, "GET", "/v1/mist/nodes/127.0.0.1:\(stall.port)").status == 404)
        // Adding at runtime.
        let added = try RoutingTests.call(ip, "POST", "/v1/mist/nodes", body: #"{"node": "127.0.0.9:4242/100"}"#)
        #expect(added.status == 201)
        #expect(try RoutingTests.call(ip, "POST", "/v1/mist/nodes", body: #"{"node": "not a host!"}"#).status == 400)
        let metrics = try TestClient.get(port: ip, "/metrics").bodyText
        #expect(metrics.contains(#"foghorn_mist_polls_total{outcome="ok"}"#))
        // Each poll is timed.
        let polled = metrics.split(separator: "\n").first { $0.hasPrefix(#"foghorn_mist_poll_duration_seconds_count{result="ok"} "#) }
        #expect((polled.flatMap { Int($0.split(separator: " ").last!) } ?? 0) >= 1, "\(polled ?? "no line")")
    }

    @Test func aStalledNodeNeverDelaysShutdown() throws {
        let stall = try StallingPort()
        let server = try RoutingTests.start { c in
            c.mistNodes = ["127.0.0.1:\(stall.port)"]
            c.mistPollIntervalS = 30  // its poll would hang for the whole total timeout
        }
        #expect(try Self.waitFor { try Self.nodeState(server.internalPort, "127.0.0.1:\(stall.port)")["polls"] == .int(0) })
        usleep(200_000)  // the poll is in flight and stalled
        let started = TestClient.nowMs()
        server.stopNow()
        #expect(TestClient.nowMs() - started < 1000)
    }
}
