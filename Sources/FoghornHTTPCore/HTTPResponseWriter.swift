public import FoghornJSON
import Synchronization

/// Header values a handler tried to write with CR, LF or NUL (see ``HTTPResponseWriter``), process-wide.
private let unsafeHeaderValueCount = Atomic<UInt64>(0)

/// Writes one response into the loop's output buffer.
///
/// A handler calls ``head(_:)``, any number of ``header(_:_:)``, then exactly one
/// `body` call which adds `Content-Length` (and `Connection: close` when the
/// connection is closing) and the body. For `HEAD` requests the body is
/// counted but not written.
///
/// ```swift
/// w.head(.temporaryRedirect)
/// w.header("Location", url)
/// w.body(url, contentType: "text/plain")
/// ```
public struct HTTPResponseWriter {
    public let buffer: ByteBuffer
    /// Set by the connection before the handler runs; a handler may set it to close after answering.
    public var closeConnection: Bool
    public let isHeadRequest: Bool
    public private(set) var status: HTTPStatus = .ok
    public private(set) var started = false
    public private(set) var finished = false
    /// Set by a handler that parks its request instead of answering (see ``HTTPParkRequest``).
    public var park: HTTPParkRequest?
    /// Headers every response on this listener carries (e.g. CORS), written after the status line.
    public let commonHeaders: UnsafeRawBufferPointer?
    /// The `Date: …\r\n` line (RFC 9110 §6.6.1), cached per second by the loop; nil: none.
    public let dateHeader: UnsafeRawBufferPointer?
    private let start: Int
    /// A header value with CR, LF or NUL was refused: the response becomes a 500 at `body`.
    private var refusedHeader = false

    /// Header values refused so far in this process (`foghorn_http_unsafe_header_values_total`).
    public static var unsafeHeaderValues: UInt64 { unsafeHeaderValueCount.load(ordering: .relaxed) }

    public init(buffer: ByteBuffer, closeConnection: Bool, isHeadRequest: Bool, commonHeaders: UnsafeRawBufferPointer? = nil,
                dateHeader: UnsafeRawBufferPointer? = nil) {
        self.buffer = buffer
        self.closeConnection = closeConnection
        self.isHeadRequest = isHeadRequest
        self.commonHeaders = commonHeaders
        self.dateHeader = dateHeader
        self.start = buffer.count
    }

    /// Discards whatever was written so far (used when a handler fails midway).
    public mutating func reset() {
        buffer.count = start
        started = false
        finished = false
        refusedHeader = false
        finishedWithRefusal = false
    }

    public mutating func head(_ status: HTTPStatus) {
        precondition(!started, "response head written twice")
        started = true
        self.status = status
        buffer.append(status.statusLine)
        if let date = dateHeader { buffer.append(date) }
        if let common = commonHeaders { buffer.append(common) }
    }

    @inline(__always) public mutating func header(_ name: StaticString, _ value: StaticString) {
        buffer.append(name); buffer.append(": "); buffer.append(value); buffer.append("\r\n")
    }

    public mutating func header(_ name: StaticString, string value: String) {
        var v = value
        v.withUTF8 { header(name, UnsafeRawBufferPointer($0)) }
    }

    /// Defence in depth against response splitting: a value with CR, LF or NUL — whatever
    /// validation upstream missed — is not written; the whole response becomes 500
    /// `INTERNAL_ERROR` (at ``body(_:contentType:)``) and the refusal is counted.
    public mutating func header(_ name: StaticString, _ value: UnsafeRawBufferPointer) {
        guard HTTPResponseWriter.isSafeHeaderValue(value) else { return refuseHeader() }
        buffer.append(name); buffer.append(": "); buffer.append(value); buffer.append("\r\n")
    }

    public mutating func header(_ name: StaticString, decimal value: Int) {
        buffer.append(name); buffer.append(": "); buffer.appendDecimal(value); buffer.append("\r\n")
    }

    /// Writes a header whose name is only known at run time (validated by the caller).
    public mutating func header(name: String, value: String) {
        var n = name, v = value
        let safe = n.withUTF8 { HTTPResponseWriter.isSafeHeaderValue(UnsafeRawBufferPointer($0)) && !$0.contains(UInt8(ascii: ":")) }
            && v.withUTF8 { HTTPResponseWriter.isSafeHeaderValue(UnsafeRawBufferPointer($0)) }
        guard safe else { return refuseHeader() }
        buffer.append(string: name); buffer.append(": "); buffer.append(string: value); buffer.append("\r\n")
    }

    private mutating func refuseHeader() {
        refusedHeader = true
        unsafeHeaderValueCount.add(1, ordering: .relaxed)
    }

    /// Whether `value` has no CR, LF or NUL. Eight bytes at a time: a word has a byte below
    /// 0x0E when `(w - 0x0E0E…) & ~w & 0x8080…` is non-zero (exact for bytes below 0x80; bytes
    /// at or above 0x80 never set it), and only then are its bytes looked at one by one.
    ///
    /// ```swift
    /// isSafeHeaderValue("https://edge/hls/x/index.m3u8")  // true
    /// isSafeHeaderValue("http://a/\r\nSet-Cookie: x")     // false
    /// ```
    @inline(__always)
    public static func isSafeHeaderValue(_ value: UnsafeRawBufferPointer) -> Bool {
        guard let base = value.baseAddress else { return true }
        let n = value.count
        var i = 0
        while i &+ 8 <= n {
            let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if (w &- 0x0E0E_0E0E_0E0E_0E0E) & ~w & 0x8080_8080_8080_8080 != 0 {
                for k in 0..<8 where isUnsafeHeaderByte(base.load(fromByteOffset: i &+ k, as: UInt8.self)) { return false }
            }
            i &+= 8
        }
        while i < n {
            if isUnsafeHeaderByte(base.load(fromByteOffset: i, as: UInt8.self)) { return false }
            i &+= 1
        }
        return true
    }

    @inline(__always) static func isUnsafeHeaderByte(_ b: UInt8) -> Bool { b == 0x0D || b == 0x0A || b == 0x00 }

    private mutating func finishHead(contentLength: Int, contentType: StaticString?) {
        precondition(started && !finished, "body written without head or twice")
        if refusedHeader { return answerRefusedHeader() }
        finished = true
        if let type = contentType, contentLength > 0 || status != .noContent {
            if status != .noContent && status != .notModified { header("Content-Type", type) }
        }
        if closeConnection { buffer.append("Connection: close\r\n") }
        if status != .noContent && status != .notModified {
            buffer.append("Content-Length: ")
            buffer.appendDecimal(contentLength)
            buffer.append("\r\n")
        }
        buffer.append("\r\n")
    }

    public mutating func body(_ bytes: UnsafeRawBufferPointer, contentType: StaticString?) {
        finishHead(contentLength: bytes.count, contentType: contentType)
        if !isHeadRequest && !finishedWithRefusal { buffer.append(bytes) }
    }

    /// Set when the response was replaced by the 500 for a refused header.
    private var finishedWithRefusal = false

    /// Replaces what was written of this response by a 500 `INTERNAL_ERROR` (the caller's own
    /// body is then skipped).
    private mutating func answerRefusedHeader() {
        reset()
        error(.internalServerError, code: "INTERNAL_ERROR", message: "the response carried a header value with CR, LF or NUL; it was not sent")
        finishedWithRefusal = true
    }

    public mutating func body(_ bytes: [UInt8], contentType: StaticString?) {
        bytes.withUnsafeBytes { body($0, contentType: contentType) }
    }

    public mutating func body(_ text: String, contentType: StaticString?) {
        var s = text
        s.withUTF8 { body(UnsafeRawBufferPointer($0), contentType: contentType) }
    }

    /// A response without a body (`Content-Length: 0`, or none for 204/304).
    public mutating func emptyBody() {
        finishHead(contentLength: 0, contentType: nil)
    }

    /// Writes the whole response with a JSON body.
    public mutating func json(_ status: HTTPStatus, _ writer: JSONWriter) {
        if !started { head(status) }
        body(writer.bytes, contentType: "application/json")
    }

    /// Writes a complete error response `{"error": lower(code), "message": ..., "code": CODE}`.
    public mutating func error(_ status: HTTPStatus, code: String, message: String) {
        if !started { head(status) }
        var w = JSONWriter(capacity: 96 + message.utf8.count)
        w.objectStart()
        w.field("error", code.lowercased())
        w.field("message", message)
        w.field("code", code)
        w.objectEnd()
        body(w.bytes, contentType: "application/json")
    }

    public mutating func error(_ parseError: HTTPParseError) {
        error(parseError.status, code: parseError.code, message: parseError.message)
    }
}
