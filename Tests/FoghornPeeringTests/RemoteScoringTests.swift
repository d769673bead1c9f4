import FoghornModel
import FoghornModelFixtures
import FoghornPeering
import Testing

@Suite("Remote edge scoring")
struct RemoteScoringTests {
    /// The reference's test (`score_remote_edges_test.go`): weights cpu=100, ram=100, bw=300,
    /// geo=100; CPU 150 %, RAM 200 of 100, BW 2×ref, viewer at the edge → 0+0+300+100−200 = 200.
    @Test func referenceExampleScores200() throws {
        let remote = PeerEdge(nodeId: "r1", baseURL: "https://r1.example/", lat: 10, lon: 20, cpuPermille: 1500,
                              ramUsedBytes: 200, ramMaxBytes: 100, bwAvailableBytesPerSec: 2 * ScoringWeights.remoteReferenceBytesPerSec,
                              streams: [.init(name: "s", inputs: 1, viewers: 0)]).edgeState(cluster: "c", names: fixtureNames)
        let weights = ScoringWeights(cpu: 100, ram: 100, bandwidth: 300, geo: 100, streamBonus: 50)
        let snap = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: weights, staleness: StalenessPolicy(), edges: [],
                                         remoteEdges: [remote], playback: [], names: fixtureNames))
        let stream = try #require(snap.streamIndex(named: "s"))
        let viewer = GeoPoint(lat: 10, lon: 20)
        let top = Scorer.top(snap, ScoringRequest(stream: Int(stream), viewer: viewer))
        #expect(top.count == 1)
        #expect(top[0].score == 200)
        #expect(snap.nodeIds[top[0].edge] == "r1@c")
        let explained = Scorer.explain(snap, ScoringRequest(stream: Int(stream), viewer: viewer))
        let b = try #require(explained.candidates.first)
        #expect(b.cluster == "c")
        #expect([b.cpu, b.ram, b.bandwidth, b.geo, b.streamBonus, b.crossClusterPenalty, b.total] == [0, 0, 300, 100, 0, 200, 200])
        #expect(snap.edgeIndex(nodeId: "r1@c") == top[0].edge)
    }

    static func local(_ id: String, upBytes: UInt64) -> EdgeState {
        var e = EdgeState(nodeId: id)
        e.isStatic = true
        e.baseURL = "https://\(id).example/"
        e.lat = 10
        e.lon = 20
        e.cpuPermille = 500
        e.ramUsedBytes = 50
        e.ramMaxBytes = 100
        e.upBytesPerSec = upBytes
        e.bwLimitBytesPerSec = 125_000_000
        e.streams = ["s": EdgeStreamStats(inputs: 1, viewers: 1)]
        return e
    }

    static func remote(_ id: String, available: UInt64, cpu: UInt64 = 0) -> EdgeState {
        PeerEdge(nodeId: id, baseURL: "https://\(id).example/", lat: 10, lon: 20, cpuPermille: cpu, ramUsedBytes: 0, ramMaxBytes: 100,
                 bwAvailableBytesPerSec: available, streams: [.init(name: "s", inputs: 1, viewers: 0)]).edgeState(cluster: "peer", names: fixtureNames)
    }

    /// Local edges win unless a remote one is clearly better; the penalty and the
    /// missing stream bonus are what "clearly" means.
    @Test func localWinsUnlessRemoteIsClearlyBetter() throws {
        // Local: cpu 250 + ram 250 + bw 1000 + geo 1000 + bonus 50 = 2550.
        // Remote idle, 10 Gbps free: 500 + 500 + 1000 + 1000 − 200 = 2800 → remote wins.
        var snap = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(),
                                         edges: [Self.local("l1", upBytes: 0)], remoteEdges: [Self.remote("r1", available: 1_250_000_000)], playback: [], names: fixtureNames))
        var top = Scorer.top(snap, ScoringRequest(stream: 0, viewer: GeoPoint(lat: 10, lon: 20)))
        #expect(snap.nodeIds[top[0].edge] == "r1@peer")
        #expect(top[0].score == 2800)
        #expect(top[1].score == 2550)
        // Remote with 1 Gbps free: bw 100 → 500+500+100+1000−200 = 1900 < 2550 → local wins.
        snap = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(),
                                     edges: [Self.local("l1", upBytes: 0)], remoteEdges: [Self.remote("r1", available: 125_000_000)], playback: [], names: fixtureNames))
        top = Scorer.top(snap, ScoringRequest(stream: 0, viewer: GeoPoint(lat: 10, lon: 20)))
        #expect(snap.nodeIds[top[0].edge] == "l1")
        #expect(top[1].score == 1900)
        // An exact tie goes to the local edge (remote edges are indexed after local ones).
        // Local: 250+250+(1000−800)+1000+50 = 1750; remote cpu 1000‰: 0+500+... choose available for 1750+200−1500 = 450 → 56.25%.
        snap = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(),
                                     edges: [Self.local("l1", upBytes: 100_000_000)],
                                     remoteEdges: [Self.remote("r1", available: 562_500_000, cpu: 1000)], playback: [], names: fixtureNames))
        top = Scorer.top(snap, ScoringRequest(stream: 0, viewer: GeoPoint(lat: 10, lon: 20)))
        #expect(top[0].score == 1750 && top[1].score == 1750)
        #expect(snap.nodeIds[top[0].edge] == "l1")
    }

    @Test func remoteBelowPenaltyAndWithoutBandwidthAreExcluded() throws {
        // cpu 0, ram 0 (RAM full), 0 bandwidth → excluded for bandwidth.
        var r = Self.remote("r0", available: 0)
        let snap0 = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: [], remoteEdges: [r], playback: [], names: fixtureNames))
        var top = Scorer.top(snap0, ScoringRequest(stream: 0))
        #expect(top.isEmpty)
        #expect(top.excluded[Int(Exclusion.bandwidthExhausted.rawValue)] == 1)
        // No geo, cpu 1000‰, RAM full, bw 1/10 of ref → 100 ≤ 200 → excluded with its reason.
        r = Self.remote("r1", available: 125_000_000, cpu: 1000)
        r.ramUsedBytes = 100
        let snap = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: [], remoteEdges: [r], playback: [], names: fixtureNames))
        top = Scorer.top(snap, ScoringRequest(stream: 0))
        #expect(top.isEmpty)
        #expect(top.excluded[Int(Exclusion.belowCrossClusterPenalty.rawValue)] == 1)
        #expect(Scorer.explain(snap, ScoringRequest(stream: 0)).candidates[0].exclusion == .belowCrossClusterPenalty)
    }

    @Test func pendingRefreshKeepsRemoteArithmetic() {
        let snap = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(),
                                         edges: [Self.local("l1", upBytes: 0)], remoteEdges: [Self.remote("r1", available: 1_250_000_000)], playback: [], names: fixtureNames))
        let refreshed = RoutingSnapshot(refreshingPendingOf: snap, pending: [0, 625_000_000], generation: 2, nowMs: 0, appliedShipments: [])
        let top = Scorer.top(refreshed, ScoringRequest(stream: 0, viewer: GeoPoint(lat: 10, lon: 20)))
        // Remote bw now 500: 500+500+500+1000−200 = 2300 < local 2550.
        #expect(refreshed.nodeIds[top[0].edge] == "l1")
        #expect(top[1].score == 2300)
    }
}
