public import FoghornJSON

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
    private let start: Int

    public init(buffer: ByteBuffer, closeConnection: Bool, isHeadRequest: Bool, commonHeaders: UnsafeRawBufferPointer? = nil) {
        self.buffer = buffer
        self.closeConnection = closeConnection
        self.isHeadRequest = isHeadRequest
        self.commonHeaders = commonHeaders
        self.start = buffer.count
    }

    /// Discards whatever was written so far (used when a handler fails midway).
    public mutating func reset() {
        buffer.count = start
        started = false
        finished = false
    }

    public mutating func head(_ status: HTTPStatus) {
        precondition(!started, "response head written twice")
        started = true
        self.status = status
        buffer.append(status.statusLine)
        if let common = commonHeaders { buffer.append(common) }
    }

    @inline(__always) public mutating func header(_ name: StaticString, _ value: StaticString) {
        buffer.append(name); buffer.append(": "); buffer.append(value); buffer.append("\r\n")
    }

    public mutating func header(_ name: StaticString, string value: String) {
        buffer.append(name); buffer.append(": "); buffer.append(string: value); buffer.append("\r\n")
    }

    public mutating func header(_ name: StaticString, _ value: UnsafeRawBufferPointer) {
        buffer.append(name); buffer.append(": "); buffer.append(value); buffer.append("\r\n")
    }

    public mutating func header(_ name: StaticString, decimal value: Int) {
        buffer.append(name); buffer.append(": "); buffer.appendDecimal(value); buffer.append("\r\n")
    }

    /// Writes a header whose name is only known at run time (validated by the caller).
    public mutating func header(name: String, value: String) {
        buffer.append(string: name); buffer.append(": "); buffer.append(string: value); buffer.append("\r\n")
    }

    private mutating func finishHead(contentLength: Int, contentType: StaticString?) {
        precondition(started && !finished, "body written without head or twice")
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
        if !isHeadRequest { buffer.append(bytes) }
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
