import Testing
@testable import FoghornModel

@Suite struct StreamColumnsTests {
    /// Each stream's candidates come back in ascending edge order with their inputs and a
    /// has-viewers bit, across 64-bit word boundaries of the bit column.
    @Test func candidatesKeepEdgeOrderInputsAndViewerBits() {
        var edges: [EdgeState] = []
        for i in 0..<150 {
            var streams: [String: EdgeStreamStats] = ["all": EdgeStreamStats(inputs: UInt32(i % 3), viewers: UInt32(i % 5))]
            if i % 2 == 0 { streams["even"] = EdgeStreamStats(inputs: 1, viewers: i % 4 == 0 ? 9 : 0) }
            edges.append(edge(format3(i), streams: streams))
        }
        let s = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges, playback: []))
        let all = s.candidates(of: s.streamIndex(named: "all")!)
        #expect(all.count == 150)
        #expect(Array(all.edges) == (0..<150).map { Int32($0) })
        #expect(Array(all.inputs) == (0..<150).map { UInt32($0 % 3) })
        #expect((0..<150).map { all.hasViewers($0) } == (0..<150).map { $0 % 5 != 0 })
        let even = s.candidates(of: s.streamIndex(named: "even")!)
        #expect(Array(even.edges) == stride(from: 0, to: 150, by: 2).map { Int32($0) })
        #expect((0..<even.count).map { even.hasViewers($0) } == stride(from: 0, to: 150, by: 2).map { $0 % 4 == 0 })
        #expect(s.streamIndex(named: "none") == nil)
    }
}

private func format3(_ i: Int) -> String { i < 10 ? "e00\(i)" : i < 100 ? "e0\(i)" : "e\(i)" }

@Suite struct PerViewerBandwidthTests {
    /// The worked examples of ``RoutingSnapshot/perViewerBytesPerSec(up:viewers:)``.
    @Test func workedExamples() {
        #expect(RoutingSnapshot.perViewerBytesPerSec(up: 30_000_000, viewers: 100) == 300_000)
        #expect(RoutingSnapshot.perViewerBytesPerSec(up: 500_000, viewers: 10) == 65_536)
        #expect(RoutingSnapshot.perViewerBytesPerSec(up: 200_000_000, viewers: 100) == 1_048_576)
        #expect(RoutingSnapshot.perViewerBytesPerSec(up: 0, viewers: 100) == 131_072)
        #expect(RoutingSnapshot.perViewerBytesPerSec(up: 5_000, viewers: 0) == 131_072)
    }
}
