import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// `POST /-/reload`: what SIGHUP does, for sidecar config reloaders — answered with the outcome.
@Suite struct HTTPReloadTests {
    @Test func reloadOverHTTPAnswersWithTheOutcome() throws {
        var start = FoghornConfiguration()
        let server = try TestServer.start { c in
            c = ReloadKeyClassTests.base(c)
            start = c
        }
        defer { server.stopNow() }
        let ip = server.internalPort
        // No source yet (an embedded server): nothing to reload.
        let none = try RoutingTests.call(ip, "POST", "/-/reload", token: "tok")
        #expect(none.status == 422)
        #expect(try JSONParser.parse(none.body)["code"] == .string("RELOAD_REFUSED"))
        // The admin token is required.
        #expect(try RoutingTests.call(ip, "POST", "/-/reload", token: nil).status == 401)
        #expect(try RoutingTests.call(ip, "POST", "/-/reload", token: "wrong").status == 401)
        #expect(try RoutingTests.call(ip, "GET", "/-/reload", token: "tok").status == 405)

        let started = start
        server.reloadSource = { _ in
            var n = started
            n.redirectStatus = 302
            n.maxHeaders = 10  // restart-only
            n.statePath = ":memory:"  // as TestServer started it
            return n
        }
        let ok = try RoutingTests.call(ip, "POST", "/-/reload", token: "tok")
        #expect(ok.status == 200, "\(ok.bodyText)")
        let j = try JSONParser.parse(ok.body)
        #expect(j["applied"] == .bool(true))
        #expect(j["restart_required"] == .array([.string("max_headers")]))
        // Applied before the answer: the viewer loops redirect with 302 now.
        usleep(50_000)
        #expect(try TestClient.get(port: server.httpPort, "/play/a/hls/index.m3u8").status == 302)

        server.reloadSource = { _ in throw ConfigError(key: "loops", problem: "expected an integer", source: "file") }
        let bad = try RoutingTests.call(ip, "POST", "/-/reload", token: "tok")
        #expect(bad.status == 422)
        let b = try JSONParser.parse(bad.body)
        #expect(b["code"] == .string("RELOAD_REFUSED"))
        #expect(b["message"]?.stringValue?.contains("loops: expected an integer") == true)
        #expect(try TestClient.get(port: server.httpPort, "/play/a/hls/index.m3u8").status == 302)  // the running configuration stays
    }
}
