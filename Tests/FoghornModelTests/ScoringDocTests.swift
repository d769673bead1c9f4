import Testing
@testable import FoghornModel
import FoghornModelFixtures

/// Every number in docs/SCORING.md.
@Suite struct ScoringDocTests {
    @Test func demoTable() {
        let ams = edge("demo-ams-1", cpu: 200, ramUsed: 4_000_000_000, ramMax: 16_000_000_000, up: 12_500_000, limit: 125_000_000, lat: 52.37, lon: 4.90)
        let fra = edge("demo-fra-1", cpu: 500, ramUsed: 8_000_000_000, ramMax: 16_000_000_000, up: 50_000_000, limit: 125_000_000, lat: 50.11, lon: 8.68)
        let s = snapshot([ams, fra])
        let (c, ranking) = Scorer.explain(s, ScoringRequest(stream: 0, viewer: GeoPoint(lat: 50.0, lon: 8.0)))
        let a = c.first { $0.nodeId == "demo-ams-1" }!, f = c.first { $0.nodeId == "demo-fra-1" }!
        #expect([a.cpu, a.ram, a.bandwidth, a.geo, a.streamBonus, a.total] == [400, 375, 900, 983, 50, 2708])
        #expect([f.cpu, f.ram, f.bandwidth, f.geo, f.streamBonus, f.total] == [250, 250, 600, 998, 50, 2148])
        #expect(abs(a.geoDistanceKm! - 340.7) < 0.1 && abs(f.geoDistanceKm! - 50.1) < 0.1)
        #expect(ranking.map { s.nodeIds[$0] } == ["demo-ams-1", "demo-fra-1"])
    }

    @Test func tagExample() throws {
        let s = snapshot([edge("a", tags: ["eu"]), edge("b", tags: ["us"]), edge("c")])
        let (c, _) = Scorer.explain(s, ScoringRequest(stream: 0, tags: s.compile(try TagAdjustment.parse(#"{"us": 200, "-eu,us": -5000}"#))))
        #expect(c.map(\.total) == [2050, 2250, 0])
        #expect(c[2].exclusion == .adjustedToZero)
    }

    @Test func maximumScore() {
        let s = snapshot([edge("a", lat: 10, lon: 10)])
        #expect(Scorer.top(s, ScoringRequest(stream: 0, viewer: GeoPoint(lat: 10, lon: 10)))[0].score == 3050)
    }

    /// The candidate index's worked example: a node 60° away with radius 10° bounds geo by 724;
    /// with a best non-geo part of 1,900 the node is worth at most 2,624 < 2,700.
    @Test func candidateIndexExample() {
        let bound = CandidateIndex.geoBound(weight: 1000, approximateAngle: 60 * Double.pi / 180, radius: 10 * Double.pi / 180)
        #expect(bound == 724)
        #expect(1900 + bound == 2624)
        // Inside the ball (or touching it): the full weight.
        #expect(CandidateIndex.geoBound(weight: 1000, approximateAngle: 0.1, radius: 0.2) == 1000)
    }
}
