#if canImport(Glibc)
import Glibc
#endif

/// Reads a City record's `location.latitude` and `location.longitude` straight from a MaxMind
/// DB data section (format 2.0: a control byte per value — type in the top 3 bits, size in the
/// low 5 — pointers to shared values, maps of key/value pairs), skipping the values before
/// `location` with a few instructions each. libmaxminddb's `MMDB_aget_value` decodes every
/// skipped value with its full checks: ≈ 2,700 instructions per lookup for these two numbers.
///
/// Every read is bounds-checked; anything not laid out as expected (an unknown type, a pointer
/// to a pointer, a key that is not a string, a size past the end, more values than a record can
/// hold) returns nil, and the caller asks libmaxminddb instead, so a surprising database is
/// slower, never wrong.
///
/// Example: record `{city: {…}, continent: {…}, country: {…}, location: →{accuracy_radius:
/// 20, latitude: 52.37, longitude: 4.89, …}, …}` → `(52.37, 4.89)` after skipping three maps.
struct MMDBLocationReader {
    let data: UnsafePointer<UInt8>
    let size: Int

    static let mapType = 7, pointerType = 1, stringType = 2, doubleType = 3, floatType = 15, boolType = 14
    /// Values skipped at most per lookup (a City record has a few hundred).
    static let maxSkippedValues = 20_000

    /// `(type, size or pointer target, offset of the payload or of what follows the pointer)`.
    @inline(__always) func control(_ at: Int) -> (type: Int, size: Int, next: Int)? {
        var o = at
        guard o < size else { return nil }
        let c = Int(data[o]); o &+= 1
        var type = c >> 5
        if type == MMDBLocationReader.pointerType {
            let extra = (c >> 3) & 3
            guard o &+ extra &+ 1 <= size else { return nil }
            let v = c & 7
            var p = 0
            for k in 0...extra { p = p << 8 | Int(data[o &+ k]) }
            switch extra {
            case 0: p |= v << 8
            case 1: p = (p | v << 16) &+ 2048
            case 2: p = (p | v << 24) &+ 526_336
            default: break  // 4 bytes, v unused
            }
            return (type, p, o &+ extra &+ 1)
        }
        if type == 0 {
            guard o < size else { return nil }
            type = 7 &+ Int(data[o]); o &+= 1
            guard type >= 8 && type <= 15 else { return nil }
        }
        var length = c & 31
        if length >= 29 {
            let bytes = length &- 28
            guard o &+ bytes <= size else { return nil }
            var v = 0
            for k in 0..<bytes { v = v << 8 | Int(data[o &+ k]) }
            o &+= bytes
            length = length == 29 ? 29 &+ v : length == 30 ? 285 &+ v : 65_821 &+ v
        }
        return (type, length, o)
    }

    /// The value at `at`, through at most one pointer.
    @inline(__always) func resolved(_ at: Int) -> (type: Int, size: Int, payload: Int)? {
        guard let v = control(at) else { return nil }
        if v.type != MMDBLocationReader.pointerType { return (v.type, v.size, v.next) }
        guard let t = control(v.size), t.type != MMDBLocationReader.pointerType else { return nil }
        return (t.type, t.size, t.next)
    }

    /// Offset just past the value at `at` (a pointer is skipped, not followed).
    func skip(_ at: Int, budget: inout Int) -> Int? {
        var o = at
        var pending = 1
        while pending > 0 {
            budget &-= 1
            guard budget > 0, let v = control(o) else { return nil }
            pending &-= 1
            switch v.type {
            case MMDBLocationReader.pointerType, MMDBLocationReader.boolType: o = v.next
            case MMDBLocationReader.mapType: o = v.next; pending &+= 2 &* v.size
            case 11: o = v.next; pending &+= v.size  // array
            default:
                guard v.next &+ v.size <= size else { return nil }
                o = v.next &+ v.size
            }
        }
        return o
    }

    /// Offset of the value stored under `key` in the map at `at`.
    func value(forKey key: StaticString, inMapAt at: Int, budget: inout Int) -> Int? {
        guard let map = resolved(at), map.type == MMDBLocationReader.mapType else { return nil }
        let keyBytes = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        var o = map.payload
        for _ in 0..<map.size {
            guard let k = control(o) else { return nil }
            let name: (type: Int, size: Int, payload: Int)
            if k.type == MMDBLocationReader.pointerType {
                guard let target = control(k.size) else { return nil }
                name = (target.type, target.size, target.next)
            } else {
                name = (k.type, k.size, k.next)
            }
            guard name.type == MMDBLocationReader.stringType, name.payload &+ name.size <= size else { return nil }
            o = k.type == MMDBLocationReader.pointerType ? k.next : k.next &+ k.size
            if name.size == keyBytes.count && memcmp(data + name.payload, keyBytes.baseAddress!, name.size) == 0 { return o }
            guard let next = skip(o, budget: &budget) else { return nil }
            o = next
        }
        return nil
    }

    /// A double (or float) value at `at`, through a pointer.
    func number(_ at: Int) -> Double? {
        guard let v = resolved(at) else { return nil }
        if v.type == MMDBLocationReader.doubleType && v.size == 8 && v.payload &+ 8 <= size {
            var bits: UInt64 = 0
            for k in 0..<8 { bits = bits << 8 | UInt64(data[v.payload &+ k]) }
            return Double(bitPattern: bits)
        }
        if v.type == MMDBLocationReader.floatType && v.size == 4 && v.payload &+ 4 <= size {
            var bits: UInt32 = 0
            for k in 0..<4 { bits = bits << 8 | UInt32(data[v.payload &+ k]) }
            return Double(Float(bitPattern: bits))
        }
        return nil
    }

    /// `location.latitude` and `location.longitude` of the record at `record`.
    func location(ofRecordAt record: Int) -> (lat: Double, lon: Double)? {
        var budget = MMDBLocationReader.maxSkippedValues
        guard let location = value(forKey: "location", inMapAt: record, budget: &budget),
              let latAt = value(forKey: "latitude", inMapAt: location, budget: &budget),
              let lat = number(latAt),
              let lonAt = value(forKey: "longitude", inMapAt: location, budget: &budget),
              let lon = number(lonAt)
        else { return nil }
        return (lat, lon)
    }
}
