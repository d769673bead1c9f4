/// `http(s)://host[:port][/base]` of the upstream playback resolver.
public struct ResolverAddress: Sendable, Equatable {
    public var host: String
    public var port: UInt16
    public var basePath: String
    public var tls = false

    public init(host: String, port: UInt16, basePath: String, tls: Bool = false) {
        self.host = host
        self.port = port
        self.basePath = basePath
        self.tls = tls
    }

    public static func parse(_ url: String) -> ResolverAddress? {
        let tls = url.hasPrefix("https://")
        guard tls || url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(tls ? 8 : 7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var base = String(rest[slash...])
        while base.hasSuffix("/") { base.removeLast() }
        var host = authority
        var port: UInt16 = tls ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty { guard after.hasPrefix(":"), let p = UInt16(after.dropFirst()) else { return nil }; port = p }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = UInt16(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, port > 0 else { return nil }
        return ResolverAddress(host: String(host), port: port, basePath: base, tls: tls)
    }
}
