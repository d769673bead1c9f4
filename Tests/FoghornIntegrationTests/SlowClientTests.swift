import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornTesting

/// Slow clients (slowloris) cannot hold the server: every trickling connection is answered 408
/// and closed at the header deadline, while well-behaved clients keep being served.
@Suite(.serialized) struct SlowClientTests {
    @Test func trickledHeadsAreCutAtTheDeadlineWhileOthersAreServed() throws {
        let server = try TestServer.start { c in
            c.headerTimeoutMs = 600
            c.loops = 1
        }
        defer { server.stopNow() }
        let port = server.httpPort
        // 200 connections that start a request and then send one header byte every 100 ms.
        var slow: [TestClient] = []
        for _ in 0..<200 {
            let c = try TestClient(port: port)
            try c.send("GET /play/x/hls HTTP/1.1\r\nHost: x\r\n")
            slow.append(c)
        }
        let started = TestClient.nowMs()
        var served = 0
        while TestClient.nowMs() - started < 500 {
            for c in slow { try? c.send("X") }
            // A well-behaved client in the middle of the attack.
            let r = try TestClient.get(port: server.internalPort, "/livez")
            if r.status == 200 { served += 1 }
            let v = try TestClient.get(port: port, "/play/unknown/hls")
            if v.status == 404 { served += 1 }
            usleep(100_000)
        }
        #expect(served >= 8)
        // All slow connections get a 408 and are closed shortly after the deadline.
        var timedOut = 0
        for c in slow {
            if let r = try? c.readResponse(timeoutMs: 2000), r.status == 408 { timedOut += 1 }
            #expect(try c.waitForClose(timeoutMs: 2000))
        }
        #expect(timedOut == 200)
        let elapsed = TestClient.nowMs() - started
        #expect(elapsed < 4000, "took \(elapsed) ms")
        let metrics = try TestClient.get(port: server.internalPort, "/metrics").bodyText
        #expect(metrics.contains(#"foghorn_http_parse_errors_total{listener="viewer",reason="request_timeout"} 200"#))
    }
}
