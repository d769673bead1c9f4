/// Appends JSON text to a byte array without building an intermediate tree.
///
/// ```swift
/// var w = JSONWriter()
/// w.objectStart(); w.key("code"); w.string("URI_TOO_LONG"); w.objectEnd()
/// String(decoding: w.bytes, as: UTF8.self)  // {"code":"URI_TOO_LONG"}
/// ```
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]
    private var needsComma = false

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    private mutating func separator() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    public mutating func objectStart() { separator(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func objectEnd() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func arrayStart() { separator(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func arrayEnd() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes an object key; the next value call writes its value.
    public mutating func key(_ k: String) {
        separator()
        JSONWriter.appendQuoted(k, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ s: String) { separator(); JSONWriter.appendQuoted(s, to: &bytes) }

    /// Writes one JSON string made of several byte runs (escaped), without building it first.
    public mutating func stringParts(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer? = nil, _ c: UnsafeRawBufferPointer? = nil) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        JSONWriter.appendEscaped(a, to: &bytes)
        if let b { JSONWriter.appendEscaped(b, to: &bytes) }
        if let c { JSONWriter.appendEscaped(c, to: &bytes) }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func int<I: BinaryInteger>(_ i: I) {
        separator()
        if let v = Int64(exactly: i) { JSONWriter.appendDecimal(v, to: &bytes) } else { bytes.append(contentsOf: String(i).utf8) }
    }

    /// Appends the decimal digits of `v` without building a String.
    @inline(__always) static func appendDecimal(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes ≥ 20 digits
        withUnsafeMutableBytes(of: &digits) { buf in
            var k = 24
            repeat { k -= 1; buf[k] = UInt8(ascii: "0") &+ UInt8(m % 10); m /= 10 } while m > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[k..<24]))
        }
    }

    /// A value rounded to one decimal (e.g. a distance in km), written as the shortest form
    /// `double` would write for it: `340.7`, `50` — without building a String.
    public mutating func oneDecimal(_ d: Double) {
        let written: Void? = JSONWriter.withOneDecimalText(d) { text in
            separator()
            bytes.append(contentsOf: text)
        }
        if written == nil { double(d) }
    }

    /// `d` rounded to one decimal as JSON number text — `340.7`, `50`, `-0.5` (a zero tenth is
    /// dropped, as `double` prints it) — handed to `body` from a stack buffer; nil, without
    /// calling `body`, when `d` is not finite or ≥ 1e14 in magnitude.
    @inlinable public static func withOneDecimalText<R>(_ d: Double, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        let tenths = (d * 10).rounded()
        guard tenths.isFinite, abs(tenths) < 1e15 else { return nil }
        let t = Int64(tenths)
        var m = t.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes ≥ sign, 15 digits, point, tenth
        return withUnsafeMutableBytes(of: &digits) { out in
            var k = 24
            let tenth = m % 10
            m /= 10
            if tenth != 0 {
                k -= 1; out[k] = UInt8(ascii: "0") &+ UInt8(tenth)
                k -= 1; out[k] = UInt8(ascii: ".")
            }
            repeat { k -= 1; out[k] = UInt8(ascii: "0") &+ UInt8(m % 10); m /= 10 } while m > 0
            if t < 0 { k -= 1; out[k] = UInt8(ascii: "-") }
            return body(UnsafeRawBufferPointer(rebasing: out[k..<24]))
        }
    }
    public mutating func bool(_ b: Bool) { separator(); bytes.append(contentsOf: (b ? "true" : "false").utf8) }
    public mutating func null() { separator(); bytes.append(contentsOf: "null".utf8) }

    /// Writes a finite double in the shortest form that round-trips; non-finite values become `null`.
    public mutating func double(_ d: Double) {
        separator()
        guard d.isFinite else { bytes.append(contentsOf: "null".utf8); return }
        if d.rounded() == d && abs(d) < 1e15 {
            JSONWriter.appendDecimal(Int64(d), to: &bytes)
        } else {
            bytes.append(contentsOf: d.description.utf8)
        }
    }

    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let a):
            arrayStart()
            for e in a { value(e) }
            arrayEnd()
        case .object(let o):
            objectStart()
            for m in o { key(m.key); value(m.value) }
            objectEnd()
        }
    }

    public mutating func field(_ k: String, _ s: String) { key(k); string(s) }
    public mutating func field<I: BinaryInteger>(_ k: String, _ i: I) { key(k); int(i) }
    public mutating func field(_ k: String, _ b: Bool) { key(k); bool(b) }
    public mutating func field(_ k: String, _ d: Double) { key(k); double(d) }

    /// Appends `s` as a JSON string literal, escaping quotes, backslashes and control characters.
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var copy = s
        copy.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0), to: &out) }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends bytes escaped for the inside of a JSON string (``JSONEscaping``): runs that need
    /// no escaping (the usual case: URLs, IDs) are copied in one append each.
    public static func appendEscaped(_ raw: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        if !JSONEscaping.needsEscaping(raw) { out.append(contentsOf: raw); return }
        JSONEscaping.escape(raw) { out.append(contentsOf: $0) }
    }
}

extension JSONValue {
    /// Compact JSON text of this value.
    public var jsonText: String {
        var w = JSONWriter()
        w.value(self)
        return w.string
    }
}
