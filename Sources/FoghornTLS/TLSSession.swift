import COpenSSL
import FoghornSync

/// One TLS connection driven through memory BIOs: the owner feeds ciphertext
/// it read from the socket, takes plaintext out, puts plaintext in, and
/// writes the ciphertext that results — all on its own loop, no extra threads.
///
///     session.feed(bytesFromSocket)
///     switch session.handshake() { case .done: …; case .wantMore: …; case .failed(let why): … }
///     let n = session.read(into: scratch)      // plaintext, 0 = need more, -1 = closed
///     session.write(response)                  // then session.takeCiphertext(…) → socket
public final class TLSSession {
    public enum HandshakeResult: Equatable, Sendable {
        case done
        case wantMore
        case failed(String)
    }

    private let ssl: OpaquePointer
    private let rbio: OpaquePointer
    private let wbio: OpaquePointer
    public private(set) var handshakeDone = false
    /// Retains the server context while the connection lives (the SNI table).
    private let serverContext: TLSServerContext?

    /// A new `SSL` for `ctx` reading and writing through a pair of memory BIOs (owned by it).
    private static func makeSSL(_ ctx: OpaquePointer) -> (ssl: OpaquePointer, rbio: OpaquePointer, wbio: OpaquePointer)? {
        guard let s = SSL_new(ctx) else { return nil }
        guard let r = BIO_new(BIO_s_mem()) else { SSL_free(s); return nil }
        guard let w = BIO_new(BIO_s_mem()) else { BIO_free(r); SSL_free(s); return nil }
        SSL_set_bio(s, r, w)
        return (s, r, w)
    }

    /// A server-side session for `context`.
    public init?(server context: TLSServerContext) {
        guard let (s, r, w) = TLSSession.makeSSL(context.defaultContext) else { return nil }
        ssl = s
        rbio = r
        wbio = w
        serverContext = context
        SSL_set_accept_state(s)
    }

    /// A client-side session (resolver over HTTPS, tests): verifies the peer against the
    /// system trust store (or `caFile`) and `host` unless `verify` is false.
    public init?(client host: String, caFile: String? = nil, verify: Bool = true) {
        guard let ctx = TLSSession.clientContext(caFile: caFile, verify: verify), let (s, r, w) = TLSSession.makeSSL(ctx) else { return nil }
        ssl = s
        rbio = r
        wbio = w
        serverContext = nil
        SSL_set_connect_state(s)
        let isIP = host.contains(":") || host.split(separator: ".").allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        if !isIP { _ = foghorn_ssl_set_tlsext_host_name(s, host) }  // no SNI for IP literals (RFC 6066)
        _ = foghorn_ssl_set_alpn_http11(s)
        if verify {
            if isIP {
                _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), host)
            } else {
                _ = SSL_set1_host(s, host)
            }
        }
    }

    deinit { SSL_free(ssl) }  // frees both BIOs

    /// Ciphertext from the socket.
    public func feed(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let n = BIO_write(rbio, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
            if n <= 0 { return }
            offset += Int(n)
        }
    }

    /// Advances the handshake with what was fed.
    public func handshake() -> HandshakeResult {
        if handshakeDone { return .done }
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            handshakeDone = true
            return .done
        }
        let e = SSL_get_error(ssl, rc)
        if e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE { return .wantMore }
        return .failed(TLSServerContext.lastError())
    }

    /// Plaintext into `buffer`: bytes read, 0 when more ciphertext is needed, -1 when the
    /// peer closed (close_notify) or the connection failed.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        let e = SSL_get_error(ssl, n)
        if e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE { return 0 }
        ERR_clear_error()
        return -1
    }

    /// Encrypts all of `plaintext` (memory BIOs never block). False on a TLS error.
    @discardableResult
    public func write(_ plaintext: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < plaintext.count {
            let n = SSL_write(ssl, plaintext.baseAddress! + offset, Int32(min(plaintext.count - offset, 1 << 30)))
            if n <= 0 {
                ERR_clear_error()
                return false
            }
            offset += Int(n)
        }
        return true
    }

    /// Ciphertext waiting to be sent.
    public var pendingCiphertext: Int { Int(BIO_ctrl_pending(wbio)) }

    /// Whether decrypted or undecrypted input is still buffered (read more before waiting on the socket).
    public var hasBufferedInput: Bool { SSL_pending(ssl) > 0 || BIO_ctrl_pending(rbio) > 0 }

    /// Moves pending ciphertext into `out` (up to its capacity); returns the byte count.
    public func takeCiphertext(into out: UnsafeMutableRawBufferPointer) -> Int {
        let n = BIO_read(wbio, out.baseAddress, Int32(min(out.count, Int(Int32.max))))
        return n > 0 ? Int(n) : 0
    }

    /// Queues a close_notify alert (take the ciphertext afterwards).
    public func shutdown() { _ = SSL_shutdown(ssl) }

    public var sessionReused: Bool { foghorn_ssl_session_reused(ssl) == 1 }

    /// "TLSv1.3", "TLSv1.2".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The SNI name the client sent, if any.
    public var serverName: String? {
        guard let p = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: p)
    }

    public var alpn: String? {
        var data: UnsafePointer<UInt8>?
        var len: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &len)
        guard let data, len > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(len)), as: UTF8.self)
    }

    // MARK: Client contexts (one per CA file / verify flag, shared)

    private static let clientContexts = Locked<[String: ClientContext]>([:])

    static func clientContext(caFile: String?, verify: Bool) -> OpaquePointer? {
        let key = "\(caFile ?? "")|\(verify)"
        return clientContexts.withLock { contexts -> OpaquePointer? in
            if let c = contexts[key] { return c.ctx }
            guard let ctx = SSL_CTX_new(TLS_client_method()) else { return nil }
            _ = foghorn_ssl_ctx_set_min_proto_version(ctx, TLS1_2_VERSION)
            if verify {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
                if let caFile {
                    guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                        SSL_CTX_free(ctx)
                        return nil
                    }
                } else {
                    SSL_CTX_set_default_verify_paths(ctx)
                }
            }
            contexts[key] = ClientContext(ctx: ctx)
            return ctx
        }
    }
}

/// A client `SSL_CTX` kept for the process's lifetime (shared by every client session).
private struct ClientContext: @unchecked Sendable {
    let ctx: OpaquePointer
}
