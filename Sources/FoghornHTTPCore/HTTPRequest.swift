/// A parsed request as handlers see it: the head, its headers and body as
/// views into the connection's buffer. Valid only during the handler call.
public struct HTTPRequest {
    public let buffer: UnsafeRawBufferPointer
    public let head: HTTPRequestHead
    public let headers: UnsafeBufferPointer<HTTPHeaderField>
    public let body: UnsafeRawBufferPointer
    /// The TCP peer's address as text (`127.0.0.1`, `::1`).
    public let peerAddress: String
    /// Whether the request came over TLS (the HTTPS listener).
    public var isSecure = false

    public init(
        buffer: UnsafeRawBufferPointer, head: HTTPRequestHead,
        headers: UnsafeBufferPointer<HTTPHeaderField>, body: UnsafeRawBufferPointer, peerAddress: String
    ) {
        self.buffer = buffer
        self.head = head
        self.headers = headers
        self.body = body
        self.peerAddress = peerAddress
    }

    public var method: HTTPMethod { head.method }

    @inlinable public func bytes(_ r: ByteRange) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[Int(r.start)..<Int(r.end)])
    }

    public func string(_ r: ByteRange) -> String { String(decoding: bytes(r), as: UTF8.self) }

    /// The path bytes (`/` for an absolute-form target without a path).
    public var path: UnsafeRawBufferPointer {
        if head.path.isEmpty && !head.isAsterisk {
            let root: StaticString = "/"
            return UnsafeRawBufferPointer(start: root.utf8Start, count: 1)
        }
        return bytes(head.path)
    }

    public var pathString: String { String(decoding: path, as: UTF8.self) }
    public var queryString: String? { head.hasQuery ? string(head.query) : nil }

    /// The lines of the three forwarding headers, found in one pass over the head (the client
    /// address resolver asks for each several times; a scan per question cost ≈ 300
    /// instructions a request, callgrind).
    public struct ForwardingLines {
        /// `CF-Connecting-IP`, `X-Forwarded-For`, `X-Real-IP`: the first lines of each (up to
        /// ``kept``) and how many lines there are in all.
        public var cf = (ByteRange.empty, ByteRange.empty), cfCount = 0
        public var real = (ByteRange.empty, ByteRange.empty), realCount = 0
        public var xff = (ByteRange.empty, ByteRange.empty, ByteRange.empty, ByteRange.empty), xffCount = 0
        public static let kept = 4
    }

    public func forwardingLines() -> ForwardingLines {
        var out = ForwardingLines()
        for field in headers {
            switch field.name.count {
            case 16 where nameIs(field, "cf-connecting-ip"):
                if out.cfCount == 0 { out.cf.0 = field.value } else if out.cfCount == 1 { out.cf.1 = field.value }
                out.cfCount &+= 1
            case 15 where nameIs(field, "x-forwarded-for"):
                switch out.xffCount {
                case 0: out.xff.0 = field.value
                case 1: out.xff.1 = field.value
                case 2: out.xff.2 = field.value
                case 3: out.xff.3 = field.value
                default: break
                }
                out.xffCount &+= 1
            case 9 where nameIs(field, "x-real-ip"):
                if out.realCount == 0 { out.real.0 = field.value } else if out.realCount == 1 { out.real.1 = field.value }
                out.realCount &+= 1
            default: break
            }
        }
        return out
    }

    @inline(__always) func nameIs(_ field: HTTPHeaderField, _ lowercasedName: StaticString) -> Bool {
        let target = UnsafeRawBufferPointer(start: lowercasedName.utf8Start, count: lowercasedName.utf8CodeUnitCount)
        return field.name.count == target.count && nameEquals(field, target)
    }

    /// The value of the `occurrence`th (0-based) header line named `lowercasedName`, in the
    /// order received; nil when there are fewer lines. A list header sent on several lines
    /// (`X-Forwarded-For`) is one list: line 0's items, then line 1's… (RFC 9110 §5.3).
    public func header(_ lowercasedName: StaticString, occurrence: Int) -> ByteRange? {
        var seen = 0
        for field in headers where nameIs(field, lowercasedName) {
            if seen == occurrence { return field.value }
            seen &+= 1
        }
        return nil
    }

    /// The value of the first header named `lowercasedName` (compared case-insensitively).
    public func header(_ lowercasedName: StaticString) -> ByteRange? {
        // The target's bytes hoisted out of the loop (on the request path: CORS, X-Request-ID…).
        let target = UnsafeRawBufferPointer(start: lowercasedName.utf8Start, count: lowercasedName.utf8CodeUnitCount)
        for field in headers where field.name.count == target.count && nameEquals(field, target) { return field.value }
        return nil
    }

    @inline(__always) func nameEquals(_ field: HTTPHeaderField, _ target: UnsafeRawBufferPointer) -> Bool {
        let start = Int(field.name.start)
        var k = 0
        while k < target.count {
            if buffer[start &+ k] | 0x20 != target[k] { return false }
            k &+= 1
        }
        return true
    }

    public func headerString(_ lowercasedName: StaticString) -> String? {
        header(lowercasedName).map { string($0) }
    }


    /// Percent-decoded value of query parameter `name` (`+` is a space), or nil.
    /// Present without `=` → "".
    public func queryParameter(_ name: String) -> String? {
        guard head.hasQuery else { return nil }
        return QueryString.value(of: name, in: bytes(head.query))
    }

    /// Like ``queryParameter(_:)`` but `+` stays `+` (MistServer stream names such as
    /// `live+foo` are sent unescaped by its clients); `%XX` is still decoded.
    public func queryParameterKeepingPlus(_ name: String) -> String? {
        guard head.hasQuery else { return nil }
        return QueryString.value(of: name, in: bytes(head.query), plusIsSpace: false)
    }
}

/// `application/x-www-form-urlencoded` query handling.
public enum QueryString {
    /// The raw (still escaped) value of the first pair whose key is exactly `name` — a key sent
    /// escaped does not match — or nil; "" for a key without `=`. Allocates nothing (the
    /// request path): `rawValue(of: "lat", in: "a=1&lat=52.3")` → `52.3`.
    public static func rawValue(of name: StaticString, in query: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let wanted = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        var found: UnsafeRawBufferPointer?
        forEachPair(in: query) { key, value, _ in
            if found == nil && key.elementsEqual(wanted) { found = value }
        }
        return found
    }

    /// Calls `body` with each non-empty pair's raw key, raw value ("" without `=`) and the whole
    /// raw pair (`key=value`), in order.
    public static func forEachPair(
        in query: UnsafeRawBufferPointer,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ pair: UnsafeRawBufferPointer) -> Void
    ) {
        var start = 0
        let n = query.count
        while start < n {
            var end = start
            while end < n && query[end] != UInt8(ascii: "&") { end &+= 1 }
            if end > start {
                var eq = start
                while eq < end && query[eq] != UInt8(ascii: "=") { eq &+= 1 }
                body(UnsafeRawBufferPointer(rebasing: query[start..<eq]), UnsafeRawBufferPointer(rebasing: query[min(eq &+ 1, end)..<end]),
                     UnsafeRawBufferPointer(rebasing: query[start..<end]))
            }
            start = end &+ 1
        }
    }

    /// A finite decimal number from a raw query value (`%XX` decoded first), or nil. Values of
    /// up to 15 bytes allocate nothing (a small string).
    public static func double(_ raw: UnsafeRawBufferPointer) -> Double? {
        guard raw.count > 0, raw.count <= 64 else { return nil }
        let text = raw.contains(UInt8(ascii: "%")) ? percentDecode(raw) : String(decoding: raw, as: UTF8.self)
        guard let text, let v = Double(text), v.isFinite else { return nil }
        return v
    }

    public static func value(of name: String, in query: UnsafeRawBufferPointer, plusIsSpace: Bool = true) -> String? {
        for pair in query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = percentDecode(parts[0]), key == name else { continue }
            if parts.count == 1 { return "" }
            return percentDecode(parts[1], plusIsSpace: plusIsSpace)
        }
        return nil
    }

    /// Decodes `%XX` and `+`; nil on a malformed escape or invalid UTF-8.
    public static func percentDecode<C: Collection>(_ bytes: C, plusIsSpace: Bool = true) -> String? where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var it = bytes.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "+") && plusIsSpace { out.append(0x20); continue }
            if b != UInt8(ascii: "%") { out.append(b); continue }
            guard let h = it.next(), let l = it.next(), let hv = hexValue(h), let lv = hexValue(l) else { return nil }
            out.append(hv << 4 | lv)
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }
}
