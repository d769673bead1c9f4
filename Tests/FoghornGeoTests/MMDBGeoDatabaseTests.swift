import Foundation
import Testing
@testable import FoghornGeo
import FoghornModel

@Suite struct MMDBGeoDatabaseTests {
    static let geoDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/geo")

    @Test func projectFixtureLooksUpIPv4AndIPv6() throws {
        let db = try MMDBGeoDatabase(path: Self.geoDir.appendingPathComponent("foghorn-test-city.mmdb").path)
        let ams = try #require(db.position(of: IPAddress.parse("198.51.100.20")!))
        #expect(ams.lat == 52.37 && ams.lon == 4.9)
        let tokyo = try #require(db.position(of: IPAddress.parse("2001:db8:1::99")!))
        #expect(tokyo.lat == 35.6895)
        #expect(db.position(of: IPAddress.parse("8.8.8.8")!) == nil)       // unknown
        #expect(db.position(of: IPAddress.parse("192.168.1.1")!) == nil)   // private: never looked up
        #expect(db.position(of: IPAddress.parse("::1")!) == nil)
    }

    @Test func readsMaxMindsOwnTestDatabase() throws {
        let db = try MMDBGeoDatabase(path: Self.geoDir.appendingPathComponent("maxmind/GeoIP2-City-Test.mmdb").path)
        let london = try #require(db.position(of: IPAddress.parse("81.2.69.142")!))
        #expect(abs(london.lat - 51.5142) < 1e-4 && abs(london.lon - -0.0931) < 1e-4)
        #expect(db.position(of: IPAddress.parse("216.160.83.56")!) != nil)
        #expect(db.databaseType == "GeoIP2-City")
    }

    @Test func corruptOrMissingFilesFailCleanly() {
        for name in ["maxmind/GeoIP2-City-Test-Invalid-Node-Count.mmdb", "does-not-exist.mmdb", "cities.csv"] {
            #expect(throws: MMDBGeoDatabase.OpenError.self) { _ = try MMDBGeoDatabase(path: Self.geoDir.appendingPathComponent(name).path) }
        }
        // The broken-double file opens; reading its coordinates must not crash.
        if let db = try? MMDBGeoDatabase(path: Self.geoDir.appendingPathComponent("maxmind/GeoIP2-City-Test-Broken-Double-Format.mmdb").path) {
            _ = db.position(of: IPAddress.parse("81.2.69.142")!)
        }
    }

    @Test func cacheServesRepeatsAndForgetsOnDatabaseSwap() throws {
        let a = try MMDBGeoDatabase(path: Self.geoDir.appendingPathComponent("foghorn-test-city.mmdb").path)
        let b = try MMDBGeoDatabase(path: Self.geoDir.appendingPathComponent("maxmind/GeoIP2-City-Test.mmdb").path)
        let cache = GeoCache(capacity: 4)
        let ip = IPAddress.parse("81.2.69.142")!
        #expect(cache.position(of: ip, in: a) != nil)
        #expect(cache.position(of: ip, in: a) != nil)
        #expect(cache.hits == 1 && cache.misses == 1)
        #expect(cache.position(of: ip, in: b) != nil)
        #expect(cache.misses == 2)
        #expect(cache.position(of: ip, in: nil) == nil)
    }
}

@Suite struct GeoCacheTableTests {
    /// A lookup that counts calls and answers a position derived from the address.
    final class Counting: GeoLookup, @unchecked Sendable {
        var calls = 0
        func position(of ip: IPAddress) -> GeoPoint? {
            calls += 1
            return ip.low % 3 == 0 ? nil : GeoPoint(lat: Double(ip.low % 80), lon: Double(ip.low % 170))
        }
        var describe: String { "counting" }
    }

    @Test func growsKeepsAnswersAndStaysBounded() {
        let lookup = Counting()
        let cache = GeoCache(capacity: 5000)
        for round in 0..<2 {
            for n in 0..<4000 {
                let ip = IPAddress(v4: UInt32(0x0800_0000 + n))
                let p = cache.position(of: ip, in: lookup)
                #expect((p == nil) == (ip.low % 3 == 0))
                if let p { #expect(p.lat == Double(ip.low % 80)) }
            }
            #expect(lookup.calls == 4000, "round \(round)")  // second round: all hits
        }
        // Past the capacity it starts over but keeps answering correctly.
        for n in 0..<20000 { _ = cache.position(of: IPAddress(v4: UInt32(0x0900_0000 + n)), in: lookup) }
        #expect(cache.position(of: IPAddress(v4: 0x0900_0001), in: lookup) != nil || 0x0900_0001 % 3 == 0)
    }
}

/// The direct reader of `location` against libmaxminddb, on every test database: the same
/// coordinates for every address it takes, and it takes the well-formed records.
@Suite struct MMDBLocationReaderTests {
    static func addresses() -> [IPAddress] {
        var out: [IPAddress] = []
        // Four addresses in every IPv4 /16, every address of the /24s MaxMind's test database
        // fills, and IPv6 prefixes the test databases use.
        for a in 0..<256 { for b in 0..<256 { for c in [0, 69, 160, 224] { out.append(IPAddress.parse("\(a).\(b).\(c).\((a * 7 + b) % 256)")!) } } }
        for net in ["81.2.69", "89.160.20", "67.43.156", "175.16.199", "202.196.224", "216.160.83", "2.125.160", "198.51.100", "203.0.113"] {
            for d in 0..<256 { out.append(IPAddress.parse("\(net).\(d)")!) }
        }
        for p in ["2001:db8:1::99", "2001:218::1", "2001:220::1", "2001:230::1", "2001:480::1", "2a02:cf40::1", "2a02:d280::1", "2c0f:ff40::1", "::81.2.69.142"] {
            out.append(IPAddress.parse(p)!)
        }
        return out
    }

    @Test(arguments: ["foghorn-test-city.mmdb", "maxmind/GeoIP2-City-Test.mmdb", "maxmind/GeoIP2-City-Test-Broken-Double-Format.mmdb"])
    func directReaderMatchesTheLibrary(_ name: String) throws {
        let db = try MMDBGeoDatabase(path: MMDBGeoDatabaseTests.geoDir.appendingPathComponent(name).path)
        var found = 0, taken = 0
        for ip in Self.addresses() {
            guard let answer = db.positionsByBothReaders(of: ip) else { continue }
            found += 1
            if !answer.declined {
                taken += 1
                #expect(answer.direct == answer.library, "\(name) \(ip)")
            }
        }
        #expect(found > 0, "\(name): no record found")
        if !name.contains("Broken") { #expect(taken * 10 >= found * 9, "\(name): direct reader took \(taken) of \(found)") }
    }
}

extension MMDBLocationReaderTests {
    static let geoLite2 = MMDBGeoDatabaseTests.geoDir.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("perf/.cache/GeoLite2-City.mmdb").path

    /// With the real GeoLite2-City that `perf/run.py` downloads (perf/.cache; absent in a clean
    /// clone, where this test is reported as skipped): 200,000 random IPv4 and 20,000 IPv6
    /// addresses, the same coordinates from both readers, and the direct reader takes every
    /// record with a location.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: geoLite2), "perf/.cache/GeoLite2-City.mmdb is not there (perf/run.py fetches it)"))
    func directReaderMatchesTheLibraryOnGeoLite2WhenPresent() throws {
        let db = try MMDBGeoDatabase(path: Self.geoLite2)
        var state: UInt64 = 0x5EED
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state }
        var found = 0, declined = 0
        for k in 0..<220_000 {
            let ip = k < 200_000 ? IPAddress(high: 0, low: 0xFFFF_0000_0000 | (next() >> 32)) : IPAddress(high: 0x2000_0000_0000_0000 | (next() >> 4), low: next())
            guard let answer = db.positionsByBothReaders(of: ip) else { continue }
            found += 1
            if answer.declined { declined += 1; #expect(answer.library == nil, "declined \(ip) with a location"); continue }
            #expect(answer.direct == answer.library, "\(ip)")
        }
        #expect(found > 100_000)
    }
}
