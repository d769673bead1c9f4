import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TLS client for tests (OpenSSL over a loopback socket): SNI,
/// protocol bounds, session resumption, the peer certificate's names.
public final class TLSTestClient {
    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private let fd: Int32
    private let ctx: OpaquePointer
    private let ssl: OpaquePointer

    /// Connects and completes the handshake (throws when it fails).
    public init(port: UInt16, host: String = "127.0.0.1", serverName: String?, caFile: String?,
                maxVersion: Int32 = 0, session: OpaquePointer? = nil, timeoutMs: Int = 5000, prefix: [UInt8] = []) throws {
        let fd = try TestClient.connectedSocket(host: host, port: port)
        self.fd = fd
        // Bytes before the handshake (a PROXY protocol header).
        if !prefix.isEmpty { _ = prefix.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let ctx = SSL_CTX_new(TLS_client_method())!
        self.ctx = ctx
        if maxVersion != 0 {
            SSL_CTX_set_security_level(ctx, 0)
            _ = foghorn_ssl_ctx_set_min_proto_version(ctx, TLS1_VERSION)
        }
        if let caFile {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            SSL_CTX_load_verify_locations(ctx, caFile, nil)
        }
        let ssl = SSL_new(ctx)!
        self.ssl = ssl
        if maxVersion != 0 { _ = foghorn_ssl_set_max_proto_version(ssl, maxVersion) }
        if let serverName { _ = foghorn_ssl_set_tlsext_host_name(ssl, serverName) }
        _ = foghorn_ssl_set_alpn_http11(ssl)
        if let session { SSL_set_session(ssl, session) }
        SSL_set_fd(ssl, fd)
        if SSL_connect(ssl) != 1 {
            var text = [CChar](repeating: 0, count: 256)
            foghorn_ssl_error_text(&text, 256)
            // deinit frees ssl, ctx and fd (all properties are set).
            throw Failure(message: "handshake failed: \(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
    }

    deinit {
        // A clean close_notify: OpenSSL marks a session not resumable when its SSL is freed without one.
        if SSL_is_init_finished(ssl) == 1 { _ = SSL_shutdown(ssl) }
        SSL_free(ssl)
        SSL_CTX_free(ctx)
        close(fd)
    }

    public var reused: Bool { foghorn_ssl_session_reused(ssl) == 1 }
    public var version: String { String(cString: SSL_get_version(ssl)) }
    public var alpn: String? {
        var data: UnsafePointer<UInt8>?
        var len: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &len)
        guard let data, len > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(len)), as: UTF8.self)
    }

    /// DNS names of the certificate the server presented.
    public var peerNames: [String] {
        guard let x = SSL_get1_peer_certificate(ssl) else { return [] }
        defer { X509_free(x) }
        var text = [CChar](repeating: 0, count: 4096)
        _ = foghorn_x509_dns_names(x, &text, 4096)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The session for resumption (after a response was read, so TLS 1.3 tickets arrived).
    public var session: OpaquePointer? { SSL_get1_session(ssl) }

    /// Sends one request and reads one response (Content-Length framed).
    public func request(_ text: String) throws -> TestClient.Response {
        let bytes = Array(text.utf8)
        guard SSL_write(ssl, bytes, Int32(bytes.count)) == Int32(bytes.count) else { throw Failure(message: "write failed") }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            if let r = TLSTestClient.parse(received) { return r }
            let n = SSL_read(ssl, &chunk, Int32(chunk.count))
            if n <= 0 { throw Failure(message: "connection ended before a complete response (\(received.count) bytes)") }
            received.append(contentsOf: chunk[0..<Int(n)])
        }
    }

    static func parse(_ bytes: [UInt8]) -> TestClient.Response? {
        guard let end = bytes.indices.dropLast(3).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }) else { return nil }
        let head = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1]) ?? 0
        var headers: [(String, String)] = []
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let length = Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
        guard bytes.count >= end + 4 + length else { return nil }
        return TestClient.Response(status: status, headers: headers, body: Array(bytes[(end + 4)..<(end + 4 + length)]))
    }
}

/// Test certificates made at run time with the `openssl` command: a CA and leaf certificates.
public enum TestCertificates {
    /// Creates a CA in `dir` (ca.pem, ca.key) unless present.
    public static func ca(in dir: String) throws -> String {
        if FileManager.default.fileExists(atPath: dir + "/ca.pem") { return dir + "/ca.pem" }
        try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir + "/ca.key",
                 "-out", dir + "/ca.pem", "-days", "2", "-subj", "/CN=Foghorn Test CA"])
        return dir + "/ca.pem"
    }

    /// A leaf for `names` signed by the CA of `dir`: returns (cert path, key path).
    public static func leaf(_ base: String, names: [String], rsa: Bool = false, in dir: String) throws -> (String, String) {
        _ = try ca(in: dir)
        let key = "\(dir)/\(base).key", csr = "\(dir)/\(base).csr", cert = "\(dir)/\(base).pem", ext = "\(dir)/\(base).ext"
        let newkey = rsa ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        try run(["req"] + newkey + ["-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=\(names[0])"])
        let isIP = { (n: String) in n.split(separator: ".").count == 4 && n.split(separator: ".").allSatisfy { $0.allSatisfy(\.isNumber) } }
        try ("subjectAltName=" + names.map { isIP($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",") + "\n").write(toFile: ext, atomically: true, encoding: .utf8)
        try run(["x509", "-req", "-in", csr, "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key", "-CAcreateserial", "-out", cert,
                 "-days", "1", "-extfile", ext])
        return (cert, key)
    }

    public static func tempDir() throws -> String {
        try ScratchDirectory.make("foghorn-tls")
    }

    static func run(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TLSTestClient.Failure(message: "openssl \(args.joined(separator: " ")) failed") }
    }
}
