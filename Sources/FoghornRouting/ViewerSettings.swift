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
