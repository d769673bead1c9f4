/// Size limits enforced by the request parser. Defaults follow
/// `docs/OPERATIONS.md` ("Limits"): they match what trusted edges enforce.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line accepted, excluding its CRLF. One byte more → 414.
    public var maxRequestLineBytes: Int
    /// Longest header block accepted: every header line with its CRLF plus the
    /// final empty line's CRLF. One byte more → 431.
    public var maxHeaderBytes: Int
    /// Most header fields accepted. One more → 431.
    public var maxHeaderCount: Int
    /// Largest `Content-Length` accepted. One byte more → 413.
    public var maxBodyBytes: Int

    public init(maxRequestLineBytes: Int = 8192, maxHeaderBytes: Int = 16384, maxHeaderCount: Int = 64, maxBodyBytes: Int = 0) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }

    /// The most bytes a complete head can take (request line + CRLF + header block).
    public var maxHeadBytes: Int { maxRequestLineBytes + 2 + maxHeaderBytes }
}
