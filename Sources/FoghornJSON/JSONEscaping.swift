/// Escaping for the inside of a JSON string: `"` and `\` are backslash-escaped, control
/// characters (below 0x20, and DEL) become `\n`, `\r`, `\t` or `\u00XX`; every other byte —
/// UTF-8 included — is copied as it is.
///
/// ```swift
/// JSONEscaping.needsEscaping(UnsafeRawBufferPointer("https://e/hls"))  // false
/// // "a\"b" → a\"b, "tab\there" → tab\there
/// ```
public enum JSONEscaping {
    /// Whether any byte of `raw` must be escaped: eight bytes per step (the URLs and IDs of a
    /// JSON answer almost never need it, so this check is the usual whole cost).
    @inlinable public static func needsEscaping(_ raw: UnsafeRawBufferPointer) -> Bool {
        let n = raw.count
        guard let base = raw.baseAddress, n > 0 else { return false }
        var i = 0
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        while i &+ 8 <= n {
            let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            // A byte below 0x20 (high bit clear), or equal to '"', '\\' or DEL.
            let below = (w &- ones &* 0x20) & ~w & highs
            let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C), del = w ^ (ones &* 0x7F)
            let zeros = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (del &- ones) & ~del) & highs
            if below | zeros != 0 { return true }
            i &+= 8
        }
        while i < n {
            if isSpecial(base.load(fromByteOffset: i, as: UInt8.self)) { return true }
            i &+= 1
        }
        return false
    }

    @inlinable @inline(__always) static func isSpecial(_ b: UInt8) -> Bool {
        b < 0x20 || b == 0x7F || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\")
    }

    /// Hands `raw`, escaped, to `emit`: runs that need no escaping in one call each, each
    /// escape sequence in another.
    @inlinable public static func escape(_ raw: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) {
        var runStart = 0
        var i = 0
        let n = raw.count
        while i < n {
            let b = raw[i]
            if !isSpecial(b) { i &+= 1; continue }
            if i > runStart { emit(UnsafeRawBufferPointer(rebasing: raw[runStart..<i])) }
            var sequence: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0x5C, b, 0, 0, 0, 0)
            var length = 2
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): break
            case 0x0A: sequence.1 = UInt8(ascii: "n")
            case 0x0D: sequence.1 = UInt8(ascii: "r")
            case 0x09: sequence.1 = UInt8(ascii: "t")
            default:
                let high = b >> 4, low = b & 0xF
                sequence = (0x5C, UInt8(ascii: "u"), 0x30, 0x30, high < 10 ? 0x30 + high : 0x57 + high, low < 10 ? 0x30 + low : 0x57 + low)
                length = 6
            }
            withUnsafeBytes(of: &sequence) { emit(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
            i &+= 1
            runStart = i
        }
        if n > runStart { emit(UnsafeRawBufferPointer(rebasing: raw[runStart..<n])) }
    }
}
