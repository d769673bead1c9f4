import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornTesting

/// PROXY protocol on the viewer listeners behind an L4 balancer: the header's source address is
/// the viewer (geo), only from `proxy_protocol_from`, before HTTP and before TLS.
@Suite struct ProxyProtocolListenerTests {
    static func start(from: [String], tls: (String, String)? = nil) throws -> FoghornServer {
        try RoutingTests.start { c in
            c.geoipDb = RoutingTests.geoFixture
            c.proxyProtocolFrom = from
            if let tls {
                c.tlsCertificates = [TLSFilePair(cert: tls.0, key: tls.1)]
                c.httpsListen = ListenAddress(host: "127.0.0.1", port: 0)
            }
        }
    }

    static func v2(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> [UInt8] {
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C,
         a, b, c, d, 127, 0, 0, 1, 0xC8, 0x22, 0x01, 0xBB]
    }

    static func play(_ port: UInt16, header: [UInt8]) throws -> TestClient.Response {
        let client = try TestClient(port: port)
        try client.send(header + Array("GET /play/pk/hls HTTP/1.1\r\nHost: t\r\n\r\n".utf8))
        return try client.readResponse()
    }

    @Test func theHeadersSourceIsTheViewer() throws {
        let server = try Self.start(from: ["127.0.0.0/8"])
        defer { server.stopNow() }
        let (london, seattle) = try RoutingTests.londonAndSeattle(server.internalPort)
        // 81.2.69.142 is London, 216.160.83.56 Milton, WA (fixtures/geo/cities.csv).
        let v1 = try Self.play(server.httpPort, header: Array("PROXY TCP4 81.2.69.142 127.0.0.1 51234 18008\r\n".utf8))
        #expect(v1.status == 307)
        #expect(v1.header("X-Foghorn-Edge") == london)
        let v2 = try Self.play(server.httpPort, header: Self.v2(216, 160, 83, 56))
        #expect(v2.header("X-Foghorn-Edge") == seattle)
        // The header arriving a byte at a time.
        let slow = try TestClient(port: server.httpPort)
        for byte in Array("PROXY TCP4 81.2.69.142 127.0.0.1 51234 18008\r\n".utf8) { try slow.send([byte]) }
        try slow.send("GET /play/pk/hls HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try slow.readResponse().header("X-Foghorn-Edge") == london)
        // A balancer health check (LOCAL, UNKNOWN): the connection's own address, answered.
        let local: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00]
        let health = try TestClient(port: server.httpPort)
        try health.send(local + Array("GET /livez HTTP/1.1\r\nHost: t\r\n\r\n".utf8))
        #expect(try health.readResponse().status == 200)
        // No header, or a broken one: closed unanswered.
        for bad in [Array("GET /play/pk/hls HTTP/1.1\r\nHost: t\r\n\r\n".utf8), Array("PROXY TCP4 999.2.69.142 127.0.0.1 1 2\r\n".utf8)] {
            let c = try TestClient(port: server.httpPort)
            try c.send(bad)
            #expect(try c.waitForClose(timeoutMs: 2000))
        }
        let metrics = try RoutingTests.call(server.internalPort, "GET", "/metrics").bodyText
        #expect(metrics.contains(#"foghorn_proxy_protocol_rejected_total{listener="viewer",reason="malformed"} 2"#), "\(metrics.split(separator: "\n").filter { $0.contains("proxy") })")
    }

    @Test func onlyTheBalancersMaySpeakIt() throws {
        let server = try Self.start(from: ["10.0.0.0/8"])
        defer { server.stopNow() }
        let c = try TestClient(port: server.httpPort)
        try c.send(Array("PROXY TCP4 81.2.69.142 127.0.0.1 51234 18008\r\nGET /livez HTTP/1.1\r\nHost: t\r\n\r\n".utf8))
        #expect(try c.waitForClose(timeoutMs: 2000))
        let metrics = try RoutingTests.call(server.internalPort, "GET", "/metrics").bodyText
        #expect(metrics.contains(#"foghorn_proxy_protocol_rejected_total{listener="viewer",reason="untrusted_source"} 1"#))
        // The internal listener is not a viewer listener: no PROXY header there.
        #expect(try RoutingTests.call(server.internalPort, "GET", "/livez").status == 200)
    }

    @Test func theHeaderComesBeforeTLS() throws {
        let dir = try TestCertificates.tempDir()
        let ca = try TestCertificates.ca(in: dir)
        let cert = try TestCertificates.leaf("pp", names: ["127.0.0.1"], in: dir)
        let server = try Self.start(from: ["127.0.0.0/8"], tls: cert)
        defer { server.stopNow() }
        let (_, seattle) = try RoutingTests.londonAndSeattle(server.internalPort)
        let client = try TLSTestClient(port: server.httpsPort, serverName: nil, caFile: ca, prefix: Self.v2(216, 160, 83, 56))
        let r = try client.request("GET /play/pk/hls HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(r.status == 307)
        #expect(r.header("X-Foghorn-Edge") == seattle)
    }
}
