import CMaxMindDB
public import FoghornModel
#if canImport(Glibc)
import Glibc
#endif

/// A MaxMind-format City database (GeoIP2/GeoLite2/DB-IP…), memory-mapped
/// with libmaxminddb. Lookups are read-only and safe from any thread.
/// Reloading = opening a new instance and publishing it; the old one closes
/// when its last user drops it.
public final class MMDBGeoDatabase: GeoLookup, @unchecked Sendable {
    private let db: UnsafeMutablePointer<MMDB_s>
    public let path: String
    public let buildEpoch: UInt64
    public let databaseType: String
    /// The file's size in bytes (with ``buildEpoch``, tells a replaced file from the same one).
    public let fileSize: Int
    /// Reads coordinates straight from the data section (nil: no data section to read).
    let reader: MMDBLocationReader?

    public struct OpenError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot open GeoIP database \(path): \(reason)" }
    }

    public init(path: String) throws(OpenError) {
        db = .allocate(capacity: 1)
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), db)
        guard status == MMDB_SUCCESS else {
            db.deallocate()
            throw OpenError(path: path, reason: String(cString: MMDB_strerror(status)))
        }
        self.path = path
        let sectionSize = Int(db.pointee.data_section_size)
        reader = db.pointee.data_section.map { MMDBLocationReader(data: $0, size: sectionSize) }
        buildEpoch = db.pointee.metadata.build_epoch
        fileSize = Int(db.pointee.file_size)
        databaseType = db.pointee.metadata.database_type.map { String(cString: $0) } ?? "unknown"
        // A database without location data is useless for routing: refuse it early.
        guard databaseType.lowercased().contains("city") || databaseType.lowercased().contains("location") else {
            MMDB_close(db)
            db.deallocate()
            throw OpenError(path: path, reason: "database type \(databaseType) has no city/location records")
        }
    }

    deinit {
        MMDB_close(db)
        db.deallocate()
    }

    /// Whether `other` was opened from the same path and the same database build (epoch, type,
    /// size): a reload that reopens an unchanged file then keeps the scoring rows as they are.
    public func isSameDatabase(as other: MMDBGeoDatabase) -> Bool {
        path == other.path && buildEpoch == other.buildEpoch && databaseType == other.databaseType && fileSize == other.fileSize
    }

    public var describe: String { "\(path) (\(databaseType), built \(buildEpoch))" }

    public func position(of ip: IPAddress) -> GeoPoint? {
        if ip.isPrivateOrLocal { return nil }
        guard var entry = record(of: ip) else { return nil }
        if let reader, let (lat, lon) = reader.location(ofRecordAt: Int(entry.offset)) { return MMDBGeoDatabase.point(lat, lon) }
        return libraryPosition(&entry)
    }

    /// The record for `ip`, if the database has one.
    private func record(of ip: IPAddress) -> MMDB_entry_s? {
        var error: Int32 = 0
        var result: MMDB_lookup_result_s
        if ip.isV4 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_addr.s_addr = ip.v4.bigEndian
            result = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(db, $0, &error) }
            }
        } else {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                raw.storeBytes(of: ip.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: ip.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            result = withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(db, $0, &error) }
            }
        }
        guard error == MMDB_SUCCESS, result.found_entry else { return nil }
        return result.entry
    }

    /// A position from a record's coordinates (nil when they are out of range).
    private static func point(_ lat: Double, _ lon: Double) -> GeoPoint? {
        GeoPoint.isValid(lat: lat, lon: lon) ? GeoPoint(lat: lat, lon: lon) : nil
    }

    /// Both readers' answers for `ip` (tests compare them): the direct reader's (`declined`
    /// when it does not take the record) and libmaxminddb's; nil without a record.
    func positionsByBothReaders(of ip: IPAddress) -> (direct: GeoPoint?, declined: Bool, library: GeoPoint?)? {
        guard var entry = record(of: ip) else { return nil }
        let direct = reader?.location(ofRecordAt: Int(entry.offset))
        return (direct.flatMap { MMDBGeoDatabase.point($0.lat, $0.lon) }, direct == nil, libraryPosition(&entry))
    }

    /// The same through libmaxminddb (for records the direct reader does not take).
    func libraryPosition(_ entry: inout MMDB_entry_s) -> GeoPoint? {
        // The record's "location" map once (the walk to it skips every earlier key's value —
        // city and country names in a dozen languages — the costly part), then its two keys.
        var location = MMDB_entry_data_s()
        guard MMDB_aget_value(&entry, &location, MMDBGeoDatabase.locationPath) == MMDB_SUCCESS,
              location.has_data, Int32(location.type) == MMDB_DATA_TYPE_MAP
        else { return nil }
        var map = MMDB_entry_s(mmdb: entry.mmdb, offset: location.offset)
        guard let lat = double(&map, MMDBGeoDatabase.latitudeKey), let lon = double(&map, MMDBGeoDatabase.longitudeKey) else { return nil }
        return MMDBGeoDatabase.point(lat, lon)
    }

    private func double(_ entry: inout MMDB_entry_s, _ path: UnsafePointer<UnsafePointer<CChar>?>) -> Double? {
        var data = MMDB_entry_data_s()
        guard MMDB_aget_value(&entry, &data, path) == MMDB_SUCCESS, data.has_data else { return nil }
        switch Int32(data.type) {
        case MMDB_DATA_TYPE_DOUBLE: return data.double_value
        case MMDB_DATA_TYPE_FLOAT: return Double(data.float_value)
        default: return nil
        }
    }

    // NULL-terminated key paths, built once.
    nonisolated(unsafe) static let locationPath = makePath(["location"])
    nonisolated(unsafe) static let latitudeKey = makePath(["latitude"])
    nonisolated(unsafe) static let longitudeKey = makePath(["longitude"])

    private static func makePath(_ keys: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let array = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: keys.count + 1)
        for (i, key) in keys.enumerated() { array[i] = UnsafePointer(strdup(key)) }
        array[keys.count] = nil
        return UnsafePointer(array)
    }
}

