/// A hash index over keys kept in the caller's own dense array (positions `0..<count`): open
/// addressing with linear probing, 4 bytes per slot plus a 4-byte hash per position.
///
/// A `[String: Int32]` beside an array of records stores every key twice and, at 100,000 keys,
/// 262,144 slots of 20 bytes (5.2 MB); this index takes ≈ 1.4 MB and compares keys through the
/// caller (`keyAt`). Removal mirrors an array's swap-remove: the last position moves into the hole.
///
/// ```swift
/// var names = ["a", "b"], index = DenseKeyIndex()
/// index.append(hash: DenseKeyIndex.hash("a"))   // position 0
/// index.append(hash: DenseKeyIndex.hash("b"))   // position 1
/// index.find("b", hash: DenseKeyIndex.hash("b")) { names[$0] }  // 1
/// index.remove(position: 0)                     // "b" moves to position 0
/// names[0] = names[1]; names.removeLast()
/// index.find("b", hash: DenseKeyIndex.hash("b")) { names[$0] }  // 0
/// ```
public struct DenseKeyIndex: Sendable {
    /// Position per slot, -1 when empty. Capacity is a power of two, at most half full.
    private var slots: [Int32] = []
    /// Hash per position.
    private var hashes: [UInt32] = []
    /// One bit per position: taken out by ``vacate(position:)`` and not refilled by
    /// ``reuse(position:hash:)`` (empty until the first vacancy).
    private var vacant = DenseBits()
    private var vacancies = 0

    public init() {}

    public var count: Int { hashes.count }

    /// FNV-1a of the key's UTF-8 bytes, folded to 32 bits.
    public static func hash(_ key: String) -> UInt32 {
        var k = key
        let h = k.withUTF8 { ByteKeyTable.hash(UnsafeRawBufferPointer($0)) }
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    /// The position whose key equals `key` (`keyAt(position)` gives the caller's key there).
    public func find(_ key: String, hash h: UInt32, keyAt: (Int) -> String) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var s = Int(h) & mask
        while true {
            let p = Int(slots[s])
            if p < 0 { return nil }
            if hashes[p] == h && keyAt(p) == key { return p }
            s = (s + 1) & mask
        }
    }

    /// Indexes position `count` (the caller appended its key, known to be absent).
    public mutating func append(hash h: UInt32) {
        hashes.append(h)
        if slots.count < hashes.count * 2 {
            rehash(capacity: max(16, slots.count * 2))
        } else {
            place(Int32(hashes.count - 1))
        }
    }

    /// Room for `n` positions without rehashing.
    public mutating func reserveCapacity(_ n: Int) {
        hashes.reserveCapacity(n)
        var capacity = max(16, slots.count)
        while capacity < n * 2 { capacity *= 2 }
        if capacity > slots.count { rehash(capacity: capacity) }
    }

    /// Forgets `position`; the last position (if another) now answers as `position`, as after
    /// `array[position] = array.removeLast()`. (Not for an index with vacated positions.)
    public mutating func remove(position: Int) {
        unlink(position)
        let last = hashes.count - 1
        if position != last {
            slots[slot(of: last)] = Int32(position)
            hashes[position] = hashes[last]
        }
        hashes.removeLast()
    }

    /// Forgets `position` and leaves every other position where it is (the caller keeps a hole,
    /// to be filled by ``reuse(position:hash:)``): `find` never answers it meanwhile.
    public mutating func vacate(position: Int) {
        unlink(position)
        vacant.insert(position)
        vacancies += 1
    }

    /// Indexes `position` (vacated before) under a new key's hash.
    public mutating func reuse(position: Int, hash h: UInt32) {
        precondition(vacant.contains(position), "position \(position) is not vacant")
        vacant.remove(position)
        vacancies -= 1
        hashes[position] = h
        place(Int32(position))
    }

    /// Takes `position` out of the slots (backward-shift deletion).
    private mutating func unlink(_ position: Int) {
        let mask = slots.count - 1
        var hole = slot(of: position)
        slots[hole] = -1
        // Backward-shift deletion: pull later members of the probe run into the hole when their
        // home slot does not lie cyclically in (hole, j].
        var j = hole
        while true {
            j = (j + 1) & mask
            let p = Int(slots[j])
            if p < 0 { break }
            let home = Int(hashes[p]) & mask
            let stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !stays {
                slots[hole] = slots[j]
                slots[j] = -1
                hole = j
            }
        }
    }

    private func slot(of position: Int) -> Int {
        let mask = slots.count - 1
        var s = Int(hashes[position]) & mask
        while Int(slots[s]) != position { s = (s + 1) & mask }
        return s
    }

    private mutating func place(_ position: Int32) {
        let mask = slots.count - 1
        var s = Int(hashes[Int(position)]) & mask
        while slots[s] >= 0 { s = (s + 1) & mask }
        slots[s] = position
    }

    private mutating func rehash(capacity: Int) {
        slots = [Int32](repeating: -1, count: capacity)
        for p in 0..<hashes.count where vacancies == 0 || !vacant.contains(p) { place(Int32(p)) }
    }
}
