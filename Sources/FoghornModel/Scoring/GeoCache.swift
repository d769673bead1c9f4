#if canImport(Glibc)
import Glibc
#endif

/// A per-loop cache in front of a ``GeoLookup``: an open-addressing table keyed
/// by the 16-byte address (no `Hasher`, no allocation once grown), cleared when
/// full or when the database changes. Used by one loop only.
public final class GeoCache: @unchecked Sendable {
    private struct Slot {
        var high: UInt64
        var low: UInt64
        var used: Bool
        var known: Bool
        var point: GeoPoint
    }

    private var slots: UnsafeMutableBufferPointer<Slot>
    private var count = 0
    private var source: ObjectIdentifier?
    /// At most this many addresses are remembered (the table is twice as large).
    public let capacity: Int
    public private(set) var hits: UInt64 = 0
    public private(set) var misses: UInt64 = 0
    private static let empty = Slot(high: 0, low: 0, used: false, known: false, point: GeoPoint(lat: 0, lon: 0))

    public init(capacity: Int = 65536) {
        self.capacity = max(capacity, 4)
        slots = .allocate(capacity: 1024)
        slots.initialize(repeating: GeoCache.empty)
    }

    deinit { slots.deallocate() }

    @inline(__always) private static func hash(_ ip: IPAddress) -> Int {
        var z = ip.high &* 0x9E37_79B9_7F4A_7C15 ^ ip.low
        z = (z ^ (z >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return Int(truncatingIfNeeded: z ^ (z >> 29))
    }

    private func reset(size: Int) {
        slots.deallocate()
        slots = .allocate(capacity: size)
        slots.initialize(repeating: GeoCache.empty)
        count = 0
    }

    @inline(__always) public func position(of ip: IPAddress, in lookup: (any GeoLookup)?) -> GeoPoint? {
        guard let lookup else { return nil }
        let id = ObjectIdentifier(lookup)
        if source != id {
            reset(size: 1024)
            source = id
        }
        let mask = slots.count - 1
        var i = GeoCache.hash(ip) & mask
        while slots[i].used {
            if slots[i].high == ip.high && slots[i].low == ip.low {
                hits &+= 1
                return slots[i].known ? slots[i].point : nil
            }
            i = (i + 1) & mask
        }
        misses &+= 1
        let p = lookup.position(of: ip)
        if count + 1 > slots.count / 2 {
            if slots.count * 2 <= capacity * 2 {
                grow()
            } else {
                reset(size: slots.count)  // full: start over (bounded memory, no eviction bookkeeping)
            }
            return insert(ip, p)
        }
        slots[i] = Slot(high: ip.high, low: ip.low, used: true, known: p != nil, point: p ?? GeoCache.empty.point)
        count += 1
        return p
    }

    private func grow() {
        let old = slots
        slots = .allocate(capacity: old.count * 2)
        slots.initialize(repeating: GeoCache.empty)
        count = 0
        for slot in old where slot.used {
            _ = insert(IPAddress(high: slot.high, low: slot.low), slot.known ? slot.point : nil)
        }
        old.deallocate()
    }

    private func insert(_ ip: IPAddress, _ p: GeoPoint?) -> GeoPoint? {
        let mask = slots.count - 1
        var i = GeoCache.hash(ip) & mask
        while slots[i].used { i = (i + 1) & mask }
        slots[i] = Slot(high: ip.high, low: ip.low, used: true, known: p != nil, point: p ?? GeoCache.empty.point)
        count += 1
        return p
    }
}
