public import FoghornHTTPCore
public import FoghornModel

/// Settings of the viewer endpoint, from the configuration.
public struct ViewerSettings: Sendable {
    public var resolver: ClientAddressResolver
    /// `["*"]` or exact origins.
    public var allowedOrigins: [String]
    public var redirectStatus: HTTPStatus
    public var useInternalStreamName: Bool
    public var stickyBand: UInt64
    public var shipIntervalMs: UInt64 = 50
    /// `edge_scheme`: the scheme of edge URLs handed to viewers.
    public var edgeScheme: EdgeScheme = .template
    /// Access log: how much of the client address, and whether query strings, are kept.
    public var logClientIP: LogClientIP = .full
    public var logQuery = true

    public init(resolver: ClientAddressResolver, allowedOrigins: [String], redirectStatus: HTTPStatus, useInternalStreamName: Bool, stickyBand: UInt64) {
        self.resolver = resolver
        self.allowedOrigins = allowedOrigins
        self.redirectStatus = redirectStatus
        self.useInternalStreamName = useInternalStreamName
        self.stickyBand = stickyBand
    }

    public var allowsAnyOrigin: Bool { allowedOrigins.contains("*") }

    /// Headers on every viewer-listener answer (parse errors and 404s included).
    public var commonHeaders: [UInt8] {
        var text = "Cache-Control: no-store\r\n"
        if allowsAnyOrigin {
            text += "Access-Control-Allow-Origin: *\r\n"
        } else {
            text += "Vary: Origin\r\n"
        }
        text += "Access-Control-Expose-Headers: X-Request-ID, X-Foghorn-Edge\r\n"
        return Array(text.utf8)
    }
}

/// `edge_scheme`: `template` keeps each edge URL's own scheme (upgraded to `https` for a viewer
/// that came over HTTPS, as Foghorn does); `https` or `http` rewrite every `http(s)://` edge URL
/// to that scheme — for players that do not follow a redirect across schemes (ExoPlayer/Media3
/// without `allowCrossProtocolRedirects`), keep viewer and edge on one scheme.
public enum EdgeScheme: String, Sendable, CaseIterable {
    case template, https, http

    /// The offset of `://` in a URL prefix that starts `http://` or `https://`; nil otherwise.
    @inline(__always) static func afterHTTPScheme(_ p: UnsafeRawBufferPointer) -> Int? {
        guard p.count > 8, p[0] == UInt8(ascii: "h"), p[1] == UInt8(ascii: "t"), p[2] == UInt8(ascii: "t"), p[3] == UInt8(ascii: "p") else { return nil }
        if p[4] == UInt8(ascii: ":") { return 4 }
        if p[4] == UInt8(ascii: "s"), p[5] == UInt8(ascii: ":") { return 5 }
        return nil
    }
}

/// `log_client_ip`.
public enum LogClientIP: String, Sendable, CaseIterable {
    case full, truncated, off
}
