/// An immutable open-addressing hash table from byte strings to `Int32`,
/// looked up with the request's own bytes — no `String`, no allocation.
/// Hash: FNV-1a 64 (deterministic across processes).
public struct ByteKeyTable: Sendable {
    private let slots: [Int32]      // index into keys/values, -1 = empty
    private let keys: [[UInt8]]
    private let hashes: [UInt64]
    private let values: [Int32]
    private let mask: Int

    public init(_ entries: [(key: [UInt8], value: Int32)]) {
        var capacity = 8
        while capacity < entries.count * 2 { capacity *= 2 }
        var slots = [Int32](repeating: -1, count: capacity)
        var keys: [[UInt8]] = []
        var hashes: [UInt64] = []
        var values: [Int32] = []
        keys.reserveCapacity(entries.count)
        for (key, value) in entries {
            let h = key.withUnsafeBytes { ByteKeyTable.hash($0) }
            var s = Int(truncatingIfNeeded: h) & (capacity - 1)
            var replaced = false
            while slots[s] >= 0 {
                let existing = Int(slots[s])
                if hashes[existing] == h && keys[existing] == key { values[existing] = value; replaced = true; break }
                s = (s + 1) & (capacity - 1)
            }
            if replaced { continue }
            slots[s] = Int32(keys.count)
            keys.append(key)
            hashes.append(h)
            values.append(value)
        }
        self.slots = slots
        self.keys = keys
        self.hashes = hashes
        self.values = values
        mask = capacity - 1
    }

    public var count: Int { keys.count }

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
            if hashes[i] == h {
                let equal = keys[i].withUnsafeBytes { k in
                    k.count == bytes.count && (k.count == 0 || memcmpBytes(k.baseAddress!, bytes.baseAddress!, k.count))
                }
                if equal { return values[i] }
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
