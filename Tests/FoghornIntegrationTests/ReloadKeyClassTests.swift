import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornControl
import FoghornJSON
import FoghornSync
import FoghornTesting

/// SIGHUP and each class of key (``ConfigKeys/reloadClasses``): live viewer settings, live
/// listener settings, restart-only keys (kept running and reported), keys partly live.
@Suite(.serialized) struct ReloadKeyClassTests {
    static func base(_ c: FoghornConfiguration) -> FoghornConfiguration {
        var n = ReloadOffLoopTests.config(playback: ["a"])
        n.httpListen = c.httpListen
        n.internalListen = c.internalListen
        n.loops = 2
        n.internalToken = "tok"
        return n
    }

    /// Reloads `server` with `change` applied to its start configuration; waits (bounded) until applied.
    static func reload(_ server: FoghornServer, _ start: FoghornConfiguration, _ change: @escaping @Sendable (inout FoghornConfiguration) -> Void) throws {
        let before = try FederationTests.metric(server, #"foghorn_config_reloads_total{result="applied"}"#)
        server.reloadSource = { _ in
            var n = start
            change(&n)
            return n
        }
        server.requestReload()
        var applied = before
        for _ in 0..<300 where applied == before {
            usleep(10_000)
            applied = try FederationTests.metric(server, #"foghorn_config_reloads_total{result="applied"}"#)
        }
        #expect(applied == before + 1)
        usleep(50_000)  // the loops take their settings from their mailboxes
    }

    @Test func viewerSettingsAreLive() throws {
        var start = FoghornConfiguration()
        let server = try TestServer.start { c in c = Self.base(c); start = c }
        defer { server.stopNow() }
        let vp = server.httpPort
        let before = try TestClient.get(port: vp, "/play/a/hls/index.m3u8")
        #expect(before.status == 307 && before.header("Location") == "https://e1.example/hls/a/index.m3u8")
        let started = start
        try Self.reload(server, started) { n in
            n.redirectStatus = 302
            n.urlStreamName = "internal"
        }
        // Each loop takes its settings from its mailbox (bounded wait for both).
        var taken = 0
        for _ in 0..<100 where taken < 8 {
            taken = try TestClient.get(port: vp, "/play/a/hls/index.m3u8").status == 302 ? taken + 1 : 0
            if taken < 8 { usleep(taken == 0 ? 20_000 : 0) }
        }
        for _ in 0..<4 {  // both loops
            let after = try TestClient.get(port: vp, "/play/a/hls/index.m3u8")
            #expect(after.status == 302)
            #expect(after.header("Location") == "https://e1.example/hls/live+s/index.m3u8")
        }
        let config = try JSONParser.parse(try RoutingTests.call(server.internalPort, "GET", "/debug/config").body)
        #expect(config["redirect_status"] == .int(302))
    }

    @Test func listenerSettingsAreLive() throws {
        var start = FoghornConfiguration()
        let server = try TestServer.start { c in c = Self.base(c); start = c }
        defer { server.stopNow() }
        let vp = server.httpPort, ip = server.internalPort
        let started = start
        try Self.reload(server, started) { n in n.idleTimeoutMs = 200 }
        // An idle keep-alive connection on each listener is now closed after ~200 ms (default 60 s).
        for port in [vp, ip] {
            let client = try TestClient(port: port)
            try client.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            let t0 = TestClient.nowMs()
            #expect(try client.waitForClose(timeoutMs: 3000), "port \(port)")
            #expect(TestClient.nowMs() - t0 < 2000)
        }
    }

    @Test func restartOnlyKeysKeepTheirRunningValuesAndAreReported() throws {
        var start = FoghornConfiguration()
        start.internalToken = "tok"
        start.maxHeaders = 100
        let running = start
        var new = start
        new.internalToken = "other"
        new.maxHeaders = 50
        new.stickyBand = 7
        new.mistPassphrase = "changed"
        let (restart, taken) = ControlPlane.takeOver(new, running: running)
        #expect(restart.sorted() == ["internal_token", "max_headers", "mist.passphrase"])
        #expect(taken.internalToken == "tok" && taken.maxHeaders == 100 && taken.mistPassphrase == running.mistPassphrase)
        #expect(taken.stickyBand == 7)  // live
        // Through a server: the old token still opens, the new one does not.
        let server = try TestServer.start { c in c = Self.base(c); start = c }
        defer { server.stopNow() }
        let s2 = start
        try Self.reload(server, s2) { n in n.internalToken = "other" }
        #expect(try RoutingTests.call(server.internalPort, "PUT", "/v1/weights", body: #"{"cpu": 400}"#, token: "tok").status == 200)
        #expect(try RoutingTests.call(server.internalPort, "PUT", "/v1/weights", body: #"{"cpu": 400}"#, token: "other").status == 401)
    }

    /// Every key has a class, and OPERATIONS says which keys a reload takes.
    @Test func everyKeyDeclaresHowItReloads() throws {
        let live = ConfigKeys.all.filter { $0.reload.isLive }.map(\.name)
        #expect(Set(live).isSuperset(of: ["sticky_band", "redirect_status", "url_stream_name", "write_timeout_ms", "linger_ms",
                                          "max_connections_per_loop", "max_pipelined_requests", "edges", "playback", "geoip_db"]))
        #expect(!live.contains("internal_token") && !live.contains("max_headers") && !live.contains("http_listen"))
        let doc = OperationsDocTests.operations
        let section = doc.components(separatedBy: "## Reload (SIGHUP)").dropFirst().first ?? ""
        for name in live { #expect(section.contains("`\(name)`"), "OPERATIONS Reload section lacks live key \(name)") }
    }
}
