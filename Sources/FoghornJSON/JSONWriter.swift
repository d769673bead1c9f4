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
    public mutating func stringParts(_ parts: UnsafeRawBufferPointer...) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        for part in parts { JSONWriter.appendEscaped(part, to: &bytes) }
        bytes.append(UInt8(ascii: "\""))
    }
    public mutating func int<I: BinaryInteger>(_ i: I) { separator(); bytes.append(contentsOf: String(i).utf8) }
    public mutating func bool(_ b: Bool) { separator(); bytes.append(contentsOf: (b ? "true" : "false").utf8) }
    public mutating func null() { separator(); bytes.append(contentsOf: "null".utf8) }

    /// Writes a finite double in the shortest form that round-trips; non-finite values become `null`.
    public mutating func double(_ d: Double) {
        separator()
        guard d.isFinite else { bytes.append(contentsOf: "null".utf8); return }
        if d.rounded() == d && abs(d) < 1e15 {
            bytes.append(contentsOf: String(Int64(d)).utf8)
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

    /// Appends bytes escaped for the inside of a JSON string.
    public static func appendEscaped(_ raw: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        for b in raw {
            switch b {
            case UInt8(ascii: "\""): out.append(0x5C); out.append(b)
            case UInt8(ascii: "\\"): out.append(0x5C); out.append(b)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20, 0x7F:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
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
