import FoghornHTTPCore
import FoghornJSON

/// Writes a JSON answer straight into a loop's reusable ``ByteBuffer``: punctuation and keys as
/// static byte runs (one copy each: `{"nodeId":"` is one literal), strings escaped run-wise
/// (``JSONEscaping``; a URL or ID that needs no escaping is one copy), numbers without building
/// Strings. No allocation once the buffer has grown to the answers' size.
///
/// ```swift
/// var j = JSONBodyWriter(scratch)
/// j.raw("{\"viewers\":"); j.decimal(12); j.raw(",\"streamId\":"); j.quoted("live+a"); j.raw("}")
/// // {"viewers":12,"streamId":"live+a"}
/// ```
struct JSONBodyWriter {
    let out: ByteBuffer

    init(_ out: ByteBuffer) {
        self.out = out
        out.clear()
    }

    @inline(__always) func raw(_ literal: StaticString) { out.append(literal) }

    /// The inside of a string (no quotes).
    @inline(__always) func escaped(_ bytes: UnsafeRawBufferPointer) {
        if !JSONEscaping.needsEscaping(bytes) { out.append(bytes); return }
        JSONEscaping.escape(bytes) { out.append($0) }
    }

    /// `"…"`, escaped.
    func quoted(_ s: String) {
        out.append(UInt8(ascii: "\""))
        var copy = s
        copy.withUTF8 { escaped(UnsafeRawBufferPointer($0)) }
        out.append(UInt8(ascii: "\""))
    }

    func decimal(_ v: UInt64) { out.appendDecimal(Int(clamping: v)) }

    /// One decimal, as the shortest form a double would print (`340.7`, `50`): the same text as
    /// ``JSONWriter/oneDecimal(_:)``.
    func oneDecimal(_ d: Double) {
        let tenths = (d * 10).rounded()
        guard tenths.isFinite, abs(tenths) < 1e15 else {
            var w = JSONWriter(capacity: 32)
            w.double(d)
            w.bytes.withUnsafeBytes { out.append($0) }
            return
        }
        let t = Int64(tenths)
        if t < 0 { out.append(UInt8(ascii: "-")) }
        let m = t.magnitude
        out.appendDecimal(Int(m / 10))
        if m % 10 != 0 {
            out.append(UInt8(ascii: "."))
            out.append(UInt8(ascii: "0") &+ UInt8(m % 10))
        }
    }
}
