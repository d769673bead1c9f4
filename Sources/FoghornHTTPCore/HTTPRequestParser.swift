/// State kept between calls while a head arrives in pieces. One per connection;
/// call ``reset()`` after each complete request.
public struct HTTPParseProgress: Sendable {
    /// Bytes already scanned for line ends.
    var scanned = 0
    /// Start of the line being scanned.
    var lineStart = 0
    /// Start of the request line (leading empty lines are skipped).
    var requestLineStart = 0
    /// Index of the request line's LF, or -1 while it has not arrived.
    var requestLineEnd = -1
    var headerLines = 0
    var head = HTTPRequestHead()
    var absoluteAuthority = ByteRange.empty

    public init() {}

    public mutating func reset() { self = HTTPParseProgress() }

    /// Whether any byte of a request has been seen.
    public var hasStarted: Bool { scanned > 0 }
}

/// The outcome of one ``HTTPRequestParser/parse(_:progress:headers:)`` call.
public enum HTTPParseResult: Sendable, Equatable {
    /// More bytes are needed; call again with the same buffer grown.
    case incomplete
    /// A whole head; its headers are in the scratch buffer.
    case complete(HTTPRequestHead)
    /// The request is rejected; answer with `error.status` and close.
    case failed(HTTPParseError)
}

/// A strict, zero-copy HTTP/1.1 request-head parser (RFC 9112).
///
/// The caller keeps the request's bytes in one contiguous buffer and calls
/// ``parse(_:progress:headers:)`` each time more arrive. Line ends are found
/// incrementally (each byte is scanned once); the request line is checked as
/// soon as it is complete, so HTTP/0.9, an HTTP/2 preface or an oversized
/// target fail without waiting for the rest. When the empty line arrives the
/// headers are validated in one pass and written into the caller's scratch
/// buffer as byte ranges. Splitting the input at any byte boundary gives the
/// same result.
///
/// Rejected (each closes the connection): request line over the limit (414),
/// header block or count over the limit (431), body over the limit (413),
/// bad method/target/version tokens, HTTP/0.9, `PRI * HTTP/2.0`, bare CR,
/// bare LF, NUL, obs-fold, whitespace before a colon, invalid or duplicate
/// `Content-Length`, `Content-Length` with `Transfer-Encoding`, missing or
/// duplicate `Host` on HTTP/1.1, an absolute-form target whose authority differs
/// from `Host`.
public struct HTTPRequestParser: Sendable {
    public var limits: HTTPLimits

    public init(limits: HTTPLimits) {
        self.limits = limits
    }

    public func parse(
        _ buf: UnsafeRawBufferPointer,
        progress: inout HTTPParseProgress,
        headers: UnsafeMutableBufferPointer<HTTPHeaderField>
    ) -> HTTPParseResult {
        let n = buf.count
        // Fast path: a fresh buffer that ends in CRLF CRLF (one whole head per read,
        // the common case) is parsed in a single pass; that final CRLF CRLF bounds
        // every scan. Any problem at all falls back to the careful path below, which
        // decides the exact error, so both paths always agree.
        if progress.scanned == 0, n >= 4, buf[n &- 4] == 0x0D, buf[n &- 3] == 0x0A, buf[n &- 2] == 0x0D, buf[n &- 1] == 0x0A {
            if let head = singlePass(buf, progress: &progress, headers: headers) { return .complete(head) }
            progress.reset()
        }
        var i = progress.scanned
        var lineStart = progress.lineStart
        while i < n {
            i = ByteScan.firstLF(buf, from: i, end: n)
            if i == n { break }
            let hasCR = i > lineStart && buf[i &- 1] == 0x0D
            let contentEnd = hasCR ? i &- 1 : i
            if progress.requestLineEnd < 0 {
                if contentEnd == lineStart {
                    // Empty line(s) before the request line are ignored (RFC 9112 §2.2),
                    // but only when properly terminated and never more than the line limit.
                    if !hasCR { return .failed(.bareLF) }
                    lineStart = i &+ 1
                    progress.requestLineStart = lineStart
                    i &+= 1
                    continue
                }
                // Same order as for a partial line below, so any split gives the same answer.
                if let error = earlyMethodCheck(buf, start: lineStart, end: contentEnd) { return .failed(error) }
                if contentEnd &- lineStart > limits.maxRequestLineBytes { return .failed(.requestLineTooLong) }
                if !hasCR { return .failed(.bareLF) }
                progress.requestLineEnd = i
                if let error = parseRequestLine(buf, start: lineStart, end: contentEnd, progress: &progress) {
                    return .failed(error)
                }
            } else if contentEnd == lineStart {
                if i &+ 1 &- (progress.requestLineEnd &+ 1) > limits.maxHeaderBytes { return .failed(.headerBlockTooLarge) }
                if !hasCR { return .failed(.bareLF) }
                return parseHeaders(buf, progress: &progress, headers: headers)
            } else {
                // Size before count, checked at every line end: the first limit crossed wins, however the bytes were split.
                if i &+ 1 &- (progress.requestLineEnd &+ 1) > limits.maxHeaderBytes { return .failed(.headerBlockTooLarge) }
                progress.headerLines &+= 1
                if progress.headerLines > limits.maxHeaderCount { return .failed(.tooManyHeaders) }
            }
            lineStart = i &+ 1
            i &+= 1
        }
        progress.scanned = n
        progress.lineStart = lineStart
        if progress.requestLineEnd < 0 {
            // Fail fast on what can never become a request line.
            if n > progress.requestLineStart, let error = earlyMethodCheck(buf, start: progress.requestLineStart, end: n) {
                return .failed(error)
            }
            // A pending request line may still end in CR, hence the + 1.
            if n &- progress.requestLineStart > limits.maxRequestLineBytes &+ 1 { return .failed(.requestLineTooLong) }
        } else if n &- (progress.requestLineEnd &+ 1) > limits.maxHeaderBytes {
            return .failed(.headerBlockTooLarge)
        }
        return .incomplete
    }

    /// Parses a head known to be followed by CRLF CRLF somewhere; nil on any problem.
    private func singlePass(
        _ buf: UnsafeRawBufferPointer, progress: inout HTTPParseProgress, headers: UnsafeMutableBufferPointer<HTTPHeaderField>
    ) -> HTTPRequestHead? {
        let lf = ByteScan.firstLF(buf, from: 0, end: buf.count)
        guard lf > 0, lf &- 1 <= limits.maxRequestLineBytes, buf[lf &- 1] == 0x0D else { return nil }
        progress.requestLineEnd = lf
        if parseRequestLine(buf, start: 0, end: lf &- 1, progress: &progress) != nil { return nil }
        guard case .complete(let head) = parseHeaders(buf, progress: &progress, headers: headers),
              head.headerCount <= limits.maxHeaderCount,
              head.headLength &- (lf &+ 1) <= limits.maxHeaderBytes
        else { return nil }
        return head
    }

    // MARK: - Request line

    /// Rejects a partial request line whose method already contains an invalid byte.
    private func earlyMethodCheck(_ buf: UnsafeRawBufferPointer, start: Int, end: Int) -> HTTPParseError? {
        var i = start
        while i < end {
            let b = buf[i]
            if b == 0x20 { return i == start ? .invalidMethod : nil }
            if b == 0x0D { return nil }  // request line may be ending
            if !CharacterClass.isTchar(b) { return b == 0 ? .nulByte : .invalidMethod }
            i &+= 1
        }
        return nil
    }

    private func parseRequestLine(
        _ buf: UnsafeRawBufferPointer, start: Int, end: Int, progress: inout HTTPParseProgress
    ) -> HTTPParseError? {
        // method
        var i = start
        while i < end, CharacterClass.isTchar(buf[i]) { i &+= 1 }
        if i == start || i == end || buf[i] != 0x20 {
            if i < end, buf[i] == 0 { return .nulByte }
            if i < end, buf[i] == 0x0D { return .bareCR }
            return .invalidMethod
        }
        let methodEnd = i
        // target
        i &+= 1
        let targetStart = i
        i = ByteScan.skipVisibleASCIIWords(buf, from: i, end: end)
        while i < end, CharacterClass.isTargetChar(buf[i]) { i &+= 1 }
        let targetEnd = i
        if targetEnd == targetStart {
            return buf[i] == 0x20 ? .invalidTarget : classify(buf[i], otherwise: .invalidTarget)
        }
        if i == end { return .http09NotSupported }
        if buf[i] != 0x20 { return classify(buf[i], otherwise: .invalidTarget) }
        // version: exactly "HTTP/d.d"
        i &+= 1
        guard end &- i == 8,
              buf[i] == UInt8(ascii: "H"), buf[i &+ 1] == UInt8(ascii: "T"), buf[i &+ 2] == UInt8(ascii: "T"),
              buf[i &+ 3] == UInt8(ascii: "P"), buf[i &+ 4] == UInt8(ascii: "/"),
              isDigit(buf[i &+ 5]), buf[i &+ 6] == UInt8(ascii: "."), isDigit(buf[i &+ 7])
        else {
            for j in i..<end {
                if buf[j] == 0 { return .nulByte }
                if buf[j] == 0x0D { return .bareCR }
            }
            return .invalidVersion
        }
        let major = buf[i &+ 5] &- 0x30
        let minor = buf[i &+ 7] &- 0x30
        let methodLength = methodEnd &- start
        if major == 2, minor == 0, methodLength == 3, matches(buf, start, "PRI"),
           targetEnd &- targetStart == 1, buf[targetStart] == UInt8(ascii: "*") {
            return .http2Preface
        }
        if major != 1 { return .unsupportedVersion }
        progress.head.version = minor == 0 ? .http10 : .http11
        progress.head.keepAlive = minor != 0
        guard let method = lookupMethod(buf, start: start, count: methodLength) else { return .methodNotImplemented }
        progress.head.method = method
        progress.head.target = ByteRange(start: targetStart, end: targetEnd)
        return parseTarget(buf, start: targetStart, end: targetEnd, progress: &progress)
    }

    private func classify(_ b: UInt8, otherwise: HTTPParseError) -> HTTPParseError {
        if b == 0 { return .nulByte }
        if b == 0x0D { return .bareCR }
        return otherwise
    }

    private func parseTarget(
        _ buf: UnsafeRawBufferPointer, start: Int, end: Int, progress: inout HTTPParseProgress
    ) -> HTTPParseError? {
        var pathStart = start
        let first = buf[start]
        if first == UInt8(ascii: "*") {
            guard end &- start == 1, progress.head.method == .options else { return .invalidTarget }
            progress.head.isAsterisk = true
            progress.head.path = .empty
            return nil
        }
        if first != UInt8(ascii: "/") {
            // absolute-form: http://authority[/path][?query]
            let schemeLength: Int
            if matchesLowercased(buf, start, end, "http://") {
                schemeLength = 7
            } else if matchesLowercased(buf, start, end, "https://") {
                schemeLength = 8
            } else {
                return .invalidTarget
            }
            let authorityStart = start &+ schemeLength
            var j = authorityStart
            while j < end, buf[j] != UInt8(ascii: "/"), buf[j] != UInt8(ascii: "?") { j &+= 1 }
            if j == authorityStart { return .invalidTarget }
            progress.absoluteAuthority = ByteRange(start: authorityStart, end: j)
            pathStart = j
        }
        let j = ByteScan.firstQueryOrFragment(buf, from: pathStart, end: end)
        if j < end && buf[j] == UInt8(ascii: "#") { return .invalidTarget }
        progress.head.path = ByteRange(start: pathStart, end: j)
        if j < end {
            progress.head.hasQuery = true
            var k = j &+ 1
            while k < end {
                if buf[k] == UInt8(ascii: "#") { return .invalidTarget }
                k &+= 1
            }
            progress.head.query = ByteRange(start: j &+ 1, end: end)
        }
        return nil
    }

    private func lookupMethod(_ buf: UnsafeRawBufferPointer, start: Int, count: Int) -> HTTPMethod? {
        switch count {
        case 3:
            if matches(buf, start, "GET") { return .get }
            if matches(buf, start, "PUT") { return .put }
        case 4:
            if matches(buf, start, "HEAD") { return .head }
            if matches(buf, start, "POST") { return .post }
        case 5:
            if matches(buf, start, "PATCH") { return .patch }
        case 6:
            if matches(buf, start, "DELETE") { return .delete }
        case 7:
            if matches(buf, start, "OPTIONS") { return .options }
        default:
            break
        }
        return nil
    }

    // MARK: - Header block

    /// Validates header lines from after the request line up to the first empty
    /// line, which the caller guarantees exists (CRLF CRLF bounds every scan).
    private func parseHeaders(
        _ buf: UnsafeRawBufferPointer,
        progress: inout HTTPParseProgress,
        headers: UnsafeMutableBufferPointer<HTTPHeaderField>
    ) -> HTTPParseResult {
        var head = progress.head
        var count = 0
        var i = progress.requestLineEnd &+ 1
        var sawContentLength = false
        var sawTransferEncoding = false
        var sawHost = false
        var connectionClose = false
        var connectionKeepAlive = false
        let limit = buf.count
        while true {
            let lineStart = i
            let b0 = buf[i]
            if b0 == 0x0D && buf[i &+ 1] == 0x0A { break }  // the empty line
            if b0 == 0x0A { return .failed(.bareLF) }
            if b0 == 0x20 || b0 == 0x09 { return .failed(.obsFold) }
            // name
            while CharacterClass.isTchar(buf[i]) { i &+= 1 }
            let nameEnd = i
            if buf[i] != UInt8(ascii: ":") || nameEnd == lineStart {
                // A line without a colon ends in CRLF: that is a bad name, not a bare CR.
                if buf[i] == 0x0D && buf[i &+ 1] == 0x0A { return .failed(.invalidHeaderName) }
                return .failed(classify(buf[i], otherwise: .invalidHeaderName))
            }
            i &+= 1
            // value: skip leading OWS, then scan to the line end
            while buf[i] == 0x20 || buf[i] == 0x09 { i &+= 1 }
            let valueStart = i
            i = ByteScan.skipPlainValueWords(buf, from: i, end: limit)
            while CharacterClass.isFieldValueChar(buf[i]) { i &+= 1 }
            // must now be at CR LF
            if buf[i] != 0x0D {
                if buf[i] == 0x0A { return .failed(.bareLF) }
                return .failed(classify(buf[i], otherwise: .invalidHeaderValue))
            }
            if buf[i &+ 1] != 0x0A { return .failed(.bareCR) }
            var valueEnd = i
            while valueEnd > valueStart, buf[valueEnd &- 1] == 0x20 || buf[valueEnd &- 1] == 0x09 { valueEnd &-= 1 }
            i &+= 2
            if count >= headers.count { return .failed(.tooManyHeaders) }
            let name = ByteRange(start: lineStart, end: nameEnd)
            let value = ByteRange(start: valueStart, end: valueEnd)
            headers[count] = HTTPHeaderField(name: name, value: value)
            count &+= 1

            switch nameEnd &- lineStart {
            case 4 where equalsLowercased(buf, lineStart, "host"):
                if sawHost { return .failed(.duplicateHost) }
                sawHost = true
                head.host = value
            case 6 where equalsLowercased(buf, lineStart, "expect"):
                if value.count == 12, equalsLowercased(buf, valueStart, "100-continue") { head.expectsContinue = true }
            case 10 where equalsLowercased(buf, lineStart, "connection"):
                scanConnectionTokens(buf, value, close: &connectionClose, keepAlive: &connectionKeepAlive)
            case 14 where equalsLowercased(buf, lineStart, "content-length"):
                if sawContentLength { return .failed(.duplicateContentLength) }
                sawContentLength = true
                guard let length = parseContentLength(buf, value) else { return .failed(.invalidContentLength) }
                head.contentLength = length
            case 17 where equalsLowercased(buf, lineStart, "transfer-encoding"):
                sawTransferEncoding = true
            default:
                break
            }
        }
        head.headerCount = count
        head.headLength = i &+ 2
        if sawTransferEncoding {
            if sawContentLength { return .failed(.contentLengthWithTransferEncoding) }
            switch head.method {
            case .get, .head, .options: return .failed(.transferEncodingNotAllowed)
            default: return .failed(.lengthRequired)
            }
        }
        if head.version == .http11 && !sawHost { return .failed(.missingHost) }
        if !progress.absoluteAuthority.isEmpty {
            let a = progress.absoluteAuthority
            guard sawHost, a.count == head.host.count, equalRangesLowercased(buf, a, head.host) else {
                return .failed(.hostMismatch)
            }
        }
        if head.contentLength > limits.maxBodyBytes { return .failed(.bodyTooLarge) }
        if connectionClose {
            head.keepAlive = false
        } else if head.version == .http10 {
            head.keepAlive = connectionKeepAlive
        }
        progress.head = head
        return .complete(head)
    }

    private func scanConnectionTokens(
        _ buf: UnsafeRawBufferPointer, _ value: ByteRange, close: inout Bool, keepAlive: inout Bool
    ) {
        var i = Int(value.start)
        let end = Int(value.end)
        while i < end {
            while i < end, buf[i] == 0x20 || buf[i] == 0x09 || buf[i] == UInt8(ascii: ",") { i &+= 1 }
            let tokenStart = i
            while i < end, buf[i] != UInt8(ascii: ","), buf[i] != 0x20, buf[i] != 0x09 { i &+= 1 }
            let length = i &- tokenStart
            if length == 5, equalsLowercased(buf, tokenStart, "close") { close = true }
            if length == 10, equalsLowercased(buf, tokenStart, "keep-alive") { keepAlive = true }
        }
    }

    /// 1*DIGIT, at most 18 digits (no sign, no list, no whitespace inside).
    private func parseContentLength(_ buf: UnsafeRawBufferPointer, _ value: ByteRange) -> Int? {
        let count = value.count
        guard count > 0, count <= 18 else { return nil }
        var result = 0
        for i in Int(value.start)..<Int(value.end) {
            let b = buf[i]
            guard isDigit(b) else { return nil }
            result = result &* 10 &+ Int(b &- 0x30)
        }
        return result
    }

    // MARK: - Byte helpers

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    @inline(__always)
    private func matches(_ buf: UnsafeRawBufferPointer, _ start: Int, _ literal: StaticString) -> Bool {
        let p = literal.utf8Start
        for k in 0..<literal.utf8CodeUnitCount where buf[start &+ k] != p[k] { return false }
        return true
    }

    /// Compares case-insensitively against a lower-case ASCII literal.
    @inline(__always)
    private func equalsLowercased(_ buf: UnsafeRawBufferPointer, _ start: Int, _ literal: StaticString) -> Bool {
        let p = literal.utf8Start
        for k in 0..<literal.utf8CodeUnitCount where buf[start &+ k] | 0x20 != p[k] { return false }
        return true
    }

    private func matchesLowercased(_ buf: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        guard end &- start >= literal.utf8CodeUnitCount else { return false }
        return equalsLowercased(buf, start, literal)
    }

    private func equalRangesLowercased(_ buf: UnsafeRawBufferPointer, _ a: ByteRange, _ b: ByteRange) -> Bool {
        for k in 0..<a.count where buf[Int(a.start) &+ k] | 0x20 != buf[Int(b.start) &+ k] | 0x20 { return false }
        return true
    }
}
