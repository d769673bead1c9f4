import COpenSSL
import FoghornSync
#if canImport(Glibc)
import Glibc
#endif

/// One loaded certificate/key pair.
public struct TLSCertificateInfo: Sendable, Equatable {
    public var certPath: String
    public var keyPath: String
    /// DNS names it serves (subjectAltName, else CN); `*.x.y` wildcards included.
    public var names: [String]
    /// notAfter, Unix seconds.
    public var notAfterUnix: Int64
    /// "RSA", "EC", …
    public var keyType: String
}

/// Everything a TLS listener needs, immutable once built: one `SSL_CTX` per
/// certificate (the first is the default), an SNI table choosing among them by
/// exact name then one-label wildcard, TLS 1.2+ only, ALPN `http/1.1`,
/// session tickets and a session cache shared by every data loop (an
/// `SSL_CTX` is safe to share for `SSL_new`). A reload builds a new one; SSL
/// objects keep their context alive, and the SNI table is kept for two
/// minutes after retirement (handshakes in flight still read it).
public final class TLSServerContext: @unchecked Sendable {
    public let certificates: [TLSCertificateInfo]
    let contexts: [OpaquePointer]
    private let table: UnsafeMutablePointer<foghorn_sni_table>
    private let names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let ctxArray: UnsafeMutablePointer<OpaquePointer?>
    private let nameCount: Int

    /// Loads `pairs` (PEM chain file, PEM key file). Throws naming the file that failed.
    public init(pairs: [(cert: String, key: String)]) throws(TLSError) {
        guard !pairs.isEmpty else { throw TLSError(file: "", problem: "no certificate configured") }
        var contexts: [OpaquePointer] = []
        var infos: [TLSCertificateInfo] = []
        func cleanup() { for c in contexts { SSL_CTX_free(c) } }
        for (cert, key) in pairs {
            guard let ctx = SSL_CTX_new(TLS_server_method()) else {
                cleanup()
                throw TLSError(file: cert, problem: "SSL_CTX_new failed: \(TLSServerContext.lastError())")
            }
            contexts.append(ctx)
            _ = foghorn_ssl_ctx_set_min_proto_version(ctx, TLS1_2_VERSION)
            foghorn_ssl_ctx_set_server_options(ctx)
            _ = "foghorn".withCString { SSL_CTX_set_session_id_context(ctx, UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), 7) }
            foghorn_ssl_ctx_set_alpn_http11(ctx)
            foghorn_ssl_ctx_use_ticket_ring(ctx)
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else {
                let e = TLSServerContext.lastError()
                cleanup()
                throw TLSError(file: cert, problem: "cannot load certificate chain: \(e)")
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                let e = TLSServerContext.lastError()
                cleanup()
                throw TLSError(file: key, problem: "cannot load private key: \(e)")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                ERR_clear_error()
                cleanup()
                throw TLSError(file: key, problem: "private key does not match the certificate \(cert)")
            }
            guard let x509 = SSL_CTX_get0_certificate(ctx) else {
                cleanup()
                throw TLSError(file: cert, problem: "no certificate in file")
            }
            var text = [CChar](repeating: 0, count: 8192)
            _ = foghorn_x509_dns_names(x509, &text, Int32(text.count))
            let list = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .split(separator: "\n").map { String($0).lowercased() }
            var keyType = "unknown"
            if let pkey = SSL_CTX_get0_privatekey(ctx) {
                switch EVP_PKEY_get_base_id(pkey) {
                case EVP_PKEY_RSA: keyType = "RSA"
                case EVP_PKEY_EC: keyType = "EC"
                case EVP_PKEY_ED25519: keyType = "Ed25519"
                default: break
                }
            }
            infos.append(TLSCertificateInfo(certPath: cert, keyPath: key, names: list, notAfterUnix: foghorn_x509_not_after_unix(x509), keyType: keyType))
        }
        // SNI table: every (name, ctx), exact names first in file order.
        var entries: [(String, OpaquePointer)] = []
        for (i, info) in infos.enumerated() { for n in info.names { entries.append((n, contexts[i])) } }
        nameCount = entries.count
        names = .allocate(capacity: max(entries.count, 1))
        ctxArray = .allocate(capacity: max(entries.count, 1))
        for (i, (name, ctx)) in entries.enumerated() {
            names[i] = strdup(name)
            ctxArray[i] = ctx
        }
        table = .allocate(capacity: 1)
        table.pointee = foghorn_sni_table(count: Int32(entries.count), names: names, ctxs: ctxArray)
        for ctx in contexts { foghorn_ssl_ctx_set_sni_table(ctx, table) }
        self.contexts = contexts
        certificates = infos
    }

    deinit {
        for c in contexts { SSL_CTX_free(c) }
        // The table may still be read by a handshake on an SSL that outlives us: free it later.
        TLSServerContext.retire(table: table, names: names, ctxArray: ctxArray, count: nameCount)
    }

    /// Starts encrypting new session tickets with a fresh key; tickets under the previous
    /// key still resume (and are renewed), older ones fall back to a full handshake.
    /// Process-wide (every context shares the ring); safe from any thread.
    @discardableResult
    public static func rotateTicketKeys() -> Bool { foghorn_ticket_keys_rotate() == 1 }

    /// The default context (first certificate).
    var defaultContext: OpaquePointer { contexts[0] }

    /// The certificate a client naming `host` gets (as the SNI callback chooses).
    public func certificate(for host: String) -> TLSCertificateInfo {
        let h = host.lowercased()
        if let i = certificates.firstIndex(where: { $0.names.contains(h) }) { return certificates[i] }
        if let dot = h.firstIndex(of: "."), dot != h.startIndex {
            let suffix = "*" + h[dot...]
            if let i = certificates.firstIndex(where: { $0.names.contains(suffix) }) { return certificates[i] }
        }
        return certificates[0]
    }

    static func lastError() -> String {
        var text = [CChar](repeating: 0, count: 256)
        foghorn_ssl_error_text(&text, 256)
        let s = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.isEmpty ? "unknown error" : s
    }

    private struct Retired: @unchecked Sendable {
        var table: UnsafeMutablePointer<foghorn_sni_table>
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
        var ctxArray: UnsafeMutablePointer<OpaquePointer?>
        var count: Int
        var atSeconds: Int
    }
    private static let retired = Locked<[Retired]>([])

    private static func retire(table: UnsafeMutablePointer<foghorn_sni_table>, names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                               ctxArray: UnsafeMutablePointer<OpaquePointer?>, count: Int) {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = Int(ts.tv_sec)
        let expired = retired.withLock { list -> [Retired] in
            list.append(Retired(table: table, names: names, ctxArray: ctxArray, count: count, atSeconds: now))
            let old = list.filter { now - $0.atSeconds > 120 }
            list.removeAll { now - $0.atSeconds > 120 }
            return old
        }
        for r in expired {
            for i in 0..<r.count { free(r.names[i]) }
            r.names.deallocate()
            r.ctxArray.deallocate()
            r.table.deallocate()
        }
    }
}
