/// A strict RFC 8259 JSON parser.
///
/// Rejects trailing commas, comments, leading zeros, lone surrogates,
/// unescaped control characters, duplicate object keys and anything after the
/// top-level value. Nesting is bounded (`maxDepth`) so hostile input cannot
/// exhaust the stack.
///
/// ```swift
/// let v = try JSONParser.parse(Array(#"{"a":[1,2.5,"x"]}"#.utf8))
/// v["a"]  // .array([.int(1), .double(2.5), .string("x")])
/// ```
public struct JSONParser {
    public struct Error: Swift.Error, Equatable, CustomStringConvertible, Sendable {
        /// Byte offset of the problem in the input.
        public var offset: Int
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    public static let defaultMaxDepth = 64

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(Error) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(Error) in
            try parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth)
        }
    }

    public static func parse(_ string: String, maxDepth: Int = defaultMaxDepth) throws(Error) -> JSONValue {
        try parse(Array(string.utf8), maxDepth: maxDepth)
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(Error) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    /// Parses a document whose top-level members named in `streamed` may be large arrays, handing
    /// each of their elements to `element` (member name, element index, value) as soon as it is
    /// parsed instead of keeping it: in the result those members are empty arrays. A config file
    /// with 10,000 edges is then never one tree in memory. When `element` returns false, parsing
    /// stops with an error whose reason is ``stoppedReason`` (the caller has its own error to report).
    ///
    /// ```swift
    /// var ids: [String] = []
    /// let rest = try JSONParser.parse(bytes, streaming: ["edges"]) { _, _, edge in
    ///     ids.append(edge["node_id"]?.stringValue ?? ""); return true
    /// }
    /// rest["edges"]  // .array([])
    /// ```
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth, streaming streamed: Set<String>,
        element: (String, Int, JSONValue) -> Bool
    ) throws(Error) -> JSONValue {
        try withoutActuallyEscaping(element) { (element) throws(Error) -> JSONValue in
            var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
            parser.streamed = streamed
            parser.onElement = element
            return try parser.parseDocument()
        }
    }

    /// The reason of the error thrown when a streaming consumer stopped the parse.
    public static let stoppedReason = "stopped by the consumer"

    private mutating func parseDocument() throws(Error) -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if index != bytes.count { throw fail("unexpected data after the top-level value") }
        return value
    }

    private let bytes: UnsafeRawBufferPointer
    private let maxDepth: Int
    private var index = 0
    /// Top-level members whose array elements go to `onElement` (see ``parse(_:maxDepth:streaming:element:)``).
    private var streamed: Set<String> = []
    private var onElement: ((String, Int, JSONValue) -> Bool)?

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private func fail(_ reason: String) -> Error { Error(offset: index, reason: reason) }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(Error) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(Error) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of input") }
        let p = literal.utf8Start
        for i in 0..<count where bytes[index + i] != p[i] { throw fail("invalid literal") }
        index += count
    }

    private mutating func parseObject(depth: Int) throws(Error) -> JSONValue {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        var seen = KeySet()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyOffset = index
            let key = try parseString()
            // Duplicate keys: a linear check for small objects, a set past 8 members (an edge's
            // 100 streams compared pairwise cost 5,000 string comparisons each).
            if members.count < 8 {
                for m in members where m.key == key { throw Error(offset: keyOffset, reason: "duplicate key \"\(key)\"") }
            } else {
                if seen.isEmpty { for m in members { _ = seen.insert(m.key, members: members) } }
                guard seen.insert(key, members: members) else { throw Error(offset: keyOffset, reason: "duplicate key \"\(key)\"") }
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            let value: JSONValue
            if depth == 1, let onElement, index < bytes.count, bytes[index] == UInt8(ascii: "["), streamed.contains(key) {
                try streamArray(key, depth: depth + 1, to: onElement)
                value = .array([])
            } else {
                value = try parseValue(depth: depth)
            }
            members.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws(Error) -> JSONValue {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            throw fail("expected ',' or ']'")
        }
    }

    /// Like ``parseArray(depth:)``, but each element goes to `consume` instead of into an array.
    private mutating func streamArray(_ key: String, depth: Int, to consume: (String, Int, JSONValue) -> Bool) throws(Error) {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return }
        var count = 0
        while true {
            skipWhitespace()
            let start = index
            let element = try parseValue(depth: depth)
            guard consume(key, count, element) else { throw Error(offset: start, reason: JSONParser.stoppedReason) }
            count += 1
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func parseNumber() throws(Error) -> JSONValue {
        let start = index
        var integral = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw fail("leading zero in number") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected a digit after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected a digit in exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral, let i = Int64(text) { return .int(i) }
        guard let d = Double(text), d.isFinite else { throw Error(offset: start, reason: "number out of range") }
        return .double(d)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private mutating func parseString() throws(Error) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes.
        var high: UInt8 = 0  // any byte ≥ 0x80 sets the top bit
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if high & 0x80 == 0 {
                    // ASCII is valid UTF-8: copied as is (the generic validating initialiser
                    // cost ≈ 14 % of reading a 10,000-edge config file).
                    return String(unsafeUninitializedCapacity: slice.count) { out in
                        guard let base = slice.baseAddress, let dst = out.baseAddress else { return 0 }
                        UnsafeMutableRawPointer(dst).copyMemory(from: base, byteCount: slice.count)
                        return slice.count
                    }
                }
                return try validatedUTF8(slice, offset: start)
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("unescaped control character in string") }
            high |= b
            index += 1
        }
        var out: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw Error(offset: start, reason: "string is not valid UTF-8")
                }
                return s
            }
            if b < 0x20 { throw fail("unescaped control character in string") }
            if b != UInt8(ascii: "\\") { out.append(b); index += 1; continue }
            index += 1
            guard index < bytes.count else { break }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw fail("lone high surrogate")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("invalid low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw fail("lone low surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid unicode escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    private mutating func parseHex4() throws(Error) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("truncated unicode escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw fail("invalid hex digit in unicode escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    private func validatedUTF8(_ raw: UnsafeRawBufferPointer, offset: Int) throws(Error) -> String {
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw Error(offset: offset, reason: "string is not valid UTF-8")
        }
        return s
    }
}

/// The keys of one large object, for the duplicate check: FNV-1a hashes of their bytes in a
/// small open-addressing table of member positions (a `Set<String>` — SipHash, resizes — took
/// ≈ 9 % of reading a 10,000-edge config file whose edges list 100 streams each).
private struct KeySet {
    private var slots: [Int32] = []  // member position + 1; 0 empty
    private var hashes: [UInt64] = []  // by member position
    var isEmpty: Bool { hashes.isEmpty }

    /// Adds `key` (the member about to be appended at `members.count`, or already at
    /// `hashes.count`); false when an earlier member has the same key.
    mutating func insert(_ key: String, members: [(key: String, value: JSONValue)]) -> Bool {
        var k = key
        let h = k.withUTF8 { bytes -> UInt64 in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            return h
        }
        if (hashes.count + 1) * 2 > slots.count { grow() }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        while slots[i] != 0 {
            let m = Int(slots[i]) - 1
            if hashes[m] == h && members[m].key == key { return false }
            i = (i + 1) & mask
        }
        slots[i] = Int32(hashes.count + 1)
        hashes.append(h)
        return true
    }

    private mutating func grow() {
        var n = max(slots.count * 2, 32)
        while (hashes.count + 1) * 2 > n { n *= 2 }
        slots = [Int32](repeating: 0, count: n)
        let mask = n - 1
        for (m, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = Int32(m + 1)
        }
    }
}
