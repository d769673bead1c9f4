import Foundation
import Testing
import FoghornJSON
import FoghornTesting
import FoghornState
import FoghornApp
import FoghornConfig
import FoghornControl
import FoghornHTTP

/// Durable state with the real binary: everything an operator or an edge set survives a
/// `kill -9` right after its answer, and an evicted edge's registration brings it back.
@Suite struct DurableStateTests {
    static let token = RoutingTests.token

    static func call(_ port: UInt16, _ method: String, _ path: String, body: String? = nil, token: String? = DurableStateTests.token) throws -> TestClient.Response {
        try RoutingTests.call(port, method, path, body: body, token: token)
    }

    /// A Foghorn on `dir`'s config and state file.
    static func start(_ dir: URL, secret: Bool = true, extra: String = "") throws -> FoghornProcess {
        let file = dir.appendingPathComponent("foghorn.yaml")
        try """
            log_level: error
            internal_token: \(token)
            cluster_slug: eu1
            root_domain: example.net
            \(secret ? "cluster_secret: durable-test-secret" : "")
            \(extra)
            edges:
              - {node_id: s1, base_url: "https://s1.example/", ram_max_bytes: 8000, bw_limit_bytes_per_sec: 125000000, streams: {"live+s": {inputs: 1}}}
            playback:
              - {id: file-id, stream: live+s}
            """.write(to: file, atomically: true, encoding: .utf8)
        let p = try FoghornProcess(arguments: [
            "serve", "--config", file.path, "--http-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0", "--loops", "1",
            "--state-path", dir.appendingPathComponent("state.db").path,
        ])
        try p.waitUntilReady()
        return p
    }

    static func stop(_ p: FoghornProcess) {
        p.signal(SIGTERM)
        _ = p.waitForExit(timeoutMs: 5000)
    }

    static func kill9(_ p: FoghornProcess) {
        p.signal(SIGKILL)
        _ = p.waitForExit(timeoutMs: 5000)
    }

    static func json(_ r: TestClient.Response) throws -> JSONValue { try JSONParser.parse(r.body) }

    /// Polls `/play/<id>/hls` (bounded) until it answers `status`; returns the last answer.
    static func play(_ port: UInt16, _ id: String, until status: Int) throws -> TestClient.Response {
        var last = try TestClient.get(port: port, "/play/\(id)/hls")
        for _ in 0..<200 where last.status != status {
            usleep(10_000)
            last = try TestClient.get(port: port, "/play/\(id)/hls")
        }
        return last
    }

    @Test func everyRecordSurvivesAKillNineAfterItsAnswer() throws {
        let dir = URL(fileURLWithPath: try ScratchDirectory.make("foghorn-durable"))
        var p = try Self.start(dir)
        var ip = p.internalPort, vp = p.httpPort

        // A two-use token, used once.
        let issued = try Self.json(try Self.call(ip, "POST", "/v1/enrollment-tokens", body: #"{"tenant": "t1", "max_uses": 2}"#))
        let enrollment = try #require(issued["enrollment_token"]?.stringValue)
        let enrolled = try Self.call(ip, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(enrollment)", "public_ip": "203.0.113.7", "lat": 52.37, "lon": 4.9, "location": "Amsterdam"}"#, token: nil)
        #expect(enrolled.status == 201)
        let j = try Self.json(enrolled)
        let node = try #require(j["node_id"]?.stringValue), credential = try #require(j["edge_token"]?.stringValue)
        let domain = try #require(j["domain"]?.stringValue)
        #expect(try RoutingTests.report(ip, node, credential, stream: "live+e").status == 200)
        #expect(try Self.call(ip, "PUT", "/v1/playback/api-id", body: #"{"stream": "live+e", "tenant": "t1"}"#).status == 201)
        #expect(try Self.call(ip, "PUT", "/v1/playback/gone-id", body: #"{"stream": "live+e"}"#).status == 201)
        #expect(try Self.call(ip, "DELETE", "/v1/playback/gone-id").status == 204)
        #expect(try Self.call(ip, "PUT", "/v1/edges/s1/mode", body: #"{"mode": "draining"}"#).status == 200)
        #expect(try Self.call(ip, "PUT", "/v1/weights", body: #"{"cpu": 7, "geo": 11}"#).status == 200)
        #expect(try Self.call(ip, "POST", "/v1/mist/nodes", body: #"{"node": "127.0.0.1:9/40"}"#).status == 201)
        #expect(try Self.play(vp, "file-id", until: 503).status == 503, "s1 drained")
        // The last write's answer, then kill -9: no clean shutdown.
        #expect(try Self.call(ip, "PUT", "/v1/playback/last-id", body: #"{"stream": "live+s"}"#).status == 201)
        Self.kill9(p)

        p = try Self.start(dir)
        defer { Self.stop(p) }
        ip = p.internalPort; vp = p.httpPort
        // The enrolled edge is known (stale until it reports), with its registration.
        let edge = try Self.call(ip, "GET", "/v1/edges/\(node)")
        #expect(edge.status == 200)
        let e = try Self.json(edge)
        #expect(e["state"] == .string("stale"))
        #expect(e["domain"] == .string(domain))
        #expect(e["tenant"] == .string("t1"))
        #expect(e["public_ip"] == .string("203.0.113.7"))
        #expect(e["location"] == .string("Amsterdam"))
        #expect(e["base_url"] == .string("https://\(node).edges.example/"))
        // Its credential still reports, and it routes again.
        #expect(try RoutingTests.report(ip, node, credential, stream: "live+e").status == 200)
        let routed = try Self.play(vp, "api-id", until: 307)
        #expect(routed.status == 307)
        #expect(routed.header("Location")?.hasPrefix("https://\(node).edges.example/") == true)
        #expect(try Self.call(ip, "GET", "/v1/playback/gone-id").status == 404)
        #expect(try Self.call(ip, "GET", "/v1/playback/last-id").status == 200)
        // The drained static edge stays drained.
        #expect(try Self.json(try Self.call(ip, "GET", "/v1/edges/s1"))["mode"] == .string("draining"))
        #expect(try Self.play(vp, "file-id", until: 503).status == 503)
        let w = try Self.json(try Self.call(ip, "GET", "/v1/weights"))
        #expect(w["cpu"] == .int(7))
        #expect(w["geo"] == .int(11))
        #expect(w["ram"] == .int(500))
        #expect(try Self.call(ip, "GET", "/v1/mist/nodes/127.0.0.1:9").status == 200)
        // The token has one use left, not two.
        let second = try Self.call(ip, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(enrollment)", "public_ip": "203.0.113.8"}"#, token: nil)
        #expect(second.status == 201)
        let third = try Self.call(ip, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(enrollment)", "public_ip": "203.0.113.9"}"#, token: nil)
        #expect(third.status == 403)
        #expect(try Self.json(third)["code"] == .string("ENROLLMENT_TOKEN_USED"))
    }

    @Test func withoutAClusterSecretCredentialsOutliveARestart() throws {
        let dir = URL(fileURLWithPath: try ScratchDirectory.make("foghorn-durable-secret"))
        var p = try Self.start(dir, secret: false)
        let (node, credential) = try RoutingTests.enroll(p.internalPort)
        Self.stop(p)
        p = try Self.start(dir, secret: false)
        defer { Self.stop(p) }
        #expect(try RoutingTests.report(p.internalPort, node, credential).status == 200)
        #expect(try RoutingTests.report(p.internalPort, node, "fhc1.\(node).00").status == 401)
    }

    @Test func deletedRegistrationsAndRevokedTokensStayGone() throws {
        let dir = URL(fileURLWithPath: try ScratchDirectory.make("foghorn-durable-delete"))
        var p = try Self.start(dir)
        var ip = p.internalPort
        let (node, credential) = try RoutingTests.enroll(ip)
        #expect(try Self.call(ip, "DELETE", "/v1/edges/\(node)").status == 204)
        #expect(try RoutingTests.report(ip, node, credential).status == 401)
        let issued = try Self.json(try Self.call(ip, "POST", "/v1/enrollment-tokens", body: "{}"))
        let tokenId = try #require(issued["token_id"]?.stringValue)
        let enrollment = try #require(issued["enrollment_token"]?.stringValue)
        #expect(try Self.call(ip, "DELETE", "/v1/enrollment-tokens/\(tokenId)").status == 204)
        #expect(try Self.call(ip, "DELETE", "/v1/enrollment-tokens/nothex").status == 400)
        Self.kill9(p)
        p = try Self.start(dir)
        defer { Self.stop(p) }
        ip = p.internalPort
        #expect(try Self.call(ip, "GET", "/v1/edges/\(node)").status == 404)
        #expect(try RoutingTests.report(ip, node, credential).status == 401)
        let refused = try Self.call(ip, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(enrollment)", "public_ip": "203.0.113.7"}"#, token: nil)
        #expect(refused.status == 403)
        #expect(try Self.json(refused)["code"] == .string("ENROLLMENT_TOKEN_REVOKED"))
    }

    @Test func anEvictedEdgeComesBackOnItsNextReport() throws {
        let dir = URL(fileURLWithPath: try ScratchDirectory.make("foghorn-durable-evict"))
        let p = try Self.start(dir, extra: "edge_stale_after_ms: 1000\nedge_evict_after_ms: 1500")
        defer { Self.stop(p) }
        let ip = p.internalPort, vp = p.httpPort
        let (node, credential) = try RoutingTests.enroll(ip)
        #expect(try RoutingTests.report(ip, node, credential, stream: "live+e").status == 200)
        #expect(try Self.call(ip, "PUT", "/v1/playback/e-id", body: #"{"stream": "live+e"}"#).status == 201)
        #expect(try Self.play(vp, "e-id", until: 307).status == 307)
        // No report: evicted (out of routing and lists) within the sweep after 1.5 s.
        var listed = true
        for _ in 0..<60 where listed {
            usleep(100_000)
            listed = try Self.call(ip, "GET", "/v1/edges/\(node)").status == 200
        }
        #expect(!listed, "evicted")
        #expect(!(try Self.call(ip, "GET", "/v1/edges").bodyText.contains(node)))
        // Its credential brings it back without a new enrollment.
        #expect(try RoutingTests.report(ip, node, credential, stream: "live+e").status == 200)
        #expect(try Self.call(ip, "GET", "/v1/edges/\(node)").status == 200)
        #expect(try Self.play(vp, "e-id", until: 307).status == 307)
    }
}

/// A store that refuses every commit (a full disk, Redis unreachable): each admin write answers
/// 503 `STATE_UNAVAILABLE` and changes nothing.
final class RefusingStore: StateStore, @unchecked Sendable {
    let backend = "sqlite"
    let location = "refusing"
    func load() throws(StateStoreError) -> DurableState { DurableState() }
    func commit(_ mutations: [StateMutation], done: @escaping @Sendable (Result<Void, StateStoreError>) -> Void) {
        DispatchQueue.global().async { done(.failure(StateStoreError(code: "STATE_UNAVAILABLE", message: "disk full"))) }
    }
    func sharedSecret(creatingWith candidate: [UInt8]) throws(StateStoreError) -> [UInt8] { candidate }
    func close() {}
}

@Suite struct StateUnavailableTests {
    static func use(_ store: any StateStore, on server: FoghornServer) {
        let done = DispatchSemaphore(value: 0)
        server.controlLoop.execute {
            try? server.plane.restore(from: store)
            done.signal()
        }
        _ = done.wait(timeout: .now() + 5)
    }

    @Test func writesTheStoreRefusesAnswer503AndChangeNothing() throws {
        let server = try TestServer.start { c in
            c.internalToken = RoutingTests.token
            c.clusterSecret = "s"
            c.clusterSlug = "eu1"
            c.rootDomain = "example.net"
        }
        defer { server.stopNow() }
        let ip = server.internalPort
        let (node, _) = try RoutingTests.enroll(ip)
        let issued = try JSONParser.parse(try DurableStateTests.call(ip, "POST", "/v1/enrollment-tokens", body: "{}").body)
        let enrollment = try #require(issued["enrollment_token"]?.stringValue)
        Self.use(RefusingStore(), on: server)

        func refused(_ r: TestClient.Response) throws {
            #expect(r.status == 503)
            let j = try JSONParser.parse(r.body)
            #expect(j["code"] == .string("STATE_UNAVAILABLE"))
            #expect(j["message"]?.stringValue?.contains("disk full") == true)
        }
        try refused(try DurableStateTests.call(ip, "PUT", "/v1/edges/\(node)/mode", body: #"{"mode": "draining"}"#))
        try refused(try DurableStateTests.call(ip, "PUT", "/v1/playback/p1", body: #"{"stream": "live+s"}"#))
        try refused(try DurableStateTests.call(ip, "PUT", "/v1/weights", body: #"{"cpu": 1}"#))
        try refused(try DurableStateTests.call(ip, "POST", "/v1/mist/nodes", body: #"{"node": "127.0.0.1:9"}"#))
        try refused(try DurableStateTests.call(ip, "DELETE", "/v1/edges/\(node)"))
        try refused(try DurableStateTests.call(ip, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(enrollment)", "public_ip": "203.0.113.8"}"#, token: nil))
        // Nothing changed.
        #expect(try JSONParser.parse(try DurableStateTests.call(ip, "GET", "/v1/edges/\(node)").body)["mode"] == .string("normal"))
        #expect(try DurableStateTests.call(ip, "GET", "/v1/playback/p1").status == 404)
        #expect(try JSONParser.parse(try DurableStateTests.call(ip, "GET", "/v1/weights").body)["cpu"] == .int(500))
        #expect(try DurableStateTests.call(ip, "GET", "/v1/mist/nodes/127.0.0.1:9").status == 404)
        // The store is back: the enrollment token was not spent by the refused enrolment.
        let working = try SQLiteStateStore(path: ":memory:")
        defer { working.close() }
        Self.use(working, on: server)
        let enrolled = try DurableStateTests.call(ip, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(enrollment)", "public_ip": "203.0.113.8"}"#, token: nil)
        #expect(enrolled.status == 201)
        #expect(try DurableStateTests.call(ip, "PUT", "/v1/edges/\(node)/mode", body: #"{"mode": "draining"}"#).status == 200)
    }
}
