/// A growable set of small non-negative integers, one bit each (positions past the end read as
/// unset): per-ID flags for tables of 100,000s of IDs in kilobytes instead of a byte or word each.
///
/// ```swift
/// var b = DenseBits()
/// b.insert(70)        // grows to two words
/// b.contains(70)      // true
/// b.contains(5_000)   // false (past the end)
/// b.remove(70)
/// b.removeAll()       // keeps the words, all zero
/// ```
public struct DenseBits: Sendable {
    private var words: [UInt64] = []

    public init() {}

    @inline(__always) public func contains(_ i: Int) -> Bool {
        i >> 6 < words.count && words[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    public mutating func insert(_ i: Int) {
        if i >> 6 >= words.count { words.append(contentsOf: repeatElement(0, count: (i >> 6) + 1 - words.count)) }
        words[i >> 6] |= 1 << UInt64(i & 63)
    }

    @inline(__always) public mutating func remove(_ i: Int) {
        if i >> 6 < words.count { words[i >> 6] &= ~(1 << UInt64(i & 63)) }
    }

    /// Every bit unset (the storage is kept).
    public mutating func removeAll() {
        for k in words.indices { words[k] = 0 }
    }
}
