/// An immutable open-addressing hash table from byte strings to `Int32`,
/// looked up with the request's own bytes — no `String`, no allocation.
/// Hash: FNV-1a 64 (deterministic across processes).
public struct ByteKeyTable: Sendable {
    private let slots: [Int32]      // index into starts/hashes/values, -1 = empty
    /// All keys back to back; key `i` is `keyBytes[starts[i]..<starts[i + 1]]` (one buffer, not
    /// one array per key: 100,000 playback IDs took 3.8 MB as separate arrays).
    private let keyBytes: [UInt8]
    private let starts: [UInt32]
    private let hashes: [UInt64]
    private let values: [Int32]
    private let mask: Int
    /// Keys the slots hold (entries minus those removed by ``updated(removing:inserting:)``).
    private let live: Int

    /// Keys `keys[i]` → `Int32(i)`; a repeated key maps to its last index.
    public init(keys: [String]) {
        self.init(count: keys.count) { i, add in
            var k = keys[i]
            k.withUTF8 { add(UnsafeRawBufferPointer($0), Int32(i), nil) }
        }
    }

    public init(_ entries: [(key: [UInt8], value: Int32)]) {
        self.init(count: entries.count) { i, add in
            entries[i].key.withUnsafeBytes { add($0, entries[i].value, nil) }
        }
    }

    /// `count` entries, the `i`th handed over by `entry(i, add)` calling `add(keyBytes, value,
    /// hash)` — `hash` is ``hash(_:)`` of the key when the caller has it already, else nil.
    init(count: Int, entry: (Int, (UnsafeRawBufferPointer, Int32, UInt64?) -> Void) -> Void) {
        var capacity = 8
        while capacity < count * 2 { capacity *= 2 }
        var slots = [Int32](repeating: -1, count: capacity)
        var keyBytes: [UInt8] = []
        keyBytes.reserveCapacity(count * 16)
        var starts: [UInt32] = [0]
        var hashes: [UInt64] = []
        var values: [Int32] = []
        starts.reserveCapacity(count + 1)
        hashes.reserveCapacity(count)
        values.reserveCapacity(count)
        for i in 0..<count {
            entry(i) { key, value, known in
                let h = known ?? ByteKeyTable.hash(key)
                var s = Int(truncatingIfNeeded: h) & (capacity - 1)
                while slots[s] >= 0 {
                    let existing = Int(slots[s])
                    if hashes[existing] == h {
                        let same = keyBytes.withUnsafeBytes { all in
                            ByteKeyTable.equal(all, Int(starts[existing]), Int(starts[existing + 1]), key)
                        }
                        if same { values[existing] = value; return }
                    }
                    s = (s + 1) & (capacity - 1)
                }
                slots[s] = Int32(hashes.count)
                keyBytes.append(contentsOf: key)
                starts.append(UInt32(keyBytes.count))
                hashes.append(h)
                values.append(value)
            }
        }
        self.slots = slots
        self.keyBytes = keyBytes
        self.starts = starts
        self.hashes = hashes
        self.values = values
        mask = capacity - 1
        live = hashes.count
    }

    @inline(__always)
    static func equal(_ all: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let n = end &- start
        return n == key.count && (n == 0 || memcmpBytes(all.baseAddress.unsafelyUnwrapped + start, key.baseAddress.unsafelyUnwrapped, n))
    }

    /// Entries stored, including ones ``updated(removing:inserting:)`` took out of the slots.
    public var count: Int { hashes.count }

    /// A copy with `removing`'s keys gone and `inserting`'s keys mapped to their values (added,
    /// or updated where present) — O(table size) copying and a probe per key instead of hashing
    /// every key again (a playback record set or removed among 100,000). Removed keys leave their
    /// bytes behind; nil when the result would be more than half full or carry more unused
    /// entries than live ones (build a fresh table then).
    ///
    /// The half-full bound is checked before each new key takes a slot, not after the batch: a
    /// batch with more new keys than free slots (1,000 playback records PUT into a table of 64
    /// slots) declines at the first key past half full instead of probing a full table forever.
    /// Every probe loop is also bounded by the slot count, so no input can make one spin.
    public func updated(removing: [String], inserting: [(key: String, value: Int32)]) -> ByteKeyTable? {
        let capacity = mask + 1
        var slots = self.slots
        var keyBytes = self.keyBytes, starts = self.starts, hashes = self.hashes, values = self.values
        var live = self.live
        let mask = self.mask
        /// The slot holding `key`, or nil; at most `capacity` probes.
        func find(_ key: UnsafeRawBufferPointer, _ h: UInt64) -> Int? {
            var s = Int(truncatingIfNeeded: h) & mask
            var probes = 0
            while slots[s] >= 0 && probes < capacity {
                let e = Int(slots[s])
                if hashes[e] == h && keyBytes.withUnsafeBytes({ ByteKeyTable.equal($0, Int(starts[e]), Int(starts[e + 1]), key) }) { return s }
                s = (s + 1) & mask
                probes += 1
            }
            return nil
        }
        for var key in removing {
            key.withUTF8 { bytes in
                let key = UnsafeRawBufferPointer(bytes)
                guard var hole = find(key, ByteKeyTable.hash(key)) else { return }
                // Backward-shift deletion: later entries of the probe run move up into the hole
                // unless their home slot lies cyclically after it.
                slots[hole] = -1
                live -= 1
                var j = hole
                while true {
                    j = (j + 1) & mask
                    guard slots[j] >= 0 else { break }
                    let home = Int(truncatingIfNeeded: hashes[Int(slots[j])]) & mask
                    let stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
                    if stays { continue }
                    slots[hole] = slots[j]
                    slots[j] = -1
                    hole = j
                }
            }
        }
        for (k, value) in inserting {
            var key = k
            let placed = key.withUTF8 { bytes -> Bool in
                let key = UnsafeRawBufferPointer(bytes)
                let h = ByteKeyTable.hash(key)
                if let s = find(key, h) { values[Int(slots[s])] = value; return true }
                // A new key: only while the table stays at most half full, so a free slot exists
                // and the probe below ends.
                guard (live + 1) * 2 <= capacity else { return false }
                var s = Int(truncatingIfNeeded: h) & mask
                while slots[s] >= 0 { s = (s + 1) & mask }
                slots[s] = Int32(hashes.count)
                keyBytes.append(contentsOf: key)
                starts.append(UInt32(keyBytes.count))
                hashes.append(h)
                values.append(value)
                live += 1
                return true
            }
            if !placed { return nil }
        }
        guard live * 2 <= capacity, hashes.count - live <= live else { return nil }
        return ByteKeyTable(slots: slots, keyBytes: keyBytes, starts: starts, hashes: hashes, values: values, mask: mask, live: live)
    }

    private init(slots: [Int32], keyBytes: [UInt8], starts: [UInt32], hashes: [UInt64], values: [Int32], mask: Int, live: Int) {
        self.slots = slots
        self.keyBytes = keyBytes
        self.starts = starts
        self.hashes = hashes
        self.values = values
        self.mask = mask
        self.live = live
    }

    @inline(__always) public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    public func lookup(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        let h = ByteKeyTable.hash(bytes)
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let index = slots[s]
            if index < 0 { return nil }
            let i = Int(index)
            if hashes[i] == h && keyBytes.withUnsafeBytes({ ByteKeyTable.equal($0, Int(starts[i]), Int(starts[i &+ 1]), bytes) }) {
                return values[i]
            }
            s = (s &+ 1) & mask
        }
    }

    public func lookup(_ key: String) -> Int32? {
        var k = key
        return k.withUTF8 { lookup(UnsafeRawBufferPointer($0)) }
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i &+= 1
    }
    return true
}
