/// Word-at-a-time (SWAR) byte scans for the parser's hot loops: eight bytes
/// per step using the classic "has zero byte" bit tricks, no SIMD intrinsics.
enum ByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Index of the first LF in `[from, end)`, or `end`.
    @inline(__always)
    static func firstLF(_ buf: UnsafeRawBufferPointer, from: Int, end: Int) -> Int {
        var i = from
        if let base = buf.baseAddress {
            while i &+ 8 <= end {
                let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let x = word ^ (ones &* 0x0A)
                let found = (x &- ones) & ~x & highs
                if found != 0 { return i &+ (found.trailingZeroBitCount >> 3) }
                i &+= 8
            }
        }
        while i < end {
            if buf[i] == 0x0A { return i }
            i &+= 1
        }
        return end
    }

    /// Skips bytes that are certainly field-value characters (0x20–0x7E and
    /// 0x80–0xFF) eight at a time; stops at the first word holding a control
    /// byte or DEL, which the caller then checks byte by byte. Never reads at or
    /// past `end`.
    @inline(__always)
    static func skipPlainValueWords(_ buf: UnsafeRawBufferPointer, from: Int, end: Int) -> Int {
        var i = from
        guard let base = buf.baseAddress else { return i }
        while i &+ 8 <= end {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            // Bytes below 0x20 (only meaningful for bytes < 0x80; others are excluded by ~word).
            let low = (word &- ones &* 0x20) & ~word & highs
            // Bytes equal to 0x7F.
            let x = word ^ (ones &* 0x7F)
            let del = (x &- ones) & ~x & highs
            if (low | del) != 0 { return i }
            i &+= 8
        }
        return i
    }

    /// Skips words of visible ASCII (0x21–0x7E) eight at a time; stops at the
    /// first word with any other byte. Never reads at or past `end`.
    @inline(__always)
    static func skipVisibleASCIIWords(_ buf: UnsafeRawBufferPointer, from: Int, end: Int) -> Int {
        var i = from
        guard let base = buf.baseAddress else { return i }
        while i &+ 8 <= end {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let low = (word &- ones &* 0x21) & ~word & highs
            let x = word ^ (ones &* 0x7F)
            let del = (x &- ones) & ~x & highs
            if (low | del | (word & highs)) != 0 { return i }
            i &+= 8
        }
        return i
    }

    /// Index of the first `?` or `#` in `[from, end)`, or `end`.
    @inline(__always)
    static func firstQueryOrFragment(_ buf: UnsafeRawBufferPointer, from: Int, end: Int) -> Int {
        var i = from
        if let base = buf.baseAddress {
            while i &+ 8 <= end {
                let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let q = word ^ (ones &* 0x3F)
                let h = word ^ (ones &* 0x23)
                let found = ((q &- ones) & ~q | (h &- ones) & ~h) & highs
                if found != 0 { return i &+ (found.trailingZeroBitCount >> 3) }
                i &+= 8
            }
        }
        while i < end {
            let b = buf[i]
            if b == 0x3F || b == 0x23 { return i }
            i &+= 1
        }
        return end
    }
}
