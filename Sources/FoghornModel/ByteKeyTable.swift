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
    }

    @inline(__always)
    static func equal(_ all: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let n = end &- start
        return n == key.count && (n == 0 || memcmpBytes(all.baseAddress.unsafelyUnwrapped + start, key.baseAddress.unsafelyUnwrapped, n))
    }

    public var count: Int { hashes.count }

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
