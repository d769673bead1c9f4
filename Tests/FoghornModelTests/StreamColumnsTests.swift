import FoghornTestSupport
import Testing
@testable import FoghornModel
import FoghornModelFixtures

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
        let s = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges, playback: [], names: fixtureNames))
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

    /// The build's passes go one block of interned IDs at a time: with streams whose IDs span
    /// several blocks, every stream still has exactly the edges that carry it (ascending), their
    /// inputs, viewer bits and totals — checked against a plain per-name tally — and slots are
    /// the carried IDs in ascending order.
    @Test func streamsAcrossIdBlocksMatchAPlainTally() {
        var rng = SplitMix(seed: 99)
        let names = (0..<(RoutingSnapshot.idBlock * 2 + 500)).map { "blk+\($0)" }
        for name in names { _ = fixtureNames.id(for: name) }  // IDs over more than two blocks
        var edges: [EdgeState] = []
        for i in 0..<40 {
            var streams: [String: EdgeStreamStats] = [:]
            for _ in 0..<600 {
                streams[names[Int(rng.next() % UInt64(names.count))]] = EdgeStreamStats(
                    inputs: UInt32(rng.next() % 3), viewers: UInt32(rng.next() % 4), upBytesPerSec: rng.next() % 1_000_000)
            }
            streams["blk+everywhere"] = EdgeStreamStats(inputs: 1, viewers: 1)
            edges.append(edge(format3(i), streams: streams))
        }
        let carried = Set(edges.flatMap(\.streamIds))
        // Other tests in the process interned names first: the span matters, not where it starts.
        #expect(Int(carried.max()!) / RoutingSnapshot.idBlock - Int(carried.min()!) / RoutingSnapshot.idBlock >= 2)
        let s = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges, playback: [], names: fixtureNames))
        var carriers: [String: [(edge: Int32, stats: EdgeStreamStats)]] = [:]
        for (i, e) in edges.enumerated() { e.forEachStream(in: fixtureNames) { name, st in carriers[name, default: []].append((Int32(i), st)) } }
        #expect(s.streams.count == carriers.count)
        for (name, list) in carriers {
            guard let slot = s.streamIndex(named: name) else { Issue.record("\(name) missing"); continue }
            let c = s.candidates(of: slot)
            #expect(Array(c.edges) == list.map(\.edge), "\(name)")
            #expect(Array(c.inputs) == list.map(\.stats.inputs), "\(name)")
            #expect((0..<c.count).map { c.hasViewers($0) } == list.map { $0.stats.viewers > 0 }, "\(name)")
            let viewers = list.reduce(UInt64(0)) { $0 + UInt64($1.stats.viewers) }, up = list.reduce(UInt64(0)) { $0 + $1.stats.upBytesPerSec }
            #expect(s.streams[slot].totalViewers == viewers && s.streams[slot].perViewerBytesPerSec == StreamEntry.perViewerBytesPerSec(up: up, viewers: viewers))
        }
        let ids = s.streams.indices.map { fixtureNames.existingId(for: s.streamName($0))! }
        #expect(ids == ids.sorted() && ids == s.streamTable.slotIds)
    }
}

private func format3(_ i: Int) -> String { i < 10 ? "e00\(i)" : i < 100 ? "e0\(i)" : "e\(i)" }

@Suite struct PerViewerBandwidthTests {
    /// The worked examples of ``RoutingSnapshot/perViewerBytesPerSec(up:viewers:)``.
    @Test func workedExamples() {
        #expect(StreamEntry.perViewerBytesPerSec(up: 30_000_000, viewers: 100) == 300_000)
        #expect(StreamEntry.perViewerBytesPerSec(up: 500_000, viewers: 10) == 65_536)
        #expect(StreamEntry.perViewerBytesPerSec(up: 200_000_000, viewers: 100) == 1_048_576)
        #expect(StreamEntry.perViewerBytesPerSec(up: 0, viewers: 100) == 131_072)
        #expect(StreamEntry.perViewerBytesPerSec(up: 5_000, viewers: 0) == 131_072)
    }
}
