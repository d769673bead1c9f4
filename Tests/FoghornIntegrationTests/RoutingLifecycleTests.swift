import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// Staleness, eviction and the anti-herd spread through the real server.
@Suite(.serialized) struct RoutingLifecycleTests {
    @Test func silentEdgesGoStaleThenAreEvicted() throws {
        let server = try RoutingTests.start { c in
            c.edgeStaleAfterMs = 1000
            // Stale for two sweep periods (the sweep runs every second): a late sweep on a loaded
            // machine must not go from fresh straight to evicted before the stale state is seen.
            c.edgeEvictAfterMs = 3000
        }
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (a, token) = try RoutingTests.enroll(ip)
        // Enrolled but never reported: stale, not routable.
        var edge = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/v1/edges/\(a)").body)
        #expect(edge["state"] == .string("stale"))
        #expect(try RoutingTests.report(ip, a, token).status == 200)
        #expect(try RoutingTests.call(ip, "PUT", "/v1/playback/pk", body: #"{"stream": "live+s"}"#).status == 201)
        RoutingTests.settle()
        edge = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/v1/edges/\(a)").body)
        #expect(edge["state"] == .string("routable"))
        #expect(try RoutingTests.call(vp, "GET", "/play/pk/hls", token: nil).status == 307)
        // No report for > 1 s: out of routing (the sweep runs every second).
        var status = 0
        for _ in 0..<40 {
            usleep(100_000)
            status = try RoutingTests.call(vp, "GET", "/play/pk/hls", token: nil).status
            if status == 503 { break }
        }
        #expect(status == 503)
        let debug = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/debug/score?playback=pk").body)
        #expect(debug["candidates"]?.arrayValue?.first?["excluded"] == .string("stale"))
        // A report brings it back at once.
        #expect(try RoutingTests.report(ip, a, token).status == 200)
        RoutingTests.settle()
        #expect(try RoutingTests.call(vp, "GET", "/play/pk/hls", token: nil).status == 307)
        // Silent for > 3 s: forgotten.
        var gone = false
        for _ in 0..<80 {  // eviction ≈ 3–4 s after the report (sweeps every second)
            usleep(100_000)
            if try RoutingTests.call(ip, "GET", "/v1/edges/\(a)").status == 404 { gone = true; break }
        }
        #expect(gone)
        // The snapshot without it is published within the coalescing delay (poll: sanitizer runs are slow).
        var offline = 0
        for _ in 0..<50 {
            offline = try RoutingTests.call(vp, "GET", "/play/pk/hls", token: nil).status
            if offline == 404 { break }
            usleep(20_000)
        }
        #expect(offline == 404)  // STREAM_OFFLINE
    }

    /// 1,000 playback records PUT back to back (pipelined, 50 at a time, on one connection) into
    /// a server whose playback table has 8 slots: every PUT answers 201, the control loop keeps
    /// going (it used to spin forever in the ID table's insert probe once the burst outgrew the
    /// free slots) and every record routes.
    @Test func aBurstOfAThousandPlaybackRecordsRoutes() throws {
        let server = try RoutingTests.start { c in c.loops = 1 }
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        let (a, token) = try RoutingTests.enroll(ip)
        #expect(try RoutingTests.report(ip, a, token).status == 200)
        #expect(try RoutingTests.call(ip, "PUT", "/v1/playback/first", body: #"{"stream": "live+s"}"#).status == 201)
        RoutingTests.settle()
        let client = try TestClient(port: ip)
        let body = #"{"stream": "live+s"}"#
        var created = 0
        for batch in 0..<20 {
            var requests = ""
            for i in batch * 50..<(batch + 1) * 50 {
                requests += "PUT /v1/playback/x\(i) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(RoutingTests.token)\r\n"
                requests += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            }
            try client.send(requests)
            for _ in 0..<50 where try client.readResponse().status == 201 { created += 1 }
        }
        #expect(created == 1_000)
        // Bounded wait: the last record routes once its snapshot is published.
        var last = 0
        for _ in 0..<200 {
            last = try RoutingTests.call(vp, "GET", "/play/x999/hls", token: nil).status
            if last == 307 { break }
            usleep(50_000)
        }
        #expect(last == 307)
        for id in ["first", "x0", "x1", "x500", "x998"] {
            #expect(try RoutingTests.call(vp, "GET", "/play/\(id)/hls", token: nil).status == 307, "\(id)")
        }
        #expect(try TestClient.get(port: ip, "/livez").status == 200)
        let listed = try JSONParser.parse(try RoutingTests.call(ip, "GET", "/v1/playback/x777").body)
        #expect(listed["stream"] == .string("live+s"))
    }

    @Test func aHerdOverTwoLoopsSpreadsEvenly() throws {
        let server = try RoutingTests.start { c in c.loops = 2 }
        defer { server.stopNow() }
        let ip = server.internalPort, vp = server.httpPort
        var ids: [String] = []
        for _ in 0..<5 {
            let (id, token) = try RoutingTests.enroll(ip)
            // Equal edges with 10 Gbit/s each.
            let r = try RoutingTests.call(ip, "POST", "/v1/edges/\(id)/report", body: """
                {"cpu_permille": 100, "ram_used_bytes": 1000, "ram_max_bytes": 8000, "up_bytes_per_sec": 0,
                 "bw_limit_bytes_per_sec": 1250000000, "base_url": "https://\(id).example/",
                 "streams": {"live+s": {"inputs": 1, "viewers": 0}}}
                """, token: token)
            #expect(r.status == 200)
            ids.append(id)
        }
        #expect(try RoutingTests.call(ip, "PUT", "/v1/playback/pk", body: #"{"stream": "live+s"}"#).status == 201)
        RoutingTests.settle()
        // 10,000 viewers on 8 connections (spread over both loops), 16 pipelined at a time.
        var counts: [String: Int] = [:]
        let clients = try (0..<8).map { _ in try TestClient(port: vp) }
        let request = "GET /play/pk/hls/index.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n"
        var sent = 0
        while sent < 10_000 {
            for client in clients where sent < 10_000 {
                let batch = min(16, 10_000 - sent)
                try client.send(String(repeating: request, count: batch))
                for _ in 0..<batch {
                    let r = try client.readResponse()
                    counts[r.header("X-Foghorn-Edge") ?? "?", default: 0] += 1
                }
                sent += batch
            }
        }
        #expect(Set(counts.keys) == Set(ids))
        for (_, n) in counts { #expect(n >= 1500 && n <= 2500, "\(counts)") }
    }
}

@Suite(.serialized) struct GeoReloadTests {
    @Test func geoipReloadSwapsOrKeepsTheOldDatabase() throws {
        let geo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/geo")
        let server = try RoutingTests.start { c in c.geoipDb = geo.appendingPathComponent("foghorn-test-city.mmdb").path }
        defer { server.stopNow() }
        let ip = server.internalPort
        func current() throws -> String {
            try JSONParser.parse(try RoutingTests.call(ip, "GET", "/debug/snapshot").body)["geoip"]?.stringValue ?? ""
        }
        #expect(try current().contains("Foghorn-Test-City"))
        let bad = try RoutingTests.call(ip, "POST", "/v1/geoip/reload", body: #"{"path": "/nonexistent.mmdb"}"#)
        #expect(bad.status == 422)
        #expect(try JSONParser.parse(bad.body)["code"] == .string("GEOIP_RELOAD_FAILED"))
        #expect(try current().contains("Foghorn-Test-City"))
        let maxmind = geo.appendingPathComponent("maxmind/GeoIP2-City-Test.mmdb").path
        let ok = try RoutingTests.call(ip, "POST", "/v1/geoip/reload", body: #"{"path": "\#(maxmind)"}"#)
        #expect(ok.status == 200)
        RoutingTests.settle()
        #expect(try current().contains("GeoIP2-City"))
        #expect(try RoutingTests.call(ip, "POST", "/v1/geoip/reload", body: "{}", token: nil).status == 401)
    }
}
