import FoghornHTTPCore
import Testing
@testable import FoghornRouting

/// Viewers parked by key: one lookup per key, all resumed by its answer with the outcome
/// readable while they run, and the count back to zero.
@Suite struct ParkingLotTests {
    @Test func oneLookupPerKeyAndEveryViewerResumedWithTheOutcome() {
        let lot = ParkingLot<Bool>()
        var asked: [String] = []
        var seen: [(String, Bool?)] = []
        func handle(_ key: String) -> HTTPResumeHandle { HTTPResumeHandle { seen.append((key, lot.outcome(of: key))) } }
        for _ in 0..<3 { lot.park("live+a", handle("live+a")) { asked.append($0) } }
        lot.park("live+b", handle("live+b")) { asked.append($0) }
        #expect(asked == ["live+a", "live+b"] && lot.count == 4)

        var before = false
        lot.finish("live+a", true) { before = seen.isEmpty }
        #expect(before, "`before` runs ahead of the viewers")
        #expect(seen.count == 3 && seen.allSatisfy { $0.0 == "live+a" && $0.1 == true })
        #expect(lot.count == 1 && lot.outcome(of: "live+a") == nil, "the outcome is readable only while its viewers run")

        lot.finish("live+b", false)
        #expect(seen.last! == ("live+b", false) && lot.count == 0)
        lot.finish("live+c", true)  // nobody waiting: nothing happens
        #expect(seen.count == 4)
        lot.park("live+a", handle("live+a")) { asked.append($0) }
        #expect(asked == ["live+a", "live+b", "live+a"], "a finished key is looked up again")
    }
}
