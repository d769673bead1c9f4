import FoghornTestSupport
import Testing
@testable import FoghornModel
import FoghornModelFixtures

/// The snapshot builder without a loop: which build each change takes, that the result equals a
/// full build of the same state, pending bandwidth on the right slots, sweeps, ended streams'
/// slots and name retirement.
@Suite struct SnapshotBuilderTests {
    static let now: UInt64 = 1_000_000

    static func builder(loops: Int = 1, names: StreamNameTable = fixtureNames, retiresNames: Bool = false) -> SnapshotBuilder {
        SnapshotBuilder(weights: .defaults, staleness: StalenessPolicy(), geo: nil, names: names, dataLoops: loops, retiresNames: retiresNames)
    }

    /// A full build of the builder's state as it is now (what every other kind must equal).
    static func fullBuild(of b: SnapshotBuilder, generation: UInt64) -> RoutingSnapshot {
        RoutingSnapshot(.init(generation: generation, nowMs: now, weights: b.weights, staleness: b.staleness,
                              edges: b.edges.values.sorted { $0.nodeId < $1.nodeId }, remoteEdges: b.remote.states, playback: b.playback.records,
                              playbackStreamIds: b.playback.streamIds, geo: b.geo, names: b.names))
    }

    @Test func eachChangeTakesTheCheapestBuildThatAppliesIt() {
        let b = Self.builder()
        var generation: UInt64 = 0
        func next() -> [SnapshotBuilder.BuildKind] {
            generation += 1
            return b.next(generation: generation, nowMs: Self.now).kinds
        }
        for id in ["edge-a", "edge-b", "edge-c"] { b.upsertEdge(reportingEdge(id, streams: ["live+x"], reportedMs: Self.now)) }
        b.setPlayback(PlaybackRecord(playbackId: "px", stream: "live+x"))
        #expect(b.fullBuildDue)
        #expect(next() == [.full])
        #expect(!b.isDirty)

        b.receiveShipment(loop: 0, sequence: 1, amounts: [(nodeId: "edge-a", bytesPerSec: 1000)])
        #expect(b.onlyPendingChanged)
        #expect(next() == [.pendingRefresh])
        #expect(b.latest.pending[0] == 1000)

        var busier = b.edges["edge-b"]!
        busier.cpuPermille = 900
        b.upsertEdge(busier)
        #expect(!b.onlyPendingChanged && !b.fullBuildDue)
        #expect(next() == [.loadRefresh])

        var more = b.edges["edge-c"]!
        more.streams = ["live+x": EdgeStreamStats(inputs: 1), "live+y": EdgeStreamStats(inputs: 1)]
        b.upsertEdge(more)
        #expect(next() == [.incremental])
        #expect(b.latest.streamIndex(named: "live+y") != nil)

        b.upsertEdge(reportingEdge("edge-0", streams: ["live+y"], reportedMs: Self.now))
        #expect(!b.fullBuildDue)
        #expect(next() == [.renumbering])
        #expect(b.latest.nodeIds == ["edge-0", "edge-a", "edge-b", "edge-c"])
        #expect(b.removeEdge("edge-a"))
        #expect(next() == [.renumbering])

        b.setWeights(ScoringWeights(cpu: 100, ram: 100, bandwidth: 100, geo: 100, streamBonus: 10))
        #expect(next() == [.reweighting, .pendingRefresh])
        b.setPlayback(PlaybackRecord(playbackId: "py", stream: "live+y"))
        #expect(next() == [.playbackPatch, .pendingRefresh])
        #expect(b.latest.playbackIndex("py").flatMap(b.latest.streamOf(playback:)).map(b.latest.streamName) == "live+y")

        var peer = reportingEdge("e1@west", streams: ["live+z"], reportedMs: Self.now)
        peer.remoteCluster = "west"
        peer.remoteBwAvailableBytesPerSec = 1_000_000_000
        b.setRemoteEdges([(peer, 1)])
        #expect(next() == [.renumbering])
        #expect(b.latest.edgeCount == 4 && b.latest.localEdgeCount == 3)

        // An edge turning into a peer's: only a full build applies it.
        var turned = b.edges["edge-b"]!
        turned.remoteCluster = "east"
        b.upsertEdge(turned)
        #expect(b.fullBuildDue)
        #expect(next() == [.full])
        #expect(b.counts.full == 2 && b.counts.pendingRefreshes == 3 && b.counts.loadRefreshes == 1 && b.counts.incremental == 6)
        IncrementalBuildTests.expectSameRouting(b.latest, Self.fullBuild(of: b, generation: generation))
    }

    /// Random changes of every kind, a build after each burst: the published snapshot always
    /// routes like a full build of the same state.
    @Test func everyBuildRoutesLikeAFullBuildOfTheSameState() {
        var rng = SplitMix(seed: 0x5EED)
        let b = Self.builder(loops: 2)
        let streams = ["bld+a", "bld+b", "bld+c", "bld+d"]
        var generation: UInt64 = 0
        var kindsSeen = Set<String>()
        for round in 0..<120 {
            for _ in 0..<Int(rng.next() % 4 + 1) {
                let id = "edge-\(rng.next() % 24)"
                switch rng.next() % 9 {
                case 0, 1:
                    var e = reportingEdge(id, streams: streams.filter { _ in rng.next() % 2 == 0 }, reportedMs: Self.now)
                    e.cpuPermille = rng.next() % 1000
                    if rng.next() % 3 == 0 { e.lat = Double(rng.next() % 120) - 60; e.lon = Double(rng.next() % 300) - 150 }
                    b.upsertEdge(e)
                case 2:
                    if var e = b.edges[id] { e.upBytesPerSec = rng.next() % 1_000_000; b.upsertEdge(e) }
                case 3: _ = b.removeEdge(id)
                case 4: _ = b.setMode(rng.next() % 2 == 0 ? .draining : .normal, of: id)
                case 5: b.setPlayback(PlaybackRecord(playbackId: "p\(rng.next() % 12)", stream: streams[Int(rng.next() % 4)]))
                case 6: _ = b.removePlayback("p\(rng.next() % 12)")
                case 7: b.receiveShipment(loop: Int(rng.next() % 2), sequence: UInt64(round), amounts: [(nodeId: id, bytesPerSec: rng.next() % 5000)])
                default: b.setWeights(ScoringWeights(cpu: rng.next() % 1000, ram: 500, bandwidth: 1000, geo: 1000, streamBonus: 50))
                }
            }
            generation += 1
            let (snapshot, kinds) = b.next(generation: generation, nowMs: Self.now)
            for k in kinds { kindsSeen.insert(k.rawValue) }
            IncrementalBuildTests.expectSameRouting(snapshot, Self.fullBuild(of: b, generation: generation), "round \(round)")
            for i in 0..<snapshot.localEdgeCount {
                #expect(snapshot.pending[i] == b.edges[snapshot.nodeIds[i]]?.pendingBytesPerSec, "round \(round) pending of \(snapshot.nodeIds[i])")
            }
        }
        #expect(kindsSeen.isSuperset(of: ["full", "pendingRefresh", "loadRefresh", "incremental", "renumbering", "reweighting", "playbackPatch"]))
    }

    /// Pending refreshes find each edge's slot through the map kept from the last full or
    /// renumbering build (no node-ID hashing per edge): every edge's pending lands on its own
    /// slot, through refreshes, edges added and removed and a full build.
    @Test func pendingRefreshesPutEachEdgesPendingOnItsOwnSlot() {
        let b = Self.builder()
        var generation: UInt64 = 0
        func publish() -> RoutingSnapshot { generation += 1; return b.next(generation: generation, nowMs: Self.now).snapshot }
        func pendingByNode(_ s: RoutingSnapshot) -> [String: UInt64] {
            var out: [String: UInt64] = [:]
            for i in 0..<s.localEdgeCount { out[s.nodeIds[i]] = s.pending[i] }
            return out
        }
        // Names whose sorted order (snapshot slots) differs from the dictionary's order.
        var rng = SplitMix(seed: 7919)
        let ids = (0..<300).map { "edge-\(($0 * 7919) % 1000)-\(rng.next() % 100_000)" }
        for id in ids { b.upsertEdge(reportingEdge(id, streams: ["live+s"], reportedMs: Self.now)) }
        _ = publish()
        var expected = [String: UInt64](uniqueKeysWithValues: ids.map { ($0, 0) })
        for round in 1...3 {
            let shipped = ids.enumerated().filter { ($0.offset + round) % 3 == 0 }.map { (nodeId: $0.element, bytesPerSec: UInt64($0.offset * 10 + round)) }
            b.receiveShipment(loop: 0, sequence: UInt64(round), amounts: shipped)
            for s in shipped { expected[s.nodeId, default: 0] += s.bytesPerSec }
            #expect(pendingByNode(publish()) == expected, "round \(round)")
            #expect(b.counts.pendingRefreshes == UInt64(round))
        }
        b.upsertEdge(reportingEdge("edge-0000-new", streams: ["live+s"], reportedMs: Self.now))
        expected["edge-0000-new"] = 0
        let more = [(nodeId: "edge-0000-new", bytesPerSec: UInt64(5)), (nodeId: ids[7], bytesPerSec: UInt64(9))]
        b.receiveShipment(loop: 0, sequence: 4, amounts: more)
        for s in more { expected[s.nodeId, default: 0] += s.bytesPerSec }
        #expect(pendingByNode(publish()) == expected)
        #expect(b.removeEdge(ids[0]))
        expected.removeValue(forKey: ids[0])
        b.receiveShipment(loop: 0, sequence: 5, amounts: [(nodeId: ids[1], bytesPerSec: 3)])
        expected[ids[1], default: 0] += 3
        #expect(pendingByNode(publish()) == expected)
        #expect(b.counts.full == 1 && b.counts.incremental == 2)
        b.markDirty(structural: true, fullBuild: true)
        b.receiveShipment(loop: 0, sequence: 6, amounts: [(nodeId: ids[2], bytesPerSec: 4)])
        expected[ids[2], default: 0] += 4
        #expect(pendingByNode(publish()) == expected)
        #expect(b.counts.full == 2)
        b.receiveShipment(loop: 0, sequence: 7, amounts: [(nodeId: ids[3], bytesPerSec: 6)])
        expected[ids[3], default: 0] += 6
        #expect(pendingByNode(publish()) == expected)
        #expect(b.latest.appliedShipments == [7])
    }

    /// The sweep: a silent edge goes stale (a load refresh excludes it), comes back fresh, and
    /// is evicted once silent past `evictAfterMs` (renumbered out).
    @Test func sweepsFlipHealthAndEvictSilentEdges() {
        let b = Self.builder()
        let policy = b.staleness
        b.upsertEdge(reportingEdge("edge-a", streams: ["live+s"], reportedMs: Self.now))
        b.upsertEdge(reportingEdge("edge-b", streams: ["live+s"], reportedMs: Self.now))
        b.next(generation: 1, nowMs: Self.now)
        #expect(b.sweep(nowMs: Self.now + 1).isEmpty && !b.isDirty)

        var fresh = b.edges["edge-b"]!
        fresh.lastReportMs = Self.now + policy.staleAfterMs
        b.upsertEdge(fresh)
        b.next(generation: 2, nowMs: Self.now + policy.staleAfterMs)
        #expect(b.sweep(nowMs: Self.now + policy.staleAfterMs).isEmpty)
        #expect(b.isDirty && b.onlyPendingChanged == false)
        let stale = b.next(generation: 3, nowMs: Self.now + policy.staleAfterMs)
        #expect(stale.kinds == [.loadRefresh])
        #expect(stale.snapshot.exclusion(edge: 0) == .stale && stale.snapshot.exclusion(edge: 1) == nil)

        #expect(b.sweep(nowMs: Self.now + policy.evictAfterMs) == ["edge-a"])
        #expect(b.counts.evictions == 1)
        let evicted = b.next(generation: 4, nowMs: Self.now + policy.evictAfterMs)
        #expect(evicted.kinds == [.renumbering] && evicted.snapshot.nodeIds == ["edge-b"])
    }

    /// Streams come and go all day. Incremental builds keep an ended stream's slot (empty); once
    /// the empty slots reach `emptyStreamSlotFloor` and outnumber the live ones, a full build
    /// lays out only live streams.
    @Test func endedStreamsSlotsAreDroppedOnceTheyOutnumberLiveOnes() {
        let b = Self.builder()
        let nodes = ["edge-a", "edge-b", "edge-c", "edge-d"]
        let perEdge = 150  // 600 new streams per round, the previous round's 600 end
        func churn(_ round: Int, _ node: Int) -> [String] { (0..<perEdge).map { "live+churn-\(round)-\(nodes[node])-\($0)" } }
        for (k, n) in nodes.enumerated() { b.upsertEdge(reportingEdge(n, streams: ["live+steady"] + churn(0, k), reportedMs: Self.now)) }
        b.next(generation: 1, nowMs: Self.now)
        var maxSlots = 0
        for round in 1...30 {
            for (k, n) in nodes.enumerated() { b.upsertEdge(reportingEdge(n, streams: ["live+steady"] + churn(round, k), reportedMs: Self.now)) }
            let s = b.next(generation: UInt64(round + 1), nowMs: Self.now).snapshot
            maxSlots = max(maxSlots, s.streams.count)
            #expect(s.liveStreamCount == 1 + nodes.count * perEdge, "round \(round)")
            #expect(s.streamIndex(named: "live+steady").map { s.candidates(of: $0).count } == nodes.count)
            #expect(s.streamIndex(named: "live+churn-\(round)-edge-c-7").map { s.candidates(of: $0).count } == 1)
            #expect(s.streamIndex(named: "live+churn-\(round - 1)-edge-c-7") == nil)
            #expect(b.counts.full + b.counts.incremental == UInt64(round + 1))
        }
        // 30 rounds ended 18,000 streams: slots are counted once 4,096 more than the full build's 601
        // are there (after round 7: 4,801 slots, 4,200 empty), so rounds 8, 16 and 24 were full
        // builds; never more than 4,096 + 600 empty slots beside the 601 live ones.
        #expect(b.counts.streamSlotCompactions == 3)
        #expect(b.counts.full == 4)
        #expect(maxSlots <= SnapshotBuilder.emptyStreamSlotFloor + 2 * (1 + nodes.count * perEdge))
        #expect(maxSlots > SnapshotBuilder.emptyStreamSlotFloor)
    }

    /// With a table of its own, the builder retires names nothing uses at a full build once
    /// `nameSweepFloor` are interned — not while a configuration read holds IDs — and frees them
    /// once no snapshot up to that build is read.
    @Test func unusedNamesAreRetiredAtAFullBuildUnlessHeld() {
        let names = StreamNameTable()
        let b = Self.builder(names: names, retiresNames: true)
        func carrying(_ id: String, _ streams: [String]) -> EdgeState {
            var e = reportingEdge(id, streams: [], reportedMs: Self.now)
            e.setStreams(ids: names.ids(for: streams), stats: streams.map { _ in EdgeStreamStats(inputs: 1) })
            return e
        }
        b.upsertEdge(carrying("edge-a", ["live+kept"]))
        b.next(generation: 1, nowMs: Self.now)
        // Names looked up once (say, viewers' misses) in this epoch, enough to make a sweep due.
        _ = names.ids(for: (0..<SnapshotBuilder.nameSweepFloor).map { "live+gone-\($0)" })
        // A full build while a configuration read holds IDs: no retiring; the epoch ends.
        b.holdNames()
        b.markDirty(structural: true, fullBuild: true)
        b.next(generation: 2, nowMs: Self.now)
        #expect(b.counts.nameSweeps == 0, "held by a configuration read")
        b.releaseNames()
        // Any change now: the sweep is due, so the build is a full one that retires.
        b.markDirty()
        #expect(b.next(generation: 3, nowMs: Self.now).kinds == [.full])
        #expect(b.counts.nameSweeps == 1 && b.counts.full == 3)
        #expect(b.reclaimNames(oldestReadGeneration: 3) == nil, "a snapshot of the retiring build may still be read")
        #expect(b.reclaimNames(oldestReadGeneration: 4) == SnapshotBuilder.nameSweepFloor)
        #expect(names.existingId(for: "live+kept") != nil && names.existingId(for: "live+gone-7") == nil && names.interned == 1)
    }
}
