import FoghornHTTPCore
import FoghornJSON
import FoghornModel

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
    /// ``JSONWriter/oneDecimal(_:)`` (``JSONWriter/withOneDecimalText(_:_:)``).
    func oneDecimal(_ d: Double) {
        if JSONWriter.withOneDecimalText(d, { out.append($0) }) != nil { return }
        var w = JSONWriter(capacity: 32)
        w.double(d)
        w.bytes.withUnsafeBytes { out.append($0) }
    }

    /// Bytes that are JSON-clean already (`clean`) copied, others escaped.
    @inline(__always) func escaped(_ bytes: UnsafeRawBufferPointer, clean: Bool) {
        if clean { out.append(bytes) } else { JSONEscaping.escape(bytes) { out.append($0) } }
    }

    /// The URL of `t` for the stream `name` as a JSON string, straight from the template bytes
    /// (their escaping decided once per template, the name's once per answer: `nameClean`).
    @inline(__always) func url(_ t: URLTemplate, name: UnsafeRawBufferPointer, nameClean: Bool, scheme: EdgeScheme = .template) {
        out.append(UInt8(ascii: "\""))
        t.withParts { prefix, suffix in
            if scheme != .template, let rest = EdgeScheme.afterHTTPScheme(prefix) {
                out.append(scheme == .https ? "https" : "http")
                escaped(UnsafeRawBufferPointer(rebasing: prefix[rest...]), clean: !t.needsJSONEscaping)
            } else {
                escaped(prefix, clean: !t.needsJSONEscaping)
            }
            if t.hasStreamPlaceholder {
                escaped(name, clean: nameClean)
                escaped(suffix, clean: !t.needsJSONEscaping)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
