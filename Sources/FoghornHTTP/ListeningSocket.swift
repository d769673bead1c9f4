import CFoghornShims
#if canImport(Glibc)
import Glibc
#endif

/// A bound (not yet listening) TCP socket, created on any thread so bind errors
/// surface synchronously at start-up; a loop adopts it with ``HTTPListener``.
public struct ListeningSocket: Sendable {
    public let fd: Int32
    public let host: String
    public let port: UInt16

    public struct BindError: Error, CustomStringConvertible {
        public let address: String
        public let errno: Int32
        public var description: String {
            "cannot bind \(address): \(String(cString: strerror(errno)))"
        }
    }

    /// Binds `host:port` (port 0 picks a free port). `reusePort` sets `SO_REUSEPORT`
    /// so several loops can each own a socket on the same port.
    public static func bind(host: String, port: UInt16, reusePort: Bool) throws(BindError) -> ListeningSocket {
        let rc = foghorn_bind_tcp_socket(host, port, reusePort ? 1 : 0)
        if rc < 0 { throw BindError(address: HostPort.format(host: host, port: port), errno: -rc) }
        let actual = foghorn_socket_local_port(rc)
        return ListeningSocket(fd: rc, host: host, port: actual > 0 ? UInt16(actual) : port)
    }

    /// Closes a socket that was never adopted by a loop.
    public func closeUnused() { _ = Glibc.close(fd) }
}

/// `host:port` text, with IPv6 literals bracketed.
public enum HostPort {
    public static func format(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
