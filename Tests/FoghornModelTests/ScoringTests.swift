import FoghornTestSupport
import Foundation
import Testing
@testable import FoghornModel
import FoghornModelFixtures

@Suite struct ScoringTests {
    @Test func workedExampleFromTheReference() {
        // cpu 400‰ → 300, RAM 1/5 → 400, no bandwidth used → 1000, viewer at the edge → 1000, stream → 50.
        let s = snapshot([edge("a", cpu: 400, ramUsed: 100, ramMax: 500, lat: 52.37, lon: 4.9)])
        let r = ScoringRequest(stream: 0, viewer: GeoPoint(lat: 52.37, lon: 4.9))
        let top = Scorer.top(s, r)
        #expect(top.count == 1)
        #expect(top[0].score == 2750)
        let (c, _) = Scorer.explain(s, r)
        #expect(c[0].cpu == 300 && c[0].ram == 400 && c[0].bandwidth == 1000 && c[0].geo == 1000 && c[0].streamBonus == 50)
    }

    @Test func termFormulas() {
        let w = ScoringWeights.defaults
        #expect(w.cpuScore(permille: 300) == 350)
        #expect(w.cpuScore(permille: 1001) == 0)
        #expect(w.ramScore(used: 4 << 30, max: 16 << 30) == 375)
        #expect(w.ramScore(used: 20, max: 10) == 0)  // clamped, never underflows
        #expect(w.bandwidthScore(used: 25_000_000, limit: 125_000_000) == 800)
        // Amsterdam → Frankfurt: 996 (docs/SCORING.md).
        let ams = GeoPoint(lat: 52.37, lon: 4.90), fra = GeoPoint(lat: 50.11, lon: 8.68)
        #expect(GeoTerm.exact(weight: 1000, dot: ams.dot(fra)) == 982)
        #expect(abs(ams.kilometres(to: fra) - 364.6) < 1)
    }

    @Test func fastGeoTermEqualsExactEverywhere() {
        var rng = SplitMix(seed: 7)
        for _ in 0..<200_000 {
            let dot = Double(rng.next() % 2_000_001) / 1_000_000 - 1
            for weight: UInt64 in [1000, 100, 7, 123_456] {
                #expect(GeoTerm.fast(weight: weight, dot: dot) == GeoTerm.exact(weight: weight, dot: dot))
            }
        }
        #expect(GeoTerm.fast(weight: 1000, dot: -1) == 0)
        #expect(GeoTerm.fast(weight: 1000, dot: 1) == 1000)
    }

    @Test func exclusionsHaveNamedReasons() {
        let s = snapshot([
            edge("a-maint", mode: .maintenance),
            edge("b-drain", mode: .draining),
            edge("c-nometrics", ramMax: 0),
            edge("d-full", up: 1000, limit: 1000),
            edge("e-noinputs", streams: ["s": EdgeStreamStats(inputs: 0)]),
            edge("f-tenant", tenant: "other"),
            edge("g-ok"),
        ])
        let (c, ranking) = Scorer.explain(s, ScoringRequest(stream: 0))
        let reasons = Dictionary(uniqueKeysWithValues: c.map { ($0.nodeId, $0.exclusion?.reason ?? "-") })
        #expect(reasons == ["a-maint": "maintenance", "b-drain": "draining", "c-nometrics": "no_metrics", "d-full": "bandwidth_exhausted",
                            "e-noinputs": "stream_no_inputs", "f-tenant": "tenant_mismatch", "g-ok": "-"])
        #expect(ranking.map { s.nodeIds[$0] } == ["g-ok"])
        let top = Scorer.top(s, ScoringRequest(stream: 0))
        #expect(top.count == 1)
        #expect(top.excluded[Int(Exclusion.maintenance.rawValue)] == 1)
        #expect(top.excluded[Int(Exclusion.tenantMismatch.rawValue)] == 1)
    }

    @Test func tenantScoping() {
        let s = snapshot([edge("a", tenant: "t1"), edge("b")],
                         playback: [PlaybackRecord(playbackId: "p", stream: "s", tenant: "t1"), PlaybackRecord(playbackId: "q", stream: "s", tenant: "t2")])
        let p = s.playbackIndex("p")!, q = s.playbackIndex("q")!
        #expect(Set(ranking(s, ScoringRequest(stream: 0, tenant: s.tenantOf(playback: p)))) == ["a", "b"])
        #expect(ranking(s, ScoringRequest(stream: 0, tenant: s.tenantOf(playback: q))) == ["b"])
    }

    @Test func tiesBreakByNodeIdAndTopFiveIsPartial() {
        let edges = (0..<12).map { edge((11 - $0) < 10 ? "n0\(11 - $0)" : "n\(11 - $0)") }
        let s = snapshot(edges)
        #expect(ranking(s, ScoringRequest(stream: 0)) == ["n00", "n01", "n02", "n03", "n04"])
        // A better edge anywhere enters first.
        var better = edges
        better[3] = edge("n08", cpu: 0, up: 0, limit: 1000)
        better[0] = edge("n11", cpu: 0, ramUsed: 0, ramMax: 1000)
        let s2 = snapshot(better.map { var e = $0; if e.nodeId != "n08" && e.nodeId != "n11" { e.cpuPermille = 100 }; return e })
        #expect(ranking(s2, ScoringRequest(stream: 0)).prefix(2) == ["n08", "n11"])
    }

    @Test func tagAdjustments() throws {
        let s = snapshot([edge("a", tags: ["eu"]), edge("b", tags: ["us"]), edge("c")])
        let adj = try TagAdjustment.parse(#"{"us": 200, "-eu,us": -5000}"#)
        let r = ScoringRequest(stream: 0, tags: s.compile(adj))
        let (c, rank) = Scorer.explain(s, r)
        #expect(rank.map { s.nodeIds[$0] } == ["b", "a"])
        #expect(c.first { $0.nodeId == "c" }?.exclusion == .adjustedToZero)
        #expect(ranking(s, r) == ["b", "a"])
        #expect(throws: TagAdjustment.ParseError.self) { try TagAdjustment.parse("[1]") }
        #expect(throws: TagAdjustment.ParseError.self) { try TagAdjustment.parse(#"{"a": "x"}"#) }
    }

    /// A cluster with more distinct tags than the 63 bits: the others are matched by name, so a
    /// rule works whatever tag it names — checked per edge against a plain evaluation of every
    /// rule over the edge's tag list, and through the fast path's winner.
    @Test func tagsBeyondTheBitTableMatchByName() throws {
        // 90 edges, each with a tag of its own; every tenth also "ten", every third "three": 92 tags.
        let edges = (0..<90).map { i in
            edge(String(format: "n%02d", i), cpu: 100,
                 tags: ["t\(i)"] + (i % 10 == 0 ? ["ten"] : []) + (i % 3 == 0 ? ["three"] : []))
        }
        let s = snapshot(edges)
        #expect(s.edgeTable.tagBit.count == 63)
        #expect((0..<s.edgeCount).filter { s.hot[$0].tagBits & CompiledTagAdjustment.overflowBit != 0 }.count > 20)
        func naive(_ e: EdgeState, _ adj: TagAdjustment) -> Int64 {
            adj.rules.reduce(0) { sum, rule in (rule.tags.contains { e.tags.contains($0) } != rule.inverted) ? sum + rule.amount : sum }
        }
        var rng = SplitMix(seed: 5)
        let names = (0..<90).map { "t\($0)" } + ["ten", "three", "absent"]
        for _ in 0..<200 {
            var rules: [String] = []
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let tags = (0..<(1 + Int(rng.next() % 3))).map { _ in names[Int(rng.next() % UInt64(names.count))] }
                rules.append(#""\#(rng.next() % 4 == 0 ? "-" : "")\#(tags.joined(separator: ","))": \#(Int(rng.next() % 2001) - 1000)"#)
            }
            let adj = try TagAdjustment.parse("{" + rules.joined(separator: ",") + "}")
            let compiled = s.compile(adj)
            let (breakdown, _) = Scorer.explain(s, ScoringRequest(stream: 0, tags: compiled))
            for b in breakdown {
                #expect(b.tagAdjustment == naive(s.edges[b.edge], adj), "\(rules) on \(b.nodeId)")
            }
        }
        // Through the fast path: a tag with a bit, one without, and one rule naming both.
        #expect(ranking(s, ScoringRequest(stream: 0, tags: s.compile(try TagAdjustment.parse(#"{"t5": 5000}"#)))).first == "n05")
        #expect(ranking(s, ScoringRequest(stream: 0, tags: s.compile(try TagAdjustment.parse(#"{"t77": 5000}"#)))).first == "n77")
        let both = ranking(s, ScoringRequest(stream: 0, tags: s.compile(try TagAdjustment.parse(#"{"t3,t88": 5000, "t88": 1}"#))))
        #expect(Array(both.prefix(2)) == ["n88", "n03"])
        // Inverted: every edge but n80 (no bit) is pushed down.
        let inverted = ranking(s, ScoringRequest(stream: 0, tags: s.compile(try TagAdjustment.parse(#"{"-t80": -500}"#))))
        #expect(inverted.first == "n80")
    }

    @Test func explainPicksTheSameWinnerAsTheFastPathOnRandomSnapshots() {
        var rng = SplitMix(seed: 99)
        for round in 0..<300 {
            let n = Int(rng.next() % 40) + 1
            var edges: [EdgeState] = []
            for i in 0..<n {
                let limit = UInt64(rng.next() % 1000) + 1
                edges.append(edge("e\(i)", cpu: rng.next() % 1100, ramUsed: rng.next() % 1200, ramMax: rng.next() % 4 == 0 ? 0 : 1000,
                                  up: rng.next() % (limit + 50), limit: limit,
                                  lat: Double(rng.next() % 180) - 90, lon: Double(rng.next() % 360) - 180,
                                  streams: ["s": EdgeStreamStats(inputs: UInt32(rng.next() % 3))],
                                  tags: rng.next() % 2 == 0 ? ["x"] : [], tenant: rng.next() % 7 == 0 ? "t" : "",
                                  mode: rng.next() % 10 == 0 ? .draining : .normal))
            }
            let s = snapshot(edges)
            let viewer = rng.next() % 5 == 0 ? nil : GeoPoint(lat: Double(rng.next() % 180) - 90, lon: Double(rng.next() % 360) - 180)
            var tags = CompiledTagAdjustment.none
            if rng.next() % 3 == 0 { tags = s.compile(try! TagAdjustment.parse(#"{"x": 300, "-x": -100}"#)) }
            let band: UInt64 = rng.next() % 4 == 0 ? 200 : 0
            let r = ScoringRequest(stream: 0, viewer: viewer, tags: tags, stickyBand: band, clientHash: rng.next())
            let fast = ranking(s, r)
            let (_, explained) = Scorer.explain(s, r)
            #expect(fast == explained.map { s.nodeIds[$0] }, "round \(round)")
        }
    }

    /// Many candidates (the top 5 fills early, so the cheap upper bound prunes most of them),
    /// this loop's own pending bandwidth, remote edges: the fast path still returns exactly the
    /// explain path's top 5, scores included.
    @Test func pruningKeepsTheExactTopFiveWithPendingAndRemoteEdges() {
        var rng = SplitMix(seed: 7)
        for round in 0..<200 {
            let n = Int(rng.next() % 300) + 1
            var edges: [EdgeState] = []
            for i in 0..<n {
                let limit = UInt64(rng.next() % 100_000) + 1000
                edges.append(edge("e\(String(format: "%04d", i))", cpu: rng.next() % 1000, ramUsed: rng.next() % 1000, up: rng.next() % limit, limit: limit,
                                  lat: Double(rng.next() % 170) - 85, lon: Double(rng.next() % 360) - 180))
            }
            let s = snapshot(local: edges, remote: randomRemoteEdges(&rng, below: 20))
            var pending = [UInt64](repeating: 0, count: s.edgeCount)
            for i in 0..<s.edgeCount where rng.next() % 3 == 0 { pending[i] = rng.next() % 50_000 }
            let viewer = randomViewer(&rng)
            let r = ScoringRequest(stream: 0, viewer: viewer)
            let fast = pending.withUnsafeBufferPointer { Scorer.top(s, r, localPending: $0.baseAddress) }
            let (all, explained) = pending.withUnsafeBufferPointer { Scorer.explain(s, r, localPending: $0.baseAddress) }
            #expect((0..<fast.count).map { fast[$0].edge } == explained, "round \(round)")
            for k in 0..<fast.count { #expect(fast[k].score == all.first { $0.edge == fast[k].edge }!.total, "round \(round)") }
        }
    }

    @Test func stickinessKeepsANetworkOnOneEdgeAndSpreadsNetworks() {
        let s = snapshot((0..<5).map { edge("e\($0)", cpu: UInt64($0) * 10) })
        var seen: [String: Int] = [:]
        for net in 0..<500 {
            let client = IPAddress(v4: UInt32(0x0A00_0000 + net * 256)).networkHash
            let r = ScoringRequest(stream: 0, stickyBand: 100, clientHash: client)
            let first = ranking(s, r)[0]
            // Same /24, another host: same edge.
            let sibling = IPAddress(v4: UInt32(0x0A00_0000 + net * 256 + 77)).networkHash
            #expect(ranking(s, ScoringRequest(stream: 0, stickyBand: 100, clientHash: sibling))[0] == first)
            seen[first, default: 0] += 1
        }
        #expect(seen.count == 5)
        #expect(seen.values.allSatisfy { $0 > 50 })
        // Band 0: exact compatibility, the best edge always.
        #expect(ranking(s, ScoringRequest(stream: 0, stickyBand: 0, clientHash: 42))[0] == "e0")
    }

    @Test func pendingViewersSpreadAHerdEvenly() {
        // 10,000 new viewers within one report interval over 5 equal edges.
        let edges = (0..<5).map { edge("e\($0)", ramMax: 1 << 34, limit: 10_000_000_000) }
        let s = snapshot(edges)
        let pending = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: 5)
        pending.initialize(repeating: 0)
        defer { pending.deallocate() }
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<10_000 {
            let top = Scorer.top(s, ScoringRequest(stream: 0), localPending: UnsafePointer(pending.baseAddress!))
            let w = top[0].edge
            counts[w] += 1
            pending[w] += s.streams[0].perViewerBytesPerSec
        }
        for c in counts { #expect(c >= 1500 && c <= 2500, "\(counts)") }
        #expect(s.streams[0].perViewerBytesPerSec == 131_072)
    }

    @Test func stalenessTransitionsAtExactBounds() {
        let policy = StalenessPolicy(staleAfterMs: 90_000, evictAfterMs: 300_000)
        var e = EdgeState(nodeId: "a")
        e.enrolledAtMs = 1000
        #expect(policy.health(of: e, nowMs: 1000) == .stale)  // never reported
        e.lastReportMs = 10_000
        #expect(policy.health(of: e, nowMs: 99_999) == .fresh)
        #expect(policy.health(of: e, nowMs: 100_000) == .stale)
        #expect(policy.health(of: e, nowMs: 309_999) == .stale)
        #expect(policy.health(of: e, nowMs: 310_000) == .evict)
        e.isStatic = true
        #expect(policy.health(of: e, nowMs: 10_000_000) == .fresh)
        var r = EdgeReport()
        r.cpuPermille = 10
        var dynamic = EdgeState(nodeId: "b")
        dynamic.addPending(500)
        r.apply(to: &dynamic, nowMs: 5)
        #expect(dynamic.lastReportMs == 5 && dynamic.pendingBytesPerSec == 0)
        // In a snapshot a stale edge is excluded as such.
        var stale = edge("s1")
        stale.isStatic = false
        stale.lastReportMs = 0
        let snap = snapshot([stale], nowMs: 90_000)
        #expect(Scorer.explain(snap, ScoringRequest(stream: 0)).candidates[0].exclusion == .stale)
    }
}


@Suite struct PendingWindowTests {
    @Test func pendingAgesOutAfterTheWindowWithoutReports() {
        var e = EdgeState(nodeId: "a")
        e.addPending(100)
        #expect(e.pendingBytesPerSec == 100)
        for second in 1..<EdgeState.pendingWindowSeconds {
            _ = e.agePending()
            e.addPending(10)
            #expect(e.pendingBytesPerSec == 100 + UInt64(second) * 10)
        }
        let expired = e.agePending()  // the first second's 100 expires
        #expect(expired)
        #expect(e.pendingBytesPerSec == UInt64(EdgeState.pendingWindowSeconds - 1) * 10)
        e.clearPending()
        #expect(e.pendingBytesPerSec == 0)
        let again = e.agePending()
        #expect(!again)
    }
}

/// Remote edges for scoring tests, without depending on the peering module.
enum PeerEdgeFixture {
    static func remote(_ id: String, lat: Double, lon: Double, cpu: UInt64, available: UInt64) -> EdgeState {
        var e = EdgeState(nodeId: id + "@peer")
        e.remoteCluster = "peer"
        e.remoteNodeId = id
        e.baseURL = "https://\(id).example/"
        e.lat = lat
        e.lon = lon
        e.cpuPermille = cpu
        e.ramMaxBytes = 1000
        e.remoteBwAvailableBytesPerSec = available
        e.isStatic = true
        e.streams = ["s": EdgeStreamStats(inputs: 1)]
        return e
    }
}

/// Fewer than `below` peer-cluster edges at random positions, loads and available bandwidth.
func randomRemoteEdges(_ rng: inout SplitMix, below: UInt64) -> [EdgeState] {
    (0..<Int(rng.next() % below)).map { i in
        PeerEdgeFixture.remote("r\(i)", lat: Double(rng.next() % 170) - 85, lon: Double(rng.next() % 360) - 180,
                               cpu: rng.next() % 1000, available: rng.next() % 2_000_000_000)
    }
}

/// A snapshot of local and remote edges carrying stream "s" (playback ID "p").
func snapshot(local: [EdgeState], remote: [EdgeState]) -> RoutingSnapshot {
    RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: local,
                          remoteEdges: remote, playback: [PlaybackRecord(playbackId: "p", stream: "s")], names: fixtureNames))
}

/// A viewer somewhere between ±85° latitude, or (one time in six) without a position.
func randomViewer(_ rng: inout SplitMix) -> GeoPoint? {
    rng.next() % 6 == 0 ? nil : GeoPoint(lat: Double(rng.next() % 170) - 85, lon: Double(rng.next() % 360) - 180)
}

/// The candidate index (bounding-ball trees walked best-first) against the linear path.
@Suite struct CandidateIndexTests {
    static let staticReasons: [Exclusion] = [.maintenance, .draining, .stale, .noMetrics, .bandwidthExhausted, .streamNoInputs, .capability]

    /// Random worlds with every kind of candidate: positioned and position-less, draining,
    /// no metrics, no inputs, full at the snapshot, remote, tags; viewers with and without a
    /// position; this loop's pending (never exhausting): the indexed walk returns exactly the
    /// linear path's top 5 and scores, and counts the same viewer-independent exclusions.
    @Test func indexedWalkEqualsTheLinearPath() {
        var rng = SplitMix(seed: 2026)
        var prunedSomewhere = false
        for round in 0..<250 {
            let n = Int(rng.next() % 400) + 1
            var edges: [EdgeState] = []
            for i in 0..<n {
                let limit = UInt64(rng.next() % 100_000) + 1000
                let positioned = rng.next() % 10 != 0
                let kind = rng.next() % 20
                edges.append(edge("e\(String(format: "%04d", i))", cpu: rng.next() % 1000, ramUsed: rng.next() % 1000,
                                  ramMax: kind == 0 ? 0 : 1000,
                                  up: kind == 1 ? limit + 5 : rng.next() % limit, limit: limit,
                                  lat: positioned ? Double(rng.next() % 170) - 85 : .nan, lon: positioned ? Double(rng.next() % 360) - 180 : .nan,
                                  streams: ["s": EdgeStreamStats(inputs: kind == 2 ? 0 : 1)],
                                  tags: rng.next() % 3 == 0 ? ["x"] : [], mode: kind == 3 ? .draining : kind == 4 ? .maintenance : .normal))
            }
            let s = snapshot(local: edges, remote: randomRemoteEdges(&rng, below: 10))
            var pending = [UInt64](repeating: 0, count: s.edgeCount)
            for i in 0..<s.edgeCount where rng.next() % 4 == 0 {
                let p = rng.next() % 20_000
                if !s.pendingExhausts(edge: i, pending: p) { pending[i] = p }
            }
            let viewer = randomViewer(&rng)
            var tags = CompiledTagAdjustment.none
            if rng.next() % 4 == 0 { tags = s.compile(try! TagAdjustment.parse(#"{"x": 300, "-x": -100}"#)) }
            let r = ScoringRequest(stream: 0, viewer: viewer, tags: tags)
            let (indexed, linear) = pending.withUnsafeBufferPointer {
                (Scorer.top(s, r, localPending: $0.baseAddress, pendingMayExclude: false), Scorer.linearTop(s, r, localPending: $0.baseAddress))
            }
            #expect(indexed.count == linear.count, "round \(round)")
            for k in 0..<min(indexed.count, linear.count) {
                #expect(indexed[k].edge == linear[k].edge && indexed[k].score == linear[k].score, "round \(round) rank \(k)")
            }
            for reason in Self.staticReasons {
                #expect(indexed.excluded[Int(reason.rawValue)] == linear.excluded[Int(reason.rawValue)], "round \(round) \(reason)")
            }
            if indexed.scored + 20 < linear.scored { prunedSomewhere = true }
        }
        #expect(prunedSomewhere)
    }

    /// Pending-only refreshes share the node bounds (computed without pending) and recount
    /// exclusions only when an edge's exhaustion changed: the walk still equals the linear path
    /// after pending rises (some edges exhausted) and falls again.
    @Test func pendingRefreshesKeepTheWalkExact() {
        var rng = SplitMix(seed: 77)
        for round in 0..<60 {
            let n = Int(rng.next() % 300) + 70
            var edges: [EdgeState] = []
            for i in 0..<n {
                edges.append(edge("e\(String(format: "%04d", i))", cpu: rng.next() % 1000, ramUsed: rng.next() % 1000,
                                  up: rng.next() % 50_000, limit: 100_000,
                                  lat: Double(rng.next() % 170) - 85, lon: Double(rng.next() % 360) - 180))
            }
            var s = snapshot(edges)
            for step in 0..<4 {
                var pending = [UInt64](repeating: 0, count: s.edgeCount)
                for i in 0..<s.edgeCount where rng.next() % 3 == 0 { pending[i] = rng.next() % (step % 2 == 0 ? 80_000 : 5_000) }
                s = RoutingSnapshot(refreshingPendingOf: s, pending: pending, generation: UInt64(step + 2), nowMs: 0, appliedShipments: [])
                let r = ScoringRequest(stream: 0, viewer: GeoPoint(lat: Double(rng.next() % 170) - 85, lon: Double(rng.next() % 360) - 180))
                let indexed = Scorer.top(s, r), linear = Scorer.linearTop(s, r)
                #expect(indexed.count == linear.count, "round \(round) step \(step)")
                for k in 0..<min(indexed.count, linear.count) {
                    #expect(indexed[k].edge == linear[k].edge && indexed[k].score == linear[k].score, "round \(round) step \(step) rank \(k)")
                }
                #expect(indexed.excluded[Int(Exclusion.bandwidthExhausted.rawValue)] == linear.excluded[Int(Exclusion.bandwidthExhausted.rawValue)],
                        "round \(round) step \(step)")
            }
        }
    }

    /// 4,000 candidates spread over the world, viewer in Amsterdam: the walk scores a small
    /// fraction of them exactly and still names the explain path's winners.
    @Test func largeStreamsAreMostlySkipped() {
        var rng = SplitMix(seed: 11)
        var edges: [EdgeState] = []
        for i in 0..<4000 {
            edges.append(edge("e\(String(format: "%05d", i))", cpu: rng.next() % 900 + 50, ramUsed: rng.next() % 1000, up: 0, limit: 1_000_000_000,
                              lat: Double(rng.next() % 115) - 50, lon: Double(rng.next() % 330) - 160))
        }
        let s = snapshot(edges)
        let r = ScoringRequest(stream: 0, viewer: GeoPoint(lat: 52.37, lon: 4.90))
        let top = Scorer.top(s, r)
        #expect(top.count == 5)
        #expect(top.scored < 100 && top.nodesVisited < 150, "scored \(top.scored), visited \(top.nodesVisited) of \(s.index.nodeCount) nodes")
        #expect((0..<5).map { top[$0].edge } == Scorer.explain(s, r).ranking)
    }

    /// Tenant-reserved edges and pending that exhausts an edge take the linear path: the
    /// exclusions it alone can see are counted.
    @Test func linearFallbacksCountTenantAndPendingExclusions() {
        let s = snapshot([edge("a", up: 0, limit: 1000, lat: 52, lon: 5), edge("b", limit: 1000, lat: 40, lon: -3, tenant: "t")])
        let tenantTop = Scorer.top(s, ScoringRequest(stream: 0, tenant: -1, viewer: GeoPoint(lat: 52, lon: 5)))
        #expect(tenantTop.excluded[Int(Exclusion.tenantMismatch.rawValue)] == 1)
        let s2 = snapshot([edge("a", up: 500, limit: 1000, lat: 52, lon: 5), edge("b", up: 0, limit: 1000, lat: 40, lon: -3)])
        #expect(s2.pendingExhausts(edge: 0, pending: 500))
        #expect(!s2.pendingExhausts(edge: 0, pending: 499))
        let pending: [UInt64] = [500, 0]
        let top = pending.withUnsafeBufferPointer { Scorer.top(s2, ScoringRequest(stream: 0), localPending: $0.baseAddress, pendingMayExclude: true) }
        #expect(top.excluded[Int(Exclusion.bandwidthExhausted.rawValue)] == 1)
        #expect(top.count == 1 && s2.nodeIds[top[0].edge] == "b")
    }
}
