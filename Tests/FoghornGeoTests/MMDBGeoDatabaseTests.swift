import Foundation
import Testing
import FoghornGeo
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
