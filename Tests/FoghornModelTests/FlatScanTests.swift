import FoghornTestSupport
import Testing
@testable import FoghornModel
import FoghornModelFixtures

/// Streams of 17…256 candidates are scored by the flat scan (SIMD bounds, then exact scores for
/// the few that can enter): it must name exactly the linear path's winners and scores.
@Suite struct FlatScanTests {
    static func compare(_ s: RoutingSnapshot, _ r: ScoringRequest, _ label: String) -> TopCandidates {
        let flat = Scorer.top(s, r), linear = Scorer.linearTop(s, r)
        #expect(flat.count == linear.count, "\(label)")
        for k in 0..<min(flat.count, linear.count) {
            #expect(flat[k].edge == linear[k].edge && flat[k].score == linear[k].score,
                    "\(label) rank \(k): flat \(s.nodeIds[flat[k].edge]) \(flat[k].score), linear \(s.nodeIds[linear[k].edge]) \(linear[k].score)")
        }
        return flat
    }

    /// Where the Float bounds are least precise: candidates at the viewer's own position, a few
    /// metres to kilometres from it, and at and next to its antipode (acos is steepest next to
    /// ±1), all with the same load, so a geo bound a point too low would drop a winner or a tie.
    @Test func closeAndAntipodalCandidatesKeepTheExactWinners() {
        let viewers = [(52.37, 4.90), (0.0, 0.0), (-33.87, 151.21), (89.9, 10.0), (40.0, -179.99)]
        let offsets = [0.0, 0.00001, 0.0001, 0.001, 0.01, 0.1, 0.5, 1.0]
        for (round, (vLat, vLon)) in viewers.enumerated() {
            var edges: [EdgeState] = []
            for (k, d) in offsets.enumerated() {
                for copy in 0..<4 {
                    let lat = min(90, vLat + d * Double(copy % 2 == 0 ? 1 : -1)), lon = vLon + d * Double(copy)
                    edges.append(edge("near-\(k)-\(copy)", lat: lat, lon: lon))
                    // The antipode and its neighbourhood.
                    edges.append(edge("far-\(k)-\(copy)", lat: -lat, lon: lon > 0 ? lon - 180 : lon + 180))
                }
            }
            let s = snapshot(edges)
            #expect(s.index.isFlat(stream: 0), "\(edges.count) candidates are scored flat")
            let viewer = GeoPoint(lat: vLat, lon: vLon)
            _ = Self.compare(s, ScoringRequest(stream: 0, viewer: viewer), "viewer \(round)")
            // From the antipode, the far group wins.
            _ = Self.compare(s, ScoringRequest(stream: 0, viewer: GeoPoint(lat: -vLat, lon: vLon > 0 ? vLon - 180 : vLon + 180)), "antipode \(round)")
        }
    }

    /// Random worlds of every flat size with loads in a narrow band (many near-ties), some
    /// members without inputs, position-less, draining or full; viewers with and without a
    /// position; tag bonuses: same winners and scores, same viewer-independent exclusions, and
    /// most members are never scored exactly.
    @Test func randomFlatStreamsEqualTheLinearPath() {
        var rng = SplitMix(seed: 4242)
        var scored = 0, members = 0
        for round in 0..<200 {
            let n = CandidateIndex.linearMaxCount + 1 + Int(rng.next() % UInt64(CandidateIndex.flatMaxCount - CandidateIndex.linearMaxCount))
            var edges: [EdgeState] = []
            for i in 0..<n {
                let kind = rng.next() % 25
                let positioned = rng.next() % 12 != 0
                edges.append(edge("e\(i)", cpu: 400 + rng.next() % 40, ramUsed: 500, up: kind == 1 ? 2000 : rng.next() % 100,
                                  lat: positioned ? Double(rng.next() % 1000) / 100 + 45 : .nan, lon: positioned ? Double(rng.next() % 1000) / 100 : .nan,
                                  streams: ["s": EdgeStreamStats(inputs: kind == 2 ? 0 : 1)], tags: rng.next() % 3 == 0 ? ["x"] : [],
                                  mode: kind == 3 ? .draining : .normal))
            }
            let s = snapshot(edges)
            #expect(s.index.isFlat(stream: 0) && s.index.roots[0] < 0)
            var tags = CompiledTagAdjustment.none
            if rng.next() % 4 == 0 { tags = s.compile(try! TagAdjustment.parse(#"{"x": 30, "-x": -10}"#)) }
            let viewer = rng.next() % 6 == 0 ? nil : GeoPoint(lat: Double(rng.next() % 1000) / 100 + 45, lon: Double(rng.next() % 1000) / 100)
            let r = ScoringRequest(stream: 0, viewer: viewer, tags: tags)
            let top = Self.compare(s, r, "round \(round) (\(n) candidates)")
            let linear = Scorer.linearTop(s, r)
            for reason in CandidateIndexTests.staticReasons {
                #expect(top.excluded[Int(reason.rawValue)] == linear.excluded[Int(reason.rawValue)], "round \(round) \(reason)")
            }
            scored += Int(top.scored)
            members += n
        }
        #expect(scored * 4 < members, "exactly scored \(scored) of \(members) members")
    }

    /// The vector square root the bounds use: within 6e-6 (relative) of the exact root over
    /// [0, 1], exactly 0 at 0 (the margin in `BlockBounder.angleMargin` assumes ≤ 5e-6 plus rounding).
    @Test func approximateSquareRootStaysWithinItsErrorBound() {
        var worst: Float = 0
        var x: Float = 0
        while x <= 1 {
            let r = SIMD4<Float>.approximateSquareRoot(SIMD4(x, x / 3, x / 7, 1 - x))
            for (lane, v) in [x, x / 3, x / 7, 1 - x].enumerated() where v > 0 {
                worst = max(worst, abs(r[lane] - v.squareRoot()) / v.squareRoot())
            }
            x += 1.0 / 4096
        }
        #expect(worst <= 6e-6, "worst relative error \(worst)")
        #expect(SIMD4<Float>.approximateSquareRoot(.zero) == .zero)
        #expect(abs(SIMD4<Float>.approximateSquareRoot(SIMD4(repeating: 0x1p-24))[0] - 0x1p-12) <= 0x1p-12 * 6e-6)
    }

    /// The size classes: ≤ 16 linear (no index), 17…256 flat, above that a tree — each equal to
    /// the linear path.
    @Test func sizeClassesPickTheirPath() {
        var rng = SplitMix(seed: 9)
        for n in [CandidateIndex.linearMaxCount, CandidateIndex.linearMaxCount + 1, CandidateIndex.flatMaxCount, CandidateIndex.flatMaxCount + 1] {
            let edges = (0..<n).map { i in
                edge("e\(i)", cpu: rng.next() % 1000, lat: Double(rng.next() % 170) - 85, lon: Double(rng.next() % 360) - 180)
            }
            let s = snapshot(edges)
            #expect(s.index.isFlat(stream: 0) == (n > CandidateIndex.linearMaxCount && n <= CandidateIndex.flatMaxCount), "\(n)")
            #expect((s.index.roots[0] >= 0) == (n > CandidateIndex.flatMaxCount), "\(n)")
            _ = Self.compare(s, ScoringRequest(stream: 0, viewer: GeoPoint(lat: 10, lon: 20)), "\(n) candidates")
        }
    }
}
