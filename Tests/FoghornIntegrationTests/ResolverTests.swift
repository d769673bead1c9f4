import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// The upstream playback resolver: cache, negative cache, single-flight, outages.
@Suite(.serialized) struct ResolverTests {
    static func start(_ resolver: FakeResolver, ttlS: Int = 60, timeoutMs: Int = 300, caFile: String = "") throws -> FoghornServer {
        try RoutingTests.start { c in
            c.resolverUrl = resolver.url
            c.resolverCaFile = caFile
            c.resolverTimeoutMs = timeoutMs
            c.resolverTtlS = ttlS
            c.resolverStaleS = 30
            c.resolverNegativeTtlS = 5
            c.edges = [try! JSONParser.parse(#"{"node_id": "e1", "base_url": "https://e1.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000000, "streams": {"live+r": {"inputs": 1}}}"#)]
        }
    }

    @Test func resolvesCachesAndSingleFlights() throws {
        let resolver = try FakeResolver(records: ["r1": "live+r", "r2": "live+r"])
        defer { resolver.stop() }
        // A generous deadline: this test is about counts, not outages (sanitizer runs are slow).
        let server = try Self.start(resolver, timeoutMs: 3000)
        defer { server.stopNow() }
        let vp = server.httpPort
        let first = try TestClient.get(port: vp, "/play/r1/hls/index.m3u8")
        #expect(first.status == 307)
        #expect(first.header("Location") == "https://e1.example/hls/r1/index.m3u8")
        #expect(try TestClient.get(port: vp, "/play/r1/hls/index.m3u8").status == 307)
        #expect(resolver.hits("r1") == 1)  // cached

        // Unknown: 404 and negatively cached.
        #expect(try TestClient.get(port: vp, "/play/nobody/hls").status == 404)
        let again = try TestClient.get(port: vp, "/play/nobody/hls")
        #expect(again.status == 404)
        #expect(try JSONParser.parse(again.body)["code"] == .string("VIEW_KEY_NOT_FOUND"))
        #expect(resolver.hits("nobody") == 1)

        // 30 viewers of a new ID at once: one lookup.
        let clients = try (0..<30).map { _ in try TestClient(port: vp) }
        for c in clients { try c.send("GET /play/r2/hls HTTP/1.1\r\nHost: x\r\n\r\n") }
        var statuses: [Int: Int] = [:]
        for c in clients {
            let r = try c.readResponse()
            statuses[r.status, default: 0] += 1
            if r.status != 307 { print("resolver test: \(r.status) \(r.bodyText)") }
        }
        #expect(statuses == [307: 30])
        #expect(resolver.hits("r2") == 1)
        let metrics = try TestClient.get(port: server.internalPort, "/metrics").bodyText
        #expect(metrics.contains(#"foghorn_resolver_lookups_total{outcome="fetched"} 2"#))
        // Each request to the resolver is timed.
        #expect(metrics.contains(#"foghorn_resolver_lookup_duration_seconds_count{outcome="fetched"} 2"#))
    }

    @Test func outagesGive503AndStaleRecordsKeepServing() throws {
        let resolver = try FakeResolver(records: ["r1": "live+r"])
        defer { resolver.stop() }
        let server = try Self.start(resolver, ttlS: 1, timeoutMs: 200)
        defer { server.stopNow() }
        let vp = server.httpPort
        #expect(try TestClient.get(port: vp, "/play/r1/hls").status == 307)

        resolver.setMode(.failing)
        let down = try TestClient.get(port: vp, "/play/unknown-id/hls")
        #expect(down.status == 503)
        #expect(try JSONParser.parse(down.body)["code"] == .string("RESOLVER_UNAVAILABLE"))

        resolver.setMode(.silent)
        let started = TestClient.nowMs()
        let slow = try TestClient.get(port: vp, "/play/another-id/hls")
        let waited = TestClient.nowMs() - started
        #expect(slow.status == 503)
        #expect(waited >= 150 && waited < 2000, "waited \(waited) ms")
        // Both counted as resolver outages, not as edges unavailable.
        #expect(try FederationTests.metric(server, #"foghorn_routing_decisions_total{outcome="resolver_unavailable"}"#) == 2)
        #expect(try FederationTests.metric(server, #"foghorn_routing_decisions_total{outcome="no_edge_available"}"#) == 0)

        // Past the TTL the background refresh fails, but the known record is still served (stale-if-error).
        resolver.setMode(.failing)
        usleep(1_500_000)
        #expect(try TestClient.get(port: vp, "/play/r1/hls").status == 307)
    }

    @Test func keepAliveConnectionsAreReusedAndRetriedWhenTheServerClosedThem() throws {
        let resolver = try FakeResolver(records: ["k1": "live+r", "k2": "live+r", "k3": "live+r", "k4": "live+r"], idleTimeoutMs: 300)
        defer { resolver.stop() }
        // A generous deadline: this test is about connection reuse, not outages (a loaded CI machine
        // can take longer than the default 300 ms for a lookup, which then counts as an error).
        let server = try Self.start(resolver, timeoutMs: 3000)
        defer { server.stopNow() }
        for id in ["k1", "k2", "k3"] { #expect(try TestClient.get(port: server.httpPort, "/play/\(id)/hls").status == 307) }
        #expect(resolver.connections == 1)
        // The resolver closes the idle connection; the next lookup dials again (or retries once) and succeeds.
        usleep(600_000)
        #expect(try TestClient.get(port: server.httpPort, "/play/k4/hls").status == 307)
        #expect(resolver.connections == 2)
        let metrics = try TestClient.get(port: server.internalPort, "/metrics").bodyText
        #expect(metrics.contains("foghorn_resolver_connections_opened_total 2"))
    }

    @Test func resolverOverHTTPSVerifiesItsCertificate() throws {
        let dir = try TestCertificates.tempDir()
        let ca = try TestCertificates.ca(in: dir)
        let pair = try TestCertificates.leaf("resolver", names: ["127.0.0.1", "resolver.test"], in: dir)
        let resolver = try FakeResolver(records: ["s1": "live+r", "s2": "live+r"], tls: pair)
        defer { resolver.stop() }
        #expect(resolver.url.hasPrefix("https://"))
        // Trusted through resolver_ca_file: resolved, over one kept-alive TLS connection.
        let trusting = try Self.start(resolver, timeoutMs: 3000, caFile: ca)  // a TLS handshake on a loaded machine: no deadline race
        #expect(try TestClient.get(port: trusting.httpPort, "/play/s1/hls").status == 307)
        #expect(try TestClient.get(port: trusting.httpPort, "/play/s2/hls").status == 307)
        #expect(resolver.connections == 1)
        trusting.stopNow()
        // Not trusted (system store only): the lookup fails → 503 RESOLVER_UNAVAILABLE, never 404.
        let untrusting = try Self.start(resolver)
        defer { untrusting.stopNow() }
        let r = try TestClient.get(port: untrusting.httpPort, "/play/s1/hls")
        #expect(r.status == 503)
        #expect(try JSONParser.parse(r.body)["code"] == .string("RESOLVER_UNAVAILABLE"))
    }

    @Test func flappingResolverNeverTurnsKnownIDsInto404s() throws {
        var records: [String: String] = [:]
        for k in 0..<20 { records["f\(k)"] = "live+r" }
        let resolver = try FakeResolver(records: records)
        defer { resolver.stop() }
        let server = try Self.start(resolver, ttlS: 1, timeoutMs: 300)
        defer { server.stopNow() }
        // f0 is resolved while the resolver is up.
        #expect(try TestClient.get(port: server.httpPort, "/play/f0/hls").status == 307)
        // The resolver flaps every 150 ms for ~2.4 s (past f0's TTL, so refreshes hit both states).
        var statusesKnown: [Int: Int] = [:], statusesNew: [Int: Int] = [:]
        for k in 1..<17 {
            resolver.setMode(k % 2 == 0 ? .normal : .failing)
            statusesKnown[try TestClient.get(port: server.httpPort, "/play/f0/hls").status, default: 0] += 1
            let r = try TestClient.get(port: server.httpPort, "/play/f\(k)/hls")
            statusesNew[r.status, default: 0] += 1
            if r.status == 503 { #expect(try JSONParser.parse(r.body)["code"] == .string("RESOLVER_UNAVAILABLE")) }
            usleep(150_000)
        }
        // The known ID is always routed (fresh, refreshed, or stale-if-error); new IDs are routed
        // when the resolver is up and get 503 (never 404) when it is down.
        #expect(statusesKnown == [307: 16])
        #expect(statusesNew[404] == nil)
        #expect(statusesNew[307, default: 0] == 8)
        #expect(statusesNew[503, default: 0] == 8)
        let metrics = try TestClient.get(port: server.internalPort, "/metrics").bodyText
        #expect(metrics.contains(#"foghorn_resolver_lookups_total{outcome="error"}"#))
    }
}
