import Foundation
import Testing
import COpenSSL
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting
import FoghornTLS

/// HTTPS on the data loops: certificates made at run time with `openssl`, our own
/// TLS test client (SNI, versions, resumption), hot swap, redirects.
@Suite(.serialized) struct HTTPSTests {
    static let edges = """
        [{"node_id": "e1", "base_url": "https://e1.example/", "lat": 52.37, "lon": 4.9, "cpu_permille": 100,
          "ram_used_bytes": 1000, "ram_max_bytes": 8000, "up_bytes_per_sec": 0, "bw_limit_bytes_per_sec": 125000000,
          "outputs": {"HLS": "http://HOST/hls/$/index.m3u8"}, "streams": {"live+s": {"inputs": 1, "viewers": 1}}}]
        """

    struct Setup {
        let dir: String
        let ca: String
        let a: (String, String)
        let b: (String, String)
    }

    static func setup() throws -> Setup {
        let dir = try TestCertificates.tempDir()
        let ca = try TestCertificates.ca(in: dir)
        let a = try TestCertificates.leaf("a", names: ["*.a.example.net", "a.example.net"], in: dir)
        let b = try TestCertificates.leaf("b", names: ["foghorn.b.example.org"], rsa: true, in: dir)
        return Setup(dir: dir, ca: ca, a: a, b: b)
    }

    static func start(_ s: Setup, _ configure: (inout FoghornConfiguration) -> Void = { _ in }) throws -> FoghornServer {
        try TestServer.start { c in
            c.httpsListen = ListenAddress(host: "127.0.0.1", port: 0)
            c.tlsCertificates = [TLSFilePair(cert: s.a.0, key: s.a.1), TLSFilePair(cert: s.b.0, key: s.b.1)]
            c.tlsCheckIntervalS = 1
            c.edges = try! JSONParser.parse(edges).arrayValue!
            c.playback = [.object([("id", .string("pk")), ("stream", .string("live+s"))])]
            configure(&c)
        }
    }

    static func metric(_ server: FoghornServer, _ line: String) throws -> Int {
        let client = try TestClient(port: server.internalPort)
        try client.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        let text = try client.readResponse().bodyText
        for l in text.split(separator: "\n") where l.hasPrefix(line + " ") { return Int(Double(l.dropFirst(line.count + 1)) ?? -1) }
        return 0
    }

    @Test func playOverHTTPSWithSNIAndALPN() throws {
        let s = try Self.setup()
        let server = try Self.start(s)
        defer { server.stopNow() }
        let client = try TLSTestClient(port: server.httpsPort, serverName: "foghorn.a.example.net", caFile: s.ca)
        #expect(client.peerNames == ["*.a.example.net", "a.example.net"])
        #expect(client.alpn == "http/1.1")
        #expect(client.version == "TLSv1.3")
        let r = try client.request("GET /play/pk/hls/index.m3u8 HTTP/1.1\r\nHost: foghorn.a.example.net\r\n\r\n")
        #expect(r.status == 307)
        // The viewer used HTTPS, so the edge URL is upgraded to https.
        #expect(r.header("Location") == "https://e1.example/hls/pk/index.m3u8")
        // Keep-alive over TLS: a second request on the same connection.
        #expect(try client.request("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").status == 404)
        let again = try client.request("GET /play/pk/hls/index.m3u8 HTTP/1.1\r\nHost: foghorn.a.example.net\r\n\r\n")
        #expect(again.status == 307)
        // SNI picks the RSA certificate for its exact name; no SNI (or an unknown name) gets the default.
        #expect(try TLSTestClient(port: server.httpsPort, serverName: "foghorn.b.example.org", caFile: s.ca).peerNames == ["foghorn.b.example.org"])
        #expect(try TLSTestClient(port: server.httpsPort, serverName: nil, caFile: nil).peerNames == ["*.a.example.net", "a.example.net"])
        #expect(try TLSTestClient(port: server.httpsPort, serverName: "other.example.com", caFile: nil).peerNames.first == "*.a.example.net")
        // A wildcard covers one label only.
        #expect(try TLSTestClient(port: server.httpsPort, serverName: "x.y.a.example.net", caFile: nil).peerNames.first == "*.a.example.net")
        // TLS 1.2 still works; 1.1 and 1.0 are refused.
        #expect(try TLSTestClient(port: server.httpsPort, serverName: "a.example.net", caFile: s.ca, maxVersion: TLS1_2_VERSION).version == "TLSv1.2")
        #expect(throws: TLSTestClient.Failure.self) { try TLSTestClient(port: server.httpsPort, serverName: "a.example.net", caFile: nil, maxVersion: TLS1_1_VERSION) }
        #expect(throws: TLSTestClient.Failure.self) { try TLSTestClient(port: server.httpsPort, serverName: "a.example.net", caFile: nil, maxVersion: TLS1_VERSION) }
        #expect(try Self.metric(server, "foghorn_tls_handshakes_total{result=\"failed\"}") >= 2)
        #expect(try Self.metric(server, "foghorn_tls_handshakes_total{result=\"completed\"}") >= 6)
        let expiry = try Self.metric(server, "foghorn_tls_certificate_expiry_seconds{certificate=\"\(s.a.0)\"}")
        let now = Int(Date().timeIntervalSince1970)
        #expect(expiry > now && expiry <= now + 2 * 86_400)
    }

    @Test func sessionsResumeAcrossConnectionsAndLoops() throws {
        let s = try Self.setup()
        let server = try Self.start(s)
        defer { server.stopNow() }
        for maxVersion in [Int32(0), TLS1_2_VERSION] {
            let first = try TLSTestClient(port: server.httpsPort, serverName: "a.example.net", caFile: s.ca, maxVersion: maxVersion)
            #expect(!first.reused)
            _ = try first.request("GET /play/pk/hls/index.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n")  // TLS 1.3 tickets arrive with data
            let session = try #require(first.session)
            defer { SSL_SESSION_free(session) }
            // Several connections: with two loops, some land on the other loop (shared context and keys).
            for _ in 0..<4 {
                let next = try TLSTestClient(port: server.httpsPort, serverName: "a.example.net", caFile: s.ca, maxVersion: maxVersion, session: session)
                #expect(next.reused, "version \(maxVersion) \(next.version)")
                #expect(try next.request("GET /play/pk/hls/index.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n").status == 307)
            }
        }
        #expect(try Self.metric(server, "foghorn_tls_handshakes_total{result=\"resumed\"}") == 8)

        // Ticket key rotation: one rotation keeps the previous key (still resumes), two drop it.
        let first = try TLSTestClient(port: server.httpsPort, serverName: "a.example.net", caFile: s.ca)
        _ = try first.request("GET /play/pk/hls/index.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n")
        let session = try #require(first.session)
        defer { SSL_SESSION_free(session) }
        #expect(TLSServerContext.rotateTicketKeys())
        #expect(try TLSTestClient(port: server.httpsPort, serverName: "a.example.net", caFile: s.ca, session: session).reused)
        #expect(TLSServerContext.rotateTicketKeys())
        #expect(try !TLSTestClient(port: server.httpsPort, serverName: "a.example.net", caFile: s.ca, session: session).reused)
    }

    @Test func certificatesSwapWithoutFailedRequestsAndBadFilesAreRefused() throws {
        let s = try Self.setup()
        let server = try Self.start(s)
        defer { server.stopNow() }
        // Load: new connections in a loop while the certificate is replaced.
        let failures = LockedCounter(), successes = LockedCounter(), stop = LockedCounter()
        let port = server.httpsPort
        let worker = Thread {
            while stop.value == 0 {
                do {
                    let c = try TLSTestClient(port: port, serverName: "a.example.net", caFile: nil)
                    let r = try c.request("GET /play/pk/hls/index.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n")
                    if r.status == 307 { successes.add() } else { failures.add() }
                } catch {
                    failures.add()
                }
            }
        }
        worker.start()
        usleep(200_000)
        // Renewal: a new certificate for more names, written over the old files.
        let renewed = try TestCertificates.leaf("a-renewed", names: ["*.a.example.net", "renewed.example.net"], in: s.dir)
        try FileManager.default.removeItem(atPath: s.a.0)
        try FileManager.default.removeItem(atPath: s.a.1)
        try FileManager.default.copyItem(atPath: renewed.0, toPath: s.a.0)
        try FileManager.default.copyItem(atPath: renewed.1, toPath: s.a.1)
        var swapped = false
        for _ in 0..<150 where !swapped {
            usleep(20_000)
            swapped = (try? TLSTestClient(port: port, serverName: "a.example.net", caFile: nil).peerNames.contains("renewed.example.net")) ?? false
        }
        usleep(200_000)
        stop.add()
        while !worker.isFinished { usleep(10_000) }
        #expect(swapped)
        #expect(failures.value == 0)
        #expect(successes.value > 10)
        #expect(try Self.metric(server, "foghorn_tls_reloads_total{result=\"applied\"}") >= 1)

        // A broken file: refused, counted, the current certificate stays.
        try "not a certificate".write(toFile: s.a.0, atomically: true, encoding: .utf8)
        var refused = false
        for _ in 0..<150 where !refused {
            usleep(20_000)
            refused = try Self.metric(server, "foghorn_tls_reloads_total{result=\"failed\"}") >= 1
        }
        #expect(refused)
        #expect(try TLSTestClient(port: port, serverName: "a.example.net", caFile: s.ca).peerNames.contains("renewed.example.net"))
    }

    @Test func handshakeDeadlineClosesSilentConnections() throws {
        let s = try Self.setup()
        let server = try Self.start(s) { $0.tlsHandshakeTimeoutMs = 300 }
        defer { server.stopNow() }
        let silent = try TestClient(port: server.httpsPort)
        let started = Date()
        #expect(try silent.waitForClose(timeoutMs: 3000))
        #expect(Date().timeIntervalSince(started) < 2)
        // Plain HTTP bytes on the HTTPS port are not a ClientHello: closed.
        let plain = try TestClient(port: server.httpsPort)
        try plain.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try plain.waitForClose(timeoutMs: 3000))
        #expect(try Self.metric(server, "foghorn_tls_handshakes_total{result=\"failed\"}") == 2)
    }

    @Test func httpRedirectsToHTTPS() throws {
        let s = try Self.setup()
        let server = try Self.start(s) { $0.httpRedirectToHttps = true }
        defer { server.stopNow() }
        let client = try TestClient(port: server.httpPort)
        try client.send("GET /play/pk/hls/index.m3u8?token=1 HTTP/1.1\r\nHost: foghorn.a.example.net:8080\r\n\r\n")
        let r = try client.readResponse()
        #expect(r.status == 301)
        #expect(r.header("Location") == "https://foghorn.a.example.net:\(server.httpsPort)/play/pk/hls/index.m3u8?token=1")
        try client.send("POST /x HTTP/1.1\r\nHost: [::1]\r\nContent-Length: 0\r\n\r\n")
        let post = try client.readResponse()
        #expect(post.status == 308)
        #expect(post.header("Location") == "https://[::1]:\(server.httpsPort)/x")
        try client.send("GET / HTTP/1.0\r\n\r\n")
        #expect(try client.readResponse().status == 400)
    }
}

/// A counter shared with a worker thread.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
