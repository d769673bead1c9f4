import FoghornTestSupport
import Foundation
import Testing
@testable import FoghornModel
import FoghornModelFixtures

/// A load refresh (reports that change only CPU, RAM, bandwidth, per-stream figures) against a
/// full build of the same edges: same decisions, scores, exclusions and per-stream figures.
@Suite struct LoadRefreshTests {
    static let streams = ["live+big", "live+mid", "live+small"]

    static func randomStats(_ rng: inout SplitMix, inputs: Bool) -> EdgeStreamStats {
        EdgeStreamStats(inputs: inputs ? UInt32(rng.next() % 3 + 1) : 0, viewers: rng.next() % 3 == 0 ? 0 : UInt32(rng.next() % 500),
                        upBytesPerSec: rng.next() % 50_000_000)
    }

    @Test func loadRefreshEqualsAFullBuild() {
        var rng = SplitMix(seed: 31337)
        let now: UInt64 = 10_000_000
        let playback = [PlaybackRecord(playbackId: "pb", stream: "live+big"), PlaybackRecord(playbackId: "pm", stream: "live+mid"),
                        PlaybackRecord(playbackId: "ps", stream: "live+small")]
        var refreshedSomething = false
        for round in 0..<150 {
            let n = Int(rng.next() % 160) + 2
            var edges: [EdgeState] = []
            for i in 0..<n {
                var streams: [String: EdgeStreamStats] = ["live+big": Self.randomStats(&rng, inputs: rng.next() % 6 != 0)]
                if rng.next() % 3 == 0 { streams["live+mid"] = Self.randomStats(&rng, inputs: true) }
                if i % 17 == 0 { streams["live+small"] = Self.randomStats(&rng, inputs: rng.next() % 2 == 0) }
                let positioned = rng.next() % 8 != 0
                var e = edge("e\(String(format: "%04d", i))", cpu: rng.next() % 1000, ramUsed: rng.next() % 1000, ramMax: rng.next() % 15 == 0 ? 0 : 1000,
                             up: rng.next() % 90_000_000, limit: 100_000_000,
                             lat: positioned ? Double(rng.next() % 170) - 85 : .nan, lon: positioned ? Double(rng.next() % 360) - 180 : .nan,
                             streams: streams, mode: rng.next() % 25 == 0 ? .draining : .normal)
                if rng.next() % 5 == 0 {  // a reporting edge, maybe silent for too long
                    e.isStatic = false
                    e.lastReportMs = rng.next() % 2 == 0 ? now - 1000 : now - 200_000
                }
                edges.append(e)
            }
            let s0 = RoutingSnapshot(.init(generation: 1, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: edges, playback: playback, names: fixtureNames))
            // Reports that change only load: CPU, RAM, bandwidth (up to exhaustion), limits to 0
            // (no metrics) and back, per-stream viewers/bandwidth/input counts, freshness.
            var changed: [(index: Int, edge: EdgeState)] = []
            for i in 0..<n where rng.next() % 3 == 0 {
                var e = edges[i]
                e.cpuPermille = rng.next() % 1000
                e.ramUsedBytes = rng.next() % 1000
                e.ramMaxBytes = rng.next() % 12 == 0 ? 0 : 1000
                e.upBytesPerSec = rng.next() % 8 == 0 ? 100_000_000 : rng.next() % 90_000_000
                if !e.isStatic { e.lastReportMs = rng.next() % 3 == 0 ? now - 200_000 : now }
                var streams = e.streams
                for (name, st) in streams { streams[name] = Self.randomStats(&rng, inputs: st.inputs > 0) }
                e.streams = streams
                #expect(RoutingSnapshot.isLoadOnlyChange(from: edges[i], to: e), "round \(round)")
                edges[i] = e
                changed.append((i, e))
            }
            var pending = [UInt64](repeating: 0, count: n)
            for i in 0..<n where rng.next() % 4 == 0 { pending[i] = rng.next() % 5_000_000 }
            let refreshed = RoutingSnapshot(refreshing: s0, pending: pending, changedEdges: changed, generation: 2, nowMs: now, appliedShipments: [])
            var withPending = edges
            for i in 0..<n { withPending[i].addPending(pending[i]) }
            let full = RoutingSnapshot(.init(generation: 2, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: withPending, playback: playback, names: fixtureNames))
            refreshedSomething = refreshedSomething || !changed.isEmpty

            for name in Self.streams {
                let a = refreshed.streamIndex(named: name), b = full.streamIndex(named: name)
                #expect((a == nil) == (b == nil), "round \(round) \(name)")
                guard let a, let b else { continue }
                #expect(refreshed.streams[a].totalViewers == full.streams[b].totalViewers, "round \(round) \(name) viewers")
                #expect(refreshed.streams[a].perViewerBytesPerSec == full.streams[b].perViewerBytesPerSec, "round \(round) \(name) per viewer")
                #expect(refreshed.perViewerByStream[a] == full.perViewerByStream[b])
                let ca = refreshed.candidates(of: a), cb = full.candidates(of: b)
                #expect(Array(ca.edges) == Array(cb.edges) && Array(ca.inputs) == Array(cb.inputs), "round \(round) \(name) columns")
                #expect((0..<ca.count).map { ca.hasViewers($0) } == (0..<cb.count).map { cb.hasViewers($0) }, "round \(round) \(name) viewer bits")
                for _ in 0..<3 {
                    let r = ScoringRequest(stream: a, viewer: randomViewer(&rng))
                    let x = Scorer.top(refreshed, r), y = Scorer.top(full, ScoringRequest(stream: b, viewer: r.viewer))
                    #expect(x.count == y.count, "round \(round) \(name)")
                    for k in 0..<min(x.count, y.count) {
                        #expect(x[k].edge == y[k].edge && x[k].score == y[k].score, "round \(round) \(name) rank \(k)")
                    }
                    for reason in CandidateIndexTests.staticReasons {
                        #expect(x.excluded[Int(reason.rawValue)] == y.excluded[Int(reason.rawValue)], "round \(round) \(name) \(reason)")
                    }
                    let ex = Scorer.candidates(refreshed, r), ey = Scorer.candidates(full, ScoringRequest(stream: b, viewer: r.viewer))
                    #expect(ex.map(\.total) == ey.map(\.total) && ex.map(\.exclusion) == ey.map(\.exclusion), "round \(round) \(name) breakdown")
                }
            }
            // A pending-only refresh on top keeps it equal.
            let again = RoutingSnapshot(refreshingPendingOf: refreshed, pending: [UInt64](repeating: 0, count: n), generation: 3, nowMs: now, appliedShipments: [])
            let bare = RoutingSnapshot(.init(generation: 3, nowMs: now, weights: .defaults, staleness: StalenessPolicy(), edges: edges, playback: playback, names: fixtureNames))
            let r = ScoringRequest(stream: again.streamIndex(named: "live+big")!, viewer: randomViewer(&rng))
            let x = Scorer.top(again, r), y = Scorer.top(bare, ScoringRequest(stream: bare.streamIndex(named: "live+big")!, viewer: r.viewer))
            #expect((0..<x.count).map { x[$0].edge } == (0..<y.count).map { y[$0].edge } && x.count == y.count, "round \(round) after pending refresh")
        }
        #expect(refreshedSomething)
    }

    @Test func structuralChangesAreNotLoadOnly() {
        let base = edge("e1", lat: 52, lon: 5, streams: ["s": EdgeStreamStats(inputs: 1, viewers: 3)], tags: ["a"])
        var moved = base; moved.lat = 40
        var newStream = base; newStream.streams = ["s": EdgeStreamStats(inputs: 1), "t": EdgeStreamStats(inputs: 1)]
        var lostInputs = base; lostInputs.streams = ["s": EdgeStreamStats(inputs: 0, viewers: 3)]
        var drained = base; drained.mode = .draining
        var tagged = base; tagged.tags = ["b"]
        var tenant = base; tenant.tenant = "t"
        var failed = base; failed.pollError = "timeout"
        var relocated = base; relocated.baseURL = "https://elsewhere.example/"; relocated.resolveURLs()
        for (what, e) in [("position", moved), ("streams", newStream), ("inputs", lostInputs), ("mode", drained), ("tags", tagged),
                          ("tenant", tenant), ("poll error", failed), ("urls", relocated)] {
            #expect(!RoutingSnapshot.isLoadOnlyChange(from: base, to: e), "\(what)")
        }
        var load = base
        load.cpuPermille = 999; load.upBytesPerSec = 5; load.ramMaxBytes = 0; load.lastReportMs = 7
        load.streams = ["s": EdgeStreamStats(inputs: 4, viewers: 0, upBytesPerSec: 9, replicated: true)]
        #expect(RoutingSnapshot.isLoadOnlyChange(from: base, to: load))
    }
}
