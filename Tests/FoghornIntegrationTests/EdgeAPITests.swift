import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// The public edge listener (`edge_listen`): what it serves, its bounds and rate limits at their
/// edges, and the onboarding answers (enrolment's defaults, a report's warnings).
@Suite struct EdgeAPITests {
    static func start(_ configure: (inout FoghornConfiguration) -> Void = { _ in }) throws -> FoghornServer {
        try RoutingTests.start { c in
            c.edgeListen = ListenAddress(host: "127.0.0.1", port: 0)
            c.edgeAPI.plaintext = true
            c.edgeAPI.publicUrl = "https://foghorn.eu1.example.net:18444"
            configure(&c)
        }
    }

    static func token(_ server: FoghornServer, maxUses: Int = 1, tenant: String = "") throws -> String {
        let issued = try RoutingTests.call(server.internalPort, "POST", "/v1/enrollment-tokens", body: #"{"tenant": "\#(tenant)", "max_uses": \#(maxUses)}"#)
        #expect(issued.status == 201)
        return try JSONParser.parse(issued.body)["enrollment_token"]!.stringValue!
    }

    @Test func enrolmentAnswersEverythingAnEdgeNeedsAndTheDefaultBaseURLRoutes() throws {
        let server = try Self.start { $0.edgeAPI.reportIntervalS = 7 }
        defer { server.stopNow() }
        let token = try Self.token(server)
        // No public_ip: the address the request came from.
        let r = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(token)"}"#, token: nil)
        #expect(r.status == 201, "\(r.bodyText)")
        let j = try JSONParser.parse(r.body)
        let node = try #require(j["node_id"]?.stringValue)
        #expect(j["domain"] == .string("edge-\(node).eu1.example.net"))
        #expect(j["base_url"] == .string("https://edge-\(node).eu1.example.net/"))
        #expect(j["report_url"] == .string("https://foghorn.eu1.example.net:18444/v1/edges/\(node)/report"))
        #expect(j["report_interval_s"] == .int(7))
        #expect(j["public_ip"] == .string("127.0.0.1"))
        #expect(j["tls"] == nil)
        let credential = try #require(j["edge_token"]?.stringValue)

        // A report without limits: 200, and the answer says what keeps it out of routing.
        let bare = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/\(node)/report",
                                         body: #"{"cpu_permille": 100, "streams": {"live+s": {"inputs": 1}}}"#, token: credential)
        #expect(bare.status == 200, "\(bare.bodyText)")
        let answer = try JSONParser.parse(bare.body)
        #expect(answer["state"] == .string("no_metrics"))
        #expect(answer["routable"] == .bool(false))
        #expect(answer["warnings"] == .array([
            .string("no_metrics: ram_max_bytes missing (report the host's total RAM in bytes)"),
            .string("no_metrics: bw_limit_bytes_per_sec missing (report the uplink's capacity in bytes/s)"),
        ]))
        #expect(answer["notes"]?.arrayValue?.contains(.string("no_position: no lat/lon: the geo term scores this edge 0 (report lat and lon, or MistServer's loc)")) == true)
        // /debug/edges carries the same lines.
        let edge = try JSONParser.parse(RoutingTests.call(server.internalPort, "GET", "/v1/edges/\(node)").body)
        #expect(edge["warnings"] == answer["warnings"])
        #expect(edge["base_url"] == .string("https://edge-\(node).eu1.example.net/"))

        // With the two limits: routable, and a viewer goes to the assigned domain — no base_url reported.
        let full = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/\(node)/report", body: """
            {"cpu_permille": 100, "ram_max_bytes": 8000, "ram_used_bytes": 1000, "bw_limit_bytes_per_sec": 125000000,
             "streams": {"live+s": {"inputs": 1}}}
            """, token: credential)
        #expect(full.status == 200)
        #expect(try JSONParser.parse(full.body)["warnings"] == .array([]))
        #expect(try JSONParser.parse(full.body)["state"] == .string("routable"))
        #expect(try RoutingTests.call(server.internalPort, "PUT", "/v1/playback/pe", body: #"{"stream": "live+s"}"#).status == 201)
        RoutingTests.settle()
        let play = try RoutingTests.call(server.httpPort, "GET", "/play/pe/hls/index.m3u8", token: nil)
        #expect(play.status == 307, "\(play.bodyText)")
        #expect(play.header("Location") == "https://edge-\(node).eu1.example.net/hls/pe/index.m3u8")
    }

    @Test func theEdgeListenerServesOnlyEnrolmentReportsAndLiveness() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        #expect(try RoutingTests.call(server.edgePort, "GET", "/livez", token: nil).status == 200)
        for path in ["/v1/edges", "/debug/edges", "/metrics", "/v1/enrollment-tokens", "/v1/playback/x", "/debug/config"] {
            let r = try RoutingTests.call(server.edgePort, "GET", path)
            #expect(r.status == 404 || r.status == 405, "\(path): \(r.status)")
            #expect(r.header("Content-Type") == "application/json", "\(path)")
        }
        // Admin routes are not there even with the admin token.
        let mint = try RoutingTests.call(server.edgePort, "POST", "/v1/enrollment-tokens", body: "{}")
        #expect(mint.status == 404 || mint.status == 405)
        let mode = try RoutingTests.call(server.edgePort, "PUT", "/v1/edges/abc/mode", body: #"{"mode": "draining"}"#)
        #expect(mode.status == 404 || mode.status == 405)
        #expect(try JSONParser.parse(mode.body)["code"] != nil)
    }

    @Test func bodiesAreBoundedAtMaxBodyBytes() throws {
        let server = try Self.start { $0.edgeAPI.maxBodyBytes = 1024 }
        defer { server.stopNow() }
        func enroll(_ size: Int) throws -> TestClient.Response {
            let prefix = #"{"enrollment_token": "x", "location": ""#, suffix = #""}"#
            let body = prefix + String(repeating: "a", count: size - prefix.utf8.count - suffix.utf8.count) + suffix
            #expect(body.utf8.count == size)
            return try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: body, token: nil)
        }
        let atLimit = try enroll(1024)
        #expect(atLimit.status == 400, "\(atLimit.bodyText)")  // read whole: the location is too long
        #expect(try JSONParser.parse(atLimit.body)["code"] == .string("INVALID_FIELD"))
        let over = try enroll(1025)
        #expect(over.status == 413)
        #expect(try JSONParser.parse(over.body)["code"] != nil)
    }

    @Test func eachAddressGetsItsBurstThenRetryAfter() throws {
        let server = try Self.start { c in
            c.edgeAPI.addressBurst = 5
            c.edgeAPI.addressPerMinute = 60
        }
        defer { server.stopNow() }
        // Five forged enrolments are answered (401), the sixth is refused before it is read.
        for i in 0..<5 {
            let r = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "fhe1.e30.AAAA"}"#, token: nil)
            #expect(r.status == 401, "request \(i): \(r.bodyText)")
        }
        let limited = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "fhe1.e30.AAAA"}"#, token: nil)
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") == "1")
        let j = try JSONParser.parse(limited.body)
        #expect(j["code"] == .string("RATE_LIMITED"))
        #expect(j["message"]?.stringValue?.contains("from this address") == true)
        // The internal listener has no such limit (operators, private edges).
        #expect(try RoutingTests.call(server.internalPort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "fhe1.e30.AAAA"}"#, token: nil).status == 401)
        // A second later one token is back.
        usleep(1_050_000)
        #expect(try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "fhe1.e30.AAAA"}"#, token: nil).status == 401)
        #expect(try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "fhe1.e30.AAAA"}"#, token: nil).status == 429)
        let metrics = try RoutingTests.call(server.internalPort, "GET", "/metrics").bodyText
        #expect(metrics.contains("foghorn_edge_api_rate_limited_total{limit=\"address\"} 2"))
    }

    @Test func eachCredentialGetsItsBurstAndForgedReportsDoNotSpendIt() throws {
        let server = try Self.start { c in
            c.edgeAPI.credentialBurst = 3
            c.edgeAPI.credentialPerMinute = 1
        }
        defer { server.stopNow() }
        let token = try Self.token(server, maxUses: 2)
        let enrolled = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(token)"}"#, token: nil)
        let j = try JSONParser.parse(enrolled.body)
        let node = j["node_id"]!.stringValue!, credential = j["edge_token"]!.stringValue!
        // Someone else's reports for this node: refused, and they spend nothing of the edge's budget.
        for _ in 0..<6 {
            #expect(try RoutingTests.call(server.edgePort, "POST", "/v1/edges/\(node)/report", body: "{}", token: "forged").status == 401)
        }
        for i in 0..<3 {
            #expect(try RoutingTests.call(server.edgePort, "POST", "/v1/edges/\(node)/report", body: "{}", token: credential).status == 200, "report \(i)")
        }
        let limited = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/\(node)/report", body: "{}", token: credential)
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") == "60")
        #expect(try JSONParser.parse(limited.body)["message"]?.stringValue?.contains("with this credential") == true)
        // Another edge's budget is its own; the token's second use is its own budget too.
        let second = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(token)"}"#, token: nil)
        #expect(second.status == 201)
        let other = try JSONParser.parse(second.body)
        #expect(try RoutingTests.call(server.edgePort, "POST", "/v1/edges/\(other["node_id"]!.stringValue!)/report", body: "{}",
                                      token: other["edge_token"]!.stringValue!).status == 200)
    }

    @Test func anEnrolmentCanNameItsBaseURLAndRefusesABadOne() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let token = try Self.token(server, maxUses: 2)
        let bad = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(token)", "base_url": "ftp://x/"}"#, token: nil)
        #expect(bad.status == 400)
        #expect(try JSONParser.parse(bad.body)["field"] == .string("base_url"))
        let badIP = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(token)", "public_ip": "nope"}"#, token: nil)
        #expect(badIP.status == 400)
        #expect(try JSONParser.parse(badIP.body)["field"] == .string("public_ip"))
        // Neither spent a use: two enrolments still go through.
        for _ in 0..<2 {
            let ok = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(token)", "base_url": "https://cdn.example/"}"#, token: nil)
            #expect(ok.status == 201)
            #expect(try JSONParser.parse(ok.body)["base_url"] == .string("https://cdn.example/"))
        }
        #expect(try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(token)"}"#, token: nil).status == 403)
    }

    @Test func theClustersEdgeCertificateIsHandedToEnrollingEdges() throws {
        let dir = try TestCertificates.tempDir()
        let (cert, key) = try TestCertificates.leaf("wildcard", names: ["*.eu1.example.net"], in: dir)
        let server = try Self.start { $0.tlsEdgeCertificate = TLSFilePair(cert: cert, key: key) }
        defer { server.stopNow() }
        let token = try Self.token(server)
        let r = try RoutingTests.call(server.edgePort, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(token)"}"#, token: nil)
        #expect(r.status == 201)
        let tls = try #require(try JSONParser.parse(r.body)["tls"])
        #expect(tls["certificate_pem"] == .string(try String(contentsOfFile: cert, encoding: .utf8)))
        #expect(tls["private_key_pem"] == .string(try String(contentsOfFile: key, encoding: .utf8)))
        #expect(tls["names"] == .array([.string("*.eu1.example.net")]))
        #expect((tls["not_after"]?.intValue ?? 0) > Int64(Date().timeIntervalSince1970))
        // A key that does not match its certificate fails the start, saying which setting.
        let (other, _) = try TestCertificates.leaf("other", names: ["x.eu1.example.net"], in: dir)
        #expect(throws: (any Error).self) { try Self.start { $0.tlsEdgeCertificate = TLSFilePair(cert: other, key: key) } }
        do {
            _ = try Self.start { $0.tlsEdgeCertificate = TLSFilePair(cert: other, key: key) }
        } catch {
            #expect("\(error)".contains("tls.edge_certificate"), "\(error)")
        }
    }

    @Test func theEdgeListenerNeedsCertificatesUnlessToldItIsBehindATLSProxy() throws {
        var c = FoghornConfiguration()
        c.edgeListen = ListenAddress(host: "0.0.0.0", port: 18444)
        #expect(throws: ConfigError.self) { try ConfigLoader.validate(c) }
        do {
            try ConfigLoader.validate(c)
        } catch {
            #expect(error.key == "edge_listen")
            #expect(error.problem.contains("needs tls.certificates"))
        }
        c.edgeAPI.plaintext = true
        try ConfigLoader.validate(c)
        c.edgeListen = c.internalListen
        #expect(throws: ConfigError.self) { try ConfigLoader.validate(c) }
    }
}
