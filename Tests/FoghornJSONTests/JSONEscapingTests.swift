import Testing
@testable import FoghornJSON

/// The word-at-a-time check and the run-wise escaper against a byte-by-byte reference.
@Suite struct JSONEscapingTests {
    static func reference(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out += Array(#"\u00"#.utf8) + [hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: out.append(b)
            }
        }
        return out
    }

    @Test func matchesTheByteByByteReference() {
        var state: UInt64 = 99
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        // Mostly URL-like bytes, with every special (and bytes next to them: 0x1F, 0x20, 0x21,
        // 0x5B, 0x5D, 0x7E, 0x80, 0xFF) sprinkled at every offset of the 8-byte words.
        let specials: [UInt8] = [0, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F, 0x80, 0xC3, 0xFF]
        for round in 0..<3000 {
            let n = Int(next() % 41)
            var bytes = (0..<n).map { _ in UInt8(ascii: "a") + UInt8(next() % 26) }
            if n > 0 && round % 3 != 0 {
                for _ in 0...(next() % 3) { bytes[Int(next() % UInt64(n))] = specials[Int(next() % UInt64(specials.count))] }
            }
            let expected = Self.reference(bytes)
            bytes.withUnsafeBytes { raw in
                #expect(JSONEscaping.needsEscaping(raw) == (expected != bytes), "round \(round): \(bytes)")
                var out: [UInt8] = []
                JSONWriter.appendEscaped(raw, to: &out)
                #expect(out == expected, "round \(round): \(bytes)")
                var viaRuns: [UInt8] = []
                JSONEscaping.escape(raw) { viaRuns.append(contentsOf: $0) }
                #expect(viaRuns == expected, "round \(round)")
            }
        }
    }
}
