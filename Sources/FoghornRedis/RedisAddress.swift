#if canImport(Glibc)
import Glibc
#endif

/// Where Redis is: `redis://[:password@]host[:port][/db]` (default port 6379, database 0). The
/// host is resolved once, when the address is read (hiredis would resolve a name on the loop,
/// blocking it).
public struct RedisAddress: Sendable, Equatable {
    public var host: String
    /// The address connected to (the host resolved).
    public var ip: String
    public var port: Int32
    public var database: Int
    public var password: String?

    /// The address without credentials (logs, `/readyz`).
    public var description: String { "redis://\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    public enum ParseError: Error, Equatable { case invalid(String) }

    public static func parse(_ url: String) throws(ParseError) -> RedisAddress {
        guard url.hasPrefix("redis://") else { throw .invalid("expected redis://host[:port][/db]") }
        var rest = Substring(url.dropFirst("redis://".count))
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let user = rest[..<at]
            password = user.hasPrefix(":") ? String(user.dropFirst()) : String(user)
            rest = rest[rest.index(after: at)...]
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard let d = Int(db), d >= 0, d < 1 << 16 else { throw .invalid("database must be an integer 0...65535") }
                database = d
            }
            rest = rest[..<slash]
        }
        var host = rest
        var port: Int32 = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalid("unclosed [ in the host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int32(after.dropFirst()), p > 0, p < 65536 else { throw .invalid("port must be 1...65535") }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let p = Int32(rest[rest.index(after: colon)...]), p > 0, p < 65536 else { throw .invalid("port must be 1...65535") }
            port = p
        }
        guard !host.isEmpty, host.utf8.count <= 253, host.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw .invalid("missing or invalid host") }
        let name = String(host)
        guard let ip = RedisAddress.resolve(name) else { throw .invalid("cannot resolve \(name)") }
        return RedisAddress(host: name, ip: ip, port: port, database: database, password: password)
    }

    static func resolve(_ host: String) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(first.pointee.ai_addr, first.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else { return nil }
        return String(cString: buffer)
    }
}
