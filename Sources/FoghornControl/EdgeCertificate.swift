public import FoghornConfig
import FoghornTLS
#if canImport(Glibc)
import Glibc
#endif

/// `tls.edge_certificate`: the cluster's wildcard certificate and key, handed to every edge in
/// its enrolment answer so it can serve HTTPS for `edge-<node>.<slug>.<root_domain>`. Loaded
/// (and checked: the key matches, the PEM parses) at start and on SIGHUP; a bad file fails the
/// start or keeps the previous one.
///
/// Whoever enrols holds the key of the whole wildcard: hand it out only where every tenant's
/// edge may speak for every edge name (docs/EDGES.md, "Certificates").
public struct EdgeCertificate: Sendable, Equatable {
    public var certificatePEM: String
    public var privateKeyPEM: String
    /// DNS names the certificate covers (subject alternative names).
    public var names: [String]
    public var notAfterUnix: Int64

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func load(_ pair: TLSFilePair) throws(LoadError) -> EdgeCertificate {
        let info: TLSCertificateInfo
        do {
            let context = try TLSServerContext(pairs: [(pair.cert, pair.key)])
            guard let first = context.certificates.first else { throw LoadError(description: "no certificate in \(pair.cert)") }
            info = first
        } catch let e as LoadError {
            throw e
        } catch {
            throw LoadError(description: "tls.edge_certificate: \(error)")
        }
        let cert = try read(pair.cert), key = try read(pair.key)
        return EdgeCertificate(certificatePEM: cert, privateKeyPEM: key, names: info.names, notAfterUnix: info.notAfterUnix)
    }

    static func read(_ path: String) throws(LoadError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LoadError(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while bytes.count <= 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw LoadError(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        guard bytes.count <= 1 << 20 else { throw LoadError(description: "\(path) is larger than 1 MiB") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
