/// HTTP methods Foghorn understands. Other syntactically valid methods are
/// answered with 501 by the parser.
public enum HTTPMethod: UInt8, Sendable, CaseIterable {
    case get, head, options, post, put, delete, patch

    public var name: String {
        switch self {
        case .get: return "GET"
        case .head: return "HEAD"
        case .options: return "OPTIONS"
        case .post: return "POST"
        case .put: return "PUT"
        case .delete: return "DELETE"
        case .patch: return "PATCH"
        }
    }
}

public enum HTTPVersion: UInt8, Sendable {
    case http10, http11
}

/// A half-open byte range `[start, end)` into the buffer a head was parsed from.
public struct ByteRange: Sendable, Equatable {
    public var start: Int32
    public var end: Int32

    @inlinable public init(start: Int, end: Int) {
        self.start = Int32(truncatingIfNeeded: start)
        self.end = Int32(truncatingIfNeeded: end)
    }

    public static let empty = ByteRange(start: 0, end: 0)

    @inlinable public var count: Int { Int(end &- start) }
    @inlinable public var isEmpty: Bool { end == start }
}

/// One header field; both ranges index the parse buffer. The value has its
/// surrounding whitespace trimmed.
public struct HTTPHeaderField: Sendable, Equatable {
    public var name: ByteRange
    public var value: ByteRange

    public init(name: ByteRange, value: ByteRange) {
        self.name = name
        self.value = value
    }
}

/// The parsed request line and the framing facts of one request head. All
/// ranges index the buffer handed to ``HTTPRequestParser/parse(_:progress:headers:)``;
/// nothing is copied.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: HTTPMethod = .get
    public var version: HTTPVersion = .http11
    /// The whole request target as sent.
    public var target: ByteRange = .empty
    /// The path part (origin-form path, or the path of an absolute-form target;
    /// empty for `*` and for an absolute-form target without a path, meaning `/`).
    public var path: ByteRange = .empty
    /// The query without its `?`; empty when absent.
    public var query: ByteRange = .empty
    public var hasQuery = false
    /// `true` for the asterisk-form target of `OPTIONS *`.
    public var isAsterisk = false
    /// The Host value, empty when absent (HTTP/1.0).
    public var host: ByteRange = .empty
    public var headerCount = 0
    public var contentLength = 0
    /// Whether the connection stays open after the response (HTTP/1.1 default
    /// unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive = true
    public var expectsContinue = false
    /// Bytes from the first byte of the request up to and including the empty line.
    public var headLength = 0

    public init() {}
}
