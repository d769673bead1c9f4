import FoghornOps
import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// `internal_auth`: what the admin token guards on the internal listener.
@Suite(.serialized) struct InternalAuthTests {
    @Test func autoMeansAllUnlessTheListenerIsLoopback() {
        var c = FoghornConfiguration()
        for (host, auth) in [("127.0.0.1", InternalAuth.mutations), ("127.8.9.10", .mutations), ("::1", .mutations), ("0.0.0.0", .all), ("10.0.0.5", .all), ("::", .all)] {
            c.internalListen = ListenAddress(host: host, port: 18009)
            c.internalAuth = "auto"
            #expect(c.effectiveInternalAuth == auth, "\(host)")
            c.internalAuth = "mutations"
            #expect(c.effectiveInternalAuth == .mutations)
            c.internalAuth = "all"
            #expect(c.effectiveInternalAuth == .all)
        }
        c.internalAuth = "auto"
        c.internalListen = ListenAddress(host: "0.0.0.0", port: 18009)
        c.internalToken = ""
        #expect(c.warnings.count == 1 && c.warnings[0].contains("no internal_token is set"))
        c.internalToken = "t"
        #expect(c.warnings.isEmpty)
        c.internalAuth = "mutations"
        #expect(c.warnings.count == 1 && c.warnings[0].contains("reads (edges, debug, metrics) need no token"))
        c.internalListen = ListenAddress(host: "127.0.0.1", port: 18009)
        #expect(c.warnings.isEmpty)
    }

    /// With `all`: every read but the probes needs the token; enrolment and reports keep their
    /// own credentials; the token opens everything.
    @Test func allGuardsReadsButNotProbesEnrolmentOrReports() throws {
        let server = try RoutingTests.start { c in c.internalAuth = "all" }
        defer { server.stopNow() }
        let ip = server.internalPort
        for path in ["/v1/edges", "/v1/edges/abc", "/debug/edges", "/debug/snapshot", "/debug/config", "/debug/score?playback=x",
                     "/metrics", "/v1/weights", "/v1/playback/x", "/nodes/overview", "/debug/peers"] {
            let r = try RoutingTests.call(ip, "GET", path, token: nil)
            #expect(r.status == 401, "\(path)")
            #expect(r.header("WWW-Authenticate") == "Bearer")
            #expect(try JSONParser.parse(r.body)["code"] == .string("UNAUTHORIZED"))
            #expect(try RoutingTests.call(ip, "GET", path, token: "wrong").status == 401, "\(path)")
            #expect(try RoutingTests.call(ip, "GET", path).status != 401, "\(path) with the token")
        }
        for path in ["/livez", "/readyz", "/health", "/v1/version"] {
            #expect(try RoutingTests.call(ip, "GET", path, token: nil).status == 200, "\(path)")
        }
        // Enrolment with an enrollment token, a report with the edge's own token: no admin token needed.
        let (a, token) = try RoutingTests.enroll(ip)
        #expect(try RoutingTests.report(ip, a, token).status == 200)
        // But the edge's token does not open reads.
        #expect(try RoutingTests.call(ip, "GET", "/v1/edges/\(a)", token: token).status == 401)
    }

    @Test func allWithoutATokenRefusesReadsWith403() throws {
        let server = try TestServer.start { c in c.internalAuth = "all" }
        defer { server.stopNow() }
        let r = try TestClient.get(port: server.internalPort, "/debug/edges")
        #expect(r.status == 403)
        #expect(try JSONParser.parse(r.body)["code"] == .string("ADMIN_TOKEN_NOT_CONFIGURED"))
        #expect(try TestClient.get(port: server.internalPort, "/livez").status == 200)
    }

    /// On loopback the default stays `mutations`: reads open (what every earlier test relies on).
    @Test func loopbackDefaultLeavesReadsOpen() throws {
        let server = try RoutingTests.start()
        defer { server.stopNow() }
        #expect(try RoutingTests.call(server.internalPort, "GET", "/debug/edges", token: nil).status == 200)
        let verbose = try JSONParser.parse(try TestClient.get(port: server.internalPort, "/readyz?verbose").body)
        #expect(verbose["warnings"] == .array([]))
        server.readiness.warn("something to fix")
        let again = try JSONParser.parse(try TestClient.get(port: server.internalPort, "/readyz?verbose").body)
        #expect(again["warnings"] == .array([.string("something to fix")]))
        #expect(again["ready"] == .bool(true))
    }
}
