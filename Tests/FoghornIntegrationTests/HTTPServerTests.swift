import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// The real server on 127.0.0.1 with real sockets.
@Suite(.serialized) struct HTTPServerTests {
    @Test func opsEndpointsAnswer() throws {
        let server = try TestServer.start()
        defer { server.stopNow() }
        let port = server.internalPort
        let live = try TestClient.get(port: port, "/livez")
        #expect(live.status == 200)
        #expect(live.bodyText == "ok\n")
        let ready = try TestClient.get(port: port, "/readyz")
        #expect(ready.status == 200)
        let verbose = try TestClient.get(port: port, "/readyz?verbose")
        #expect(verbose.header("Content-Type") == "application/json")
        let checks = try JSONParser.parse(verbose.body)
        #expect(checks["ready"] == .bool(true))
        #expect(try TestClient.get(port: port, "/health").status == 200)
        let version = try JSONParser.parse(try TestClient.get(port: port, "/v1/version").body)
        #expect(version["version"] == .string(FoghornVersion.string))
        let metrics = try TestClient.get(port: port, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(metrics.bodyText.contains(#"foghorn_http_requests_total{listener="internal",route="livez",status="2xx"} 1"#))
        #expect(metrics.bodyText.contains(#"foghorn_http_requests_total{listener="internal",route="readyz",status="2xx"} 2"#))
        #expect(metrics.bodyText.contains("foghorn_ready 1"))
    }

    @Test func errorsAreJSONWithSpecificCodes() throws {
        let server = try TestServer.start()
        defer { server.stopNow() }
        let notFound = try TestClient.get(port: server.httpPort, "/nope")
        #expect(notFound.status == 404)
        #expect(notFound.header("Content-Type") == "application/json")
        #expect(notFound.bodyText == #"{"error":"not_found","message":"no route for this path","code":"NOT_FOUND"}"#)
        let client = try TestClient(port: server.internalPort)
        try client.send("DELETE /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try client.readResponse()
        #expect(r.status == 405)
        #expect(r.header("Allow") == "GET, HEAD")
        #expect(try JSONParser.parse(r.body)["code"] == .string("METHOD_NOT_ALLOWED"))
    }

    @Test func keepAliveServesManyRequestsOnOneConnection() throws {
        let server = try TestServer.start()
        defer { server.stopNow() }
        let client = try TestClient(port: server.internalPort)
        for _ in 0..<5 {
            try client.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try client.readResponse()
            #expect(r.status == 200)
            #expect(r.header("Connection") == nil)
        }
        try client.send("HEAD /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try client.readResponse(headRequest: true)
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "3")
        try client.send("GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let last = try client.readResponse()
        #expect(last.header("Connection") == "close")
        #expect(try client.waitForClose(timeoutMs: 2000))
    }

    @Test func pipelinedRequestsAnswerInOrder() throws {
        let server = try TestServer.start()
        defer { server.stopNow() }
        let client = try TestClient(port: server.internalPort)
        let paths = (0..<16).map { ["/livez", "/v1/version", "/readyz", "/missing-\($0)"][$0 % 4] }
        try client.send(paths.map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
        for (i, path) in paths.enumerated() {
            let r = try client.readResponse()
            switch i % 4 {
            case 0: #expect(r.bodyText == "ok\n", "\(i) \(path)")
            case 1: #expect(r.bodyText.contains("\"version\""), "\(i) \(path)")
            case 2: #expect(r.bodyText == "ready\n", "\(i) \(path)")
            default: #expect(r.status == 404, "\(i) \(path)")
            }
        }
        // 40 in one write (more than one batch of 16) still all answer, in order.
        try client.send((0..<40).map { "GET \($0 % 2 == 0 ? "/livez" : "/nope") HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
        for i in 0..<40 {
            #expect(try client.readResponse().status == (i % 2 == 0 ? 200 : 404))
        }
    }

    @Test func http10ClosesUnlessKeepAlive() throws {
        let server = try TestServer.start()
        defer { server.stopNow() }
        let plain = try TestClient(port: server.internalPort)
        try plain.send("GET /livez HTTP/1.0\r\n\r\n")
        let r = try plain.readResponse()
        #expect(r.status == 200)
        #expect(r.header("Connection") == "close")
        #expect(try plain.waitForClose(timeoutMs: 2000))

        let kept = try TestClient(port: server.internalPort)
        try kept.send("GET /livez HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().header("Connection") == nil)
        try kept.send("GET /livez HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().status == 200)
    }

    @Test func headerDeadlineIsAbsoluteFromTheFirstByte() throws {
        let server = try TestServer.start { $0.headerTimeoutMs = 400 }
        defer { server.stopNow() }
        let client = try TestClient(port: server.httpPort)
        let start = TestClient.nowMs()
        try client.send("GET / HTTP/1.1\r\n")
        // Keep trickling: an inactivity timer would never fire.
        for i in 0..<4 {
            try? client.send("X-\(i): a\r\n")
            usleepMs(120)
        }
        let r = try client.readResponse(timeoutMs: 3000)
        let elapsed = TestClient.nowMs() - start
        #expect(r.status == 408)
        #expect(try JSONParser.parse(r.body)["code"] == .string("REQUEST_TIMEOUT"))
        #expect(r.header("Connection") == "close")
        #expect(elapsed >= 380 && elapsed < 1400, "elapsed \(elapsed) ms")
        #expect(try client.waitForClose(timeoutMs: 2000))
    }

    @Test func idleKeepAliveConnectionsAreClosed() throws {
        let server = try TestServer.start { $0.idleTimeoutMs = 300 }
        defer { server.stopNow() }
        let client = try TestClient(port: server.internalPort)
        try client.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        let start = TestClient.nowMs()
        #expect(try client.waitForClose(timeoutMs: 3000))
        let elapsed = TestClient.nowMs() - start
        #expect(elapsed >= 250 && elapsed < 1300, "elapsed \(elapsed) ms")
        // A connection that never sends anything is idle too.
        let silent = try TestClient(port: server.httpPort)
        #expect(try silent.waitForClose(timeoutMs: 3000))
    }

    @Test func limitsAnswerOverTheWireAndClose() throws {
        let server = try TestServer.start()
        defer { server.stopNow() }
        let cases: [(String, Int, String)] = [
            ("GET /" + String(repeating: "a", count: 8200) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URI_TOO_LONG"),
            ("GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 17000) + "\r\n\r\n", 431, "HEADERS_TOO_LARGE"),
            ("GET / HTTP/1.1\r\nHost: x\r\n" + (0..<65).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431, "TOO_MANY_HEADERS"),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "CONTENT_LENGTH_WITH_TRANSFER_ENCODING"),
            ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "HTTP2_PREFACE"),
            ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "VERSION_NOT_SUPPORTED"),
            ("GET /\r\n", 400, "HTTP09_NOT_SUPPORTED"),
            // The viewer listener reads bodies up to a WHEP offer's 64 KiB; one byte more is refused.
            ("POST /play/x/whep HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\nx", 413, "PAYLOAD_TOO_LARGE"),
        ]
        for (request, status, code) in cases {
            let client = try TestClient(port: server.httpPort)
            try? client.send(request)
            let r = try client.readResponse()
            #expect(r.status == status, "\(code)")
            #expect(r.header("Connection") == "close")
            let body = try JSONParser.parse(r.body)
            #expect(body["code"] == .string(code))
            #expect(body["error"] == .string(code.lowercased()))
            #expect(body["message"]?.stringValue?.isEmpty == false)
            #expect(try client.waitForClose(timeoutMs: 3000), "\(code) left the connection open")
        }
        // The internal listener takes bodies up to max_body_bytes (route decides; here 404).
        let client = try TestClient(port: server.internalPort)
        try client.send("POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        #expect(try client.readResponse().status == 404)
        let metrics = try TestClient.get(port: server.internalPort, "/metrics").bodyText
        #expect(metrics.contains(#"foghorn_http_parse_errors_total{listener="viewer",reason="uri_too_long"} 1"#))
        #expect(metrics.contains(#"foghorn_http_parse_errors_total{listener="viewer",reason="http2_preface"} 1"#))
    }

    @Test func bodyArrivingInPiecesWithExpectContinue() throws {
        let server = try TestServer.start()
        defer { server.stopNow() }
        let client = try TestClient(port: server.internalPort)
        try client.send("PUT /nope HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
        let cont = try client.readResponse()
        #expect(cont.status == 100)
        try client.send("01234")
        usleepMs(50)
        try client.send("56789")
        #expect(try client.readResponse().status == 404)
    }

    @Test func connectionCapStopsAcceptingAndResumes() throws {
        let server = try TestServer.start { $0.maxConnectionsPerLoop = 2 }
        defer { server.stopNow() }
        let port = server.internalPort  // one control loop: the cap is exact
        let a = try TestClient(port: port)
        let b = try TestClient(port: port)
        for c in [a, b] {
            try c.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try c.readResponse().status == 200)
        }
        let third = try TestClient(port: port)  // completes in the kernel backlog
        try third.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try third.staysSilent(forMs: 400), "served beyond the cap")
        a.close()
        let r = try third.readResponse(timeoutMs: 2000)
        #expect(r.status == 200)
    }
}

func usleepMs(_ ms: Int) {
    var ts = timespecFor(ms: ms)
    _ = nanosleepWrapper(&ts)
}
