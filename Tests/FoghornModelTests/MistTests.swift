import FoghornTestSupport
import Testing
import FoghornJSON
@testable import FoghornModel
import FoghornModelFixtures

@Suite struct MistModelTests {
    @Test func nodeAddresses() {
        #expect(MistNodeAddress.parse("edge1.example") == MistNodeAddress(host: "edge1.example", port: 4242, bandwidthLimitBytesPerSec: nil))
        #expect(MistNodeAddress.parse("10.0.0.5:4343/100") == MistNodeAddress(host: "10.0.0.5", port: 4343, bandwidthLimitBytesPerSec: 104_857_600))
        #expect(MistNodeAddress.parse("[2001:db8::1]:4242")?.host == "2001:db8::1")
        #expect(MistNodeAddress.parse("10.0.0.5:4343")?.nodeId == "10.0.0.5:4343")
        #expect(MistNodeAddress.parse("edge1")?.nodeId == "edge1")
        for bad in ["", "a b", "host:0", "host:99999", "host/0", "host/x", "http://host", "[::1"] {
            #expect(MistNodeAddress.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func samplesBecomeEdgesWithRatesFromCounterDeltas() throws {
        let doc1 = try JSONParser.parse(#"{"cpu": 300, "mem_total": 1000, "mem_used": 400, "shm_total": 100, "shm_used": 50, "bw": [1000000, 500000], "bwlimit": 0, "loc": {"lat": 1.5, "lon": 2.5, "name": "X"}, "tags": ["a"], "streams": {"s": {"curr": [3, 1, 0, 0], "bw": [100000, 0]}}, "outputs": {"HLS": "http://HOST:8080/hls/$/index.m3u8"}}"#)
        let doc2 = try JSONParser.parse(#"{"cpu": 300, "mem_total": 1000, "mem_used": 400, "shm_total": 100, "shm_used": 50, "bw": [3000000, 500000], "streams": {"s": {"curr": [3, 1, 0, 0], "bw": [600000, 0], "rep": true}}}"#)
        let address = MistNodeAddress.parse("10.1.2.3/10")!
        let first = try MistSample.parse(doc1), second = try MistSample.parse(doc2)
        #expect(first.ramUsedPPM == 500_000)  // max(450/1000, 50/100)
        var edge = EdgeState(nodeId: address.nodeId)
        first.apply(to: &edge, previous: nil, elapsedMs: 0, address: address, nowMs: 1000, names: fixtureNames)
        #expect(edge.upBytesPerSec == 0)  // first poll: no rate yet
        #expect(edge.bwLimitBytesPerSec == 10_485_760)
        #expect(edge.lat == 1.5 && edge.location == "X" && edge.tags == ["a"])
        #expect(edge.baseURL == "http://10.1.2.3/")
        second.apply(to: &edge, previous: first, elapsedMs: 2000, address: address, nowMs: 3000, names: fixtureNames)
        #expect(edge.upBytesPerSec == 1_000_000)  // 2 MB over 2 s
        #expect(edge.streams["s"] == EdgeStreamStats(inputs: 1, viewers: 3, upBytesPerSec: 250_000, replicated: true))
        // A counter reset gives 0, not a huge number.
        first.apply(to: &edge, previous: second, elapsedMs: 1000, address: address, nowMs: 4000, names: fixtureNames)
        #expect(edge.upBytesPerSec == 0)
        #expect(throws: MistSample.Invalid.self) { try MistSample.parse(try JSONParser.parse(#"{"mem_total": 1}"#)) }
        #expect(throws: MistSample.Invalid.self) { try MistSample.parse(try JSONParser.parse(#"{"cpu": 1, "mem_total": 1, "bw": [1]}"#)) }
    }

    @Test func compatScoringFollowsMistUtilLoad() {
        var a = edge("a", cpu: 500, streams: [:])  // idle-ish but without the stream
        a.configStreams = []
        var b = edge("b", cpu: 520, streams: ["live+s": EdgeStreamStats(inputs: 1, viewers: 2)])
        var c = edge("c", streams: ["live+s": EdgeStreamStats(inputs: 1, viewers: 1, replicated: true)])
        c.configStreams = ["other"]
        let s = snapshot([a, b, c])
        // Viewer: every node is a candidate; carrying the stream earns the bonus (b beats a by 50 − 10);
        // c is excluded by its conf_streams.
        #expect(MistCompatScorer.best(s, stream: "live+s", mode: .viewer, viewer: nil, tags: .none).map { s.nodeIds[$0.edge] } == "b")
        // Unknown stream: the best node overall that may serve it (c's conf_streams forbid it).
        #expect(MistCompatScorer.best(s, stream: "nope", mode: .viewer, viewer: nil, tags: .none).map { s.nodeIds[$0.edge] } == "a")
        // Source: only live, non-replicated inputs, never the requester.
        b.baseURL = "http://10.0.0.2/"
        let s2 = snapshot([a, b, c])
        #expect(MistCompatScorer.best(s2, stream: "live+s", mode: .source(requesterHost: nil), viewer: nil, tags: .none).map { s2.nodeIds[$0.edge] } == "b")
        #expect(MistCompatScorer.best(s2, stream: "live+s", mode: .source(requesterHost: "10.0.0.2"), viewer: nil, tags: .none) == nil)
        // Ingest: cpu‰ + 10·pct must stay below 1000.
        #expect(MistCompatScorer.best(s2, stream: nil, mode: .ingest(cpuPercent: 50), viewer: nil, tags: .none).map { s2.nodeIds[$0.edge] } == "c")
        #expect(MistCompatScorer.best(s2, stream: nil, mode: .ingest(cpuPercent: 100), viewer: nil, tags: .none) == nil)
        #expect(MistCompatScorer.allowed("live+s", ["live"]))
        #expect(!MistCompatScorer.allowed("vod+s", ["live"]))
    }
}

extension MistModelTests {
    /// The compat scorer's pruning (bounds before the geo term) never changes the winner: over
    /// random nodes, positions, loads, tags and this loop's pending, it names the node a plain
    /// pass scoring every local node exactly names (score desc, lowest index on a tie); peer
    /// clusters' edges are never chosen.
    @Test func compatPruningKeepsTheWinner() {
        var rng = SplitMix(seed: 7)
        for round in 0..<200 {
            // Up to 900 nodes: the stream's carriers span the linear, flat and tree index paths (the seed).
            let count = 1 + Int(rng.next() % (round % 4 == 0 ? 900 : 120))
            var edges: [EdgeState] = []
            for i in 0..<count {
                var streams: [String: EdgeStreamStats] = [:]
                switch rng.next() % 3 {
                case 0: streams["live+s"] = EdgeStreamStats(inputs: 1, viewers: UInt32(rng.next() % 5))
                case 1: streams["live+s"] = EdgeStreamStats(inputs: 0, viewers: 2)
                default: streams["other"] = EdgeStreamStats(inputs: 1)
                }
                let positioned = rng.next() % 5 != 0
                edges.append(edge("n\(i)", cpu: rng.next() % 1001, ramUsed: rng.next() % 1000, ramMax: 1000, up: rng.next() % 1100, limit: 1000,
                                  lat: positioned ? Double(rng.next() % 170) - 85 : .nan, lon: positioned ? Double(rng.next() % 360) - 180 : .nan,
                                  streams: streams, tags: rng.next() % 2 == 0 ? ["eu"] : ["us"]))
            }
            // Peer clusters' edges, some better placed than any local node: never compat candidates.
            let s = snapshot(local: edges, remote: randomRemoteEdges(&rng, below: 4))
            let viewer: GeoPoint? = rng.next() % 4 == 0 ? nil : GeoPoint(lat: Double(rng.next() % 170) - 85, lon: Double(rng.next() % 360) - 180)
            let tags = rng.next() % 3 == 0 ? s.compile(try! TagAdjustment.parse(#"{"eu": 300, "-us": -200}"#)) : .none
            let pending = (0..<s.edgeCount).map { _ in rng.next() % 3 == 0 ? rng.next() % 400 : 0 }
            let got = pending.withUnsafeBufferPointer {
                MistCompatScorer.best(s, stream: "live+s", mode: .viewer, viewer: viewer, tags: tags, localPending: $0.baseAddress)
            }
            // Reference: every node scored in full.
            let w = s.weights
            let entry = s.streamIndex(named: "live+s").map { s.candidates(of: $0) }
            var best: (edge: Int, score: UInt64)?
            for i in 0..<s.edgeCount {
                let h = s.hot[i]
                guard h.exclusion == 0, !h.remote else { continue }
                let used = h.used + pending[i]
                guard used < h.limit else { continue }
                var score = UInt64(h.cpuRamScore) + w.bandwidthScore(used: used, limit: h.limit)
                if let v = viewer, h.geoValid { score += GeoTerm.fast(weight: w.geo, dot: min(1, max(-1, v.x * h.ux + v.y * h.uy + v.z * h.uz))) }
                if let entry, let k = (0..<entry.edges.count).first(where: { Int(entry.edges[$0]) == i }), entry.inputs[k] > 0 || entry.hasViewers(k) {
                    score += w.streamBonus
                }
                if !tags.masks.isEmpty { score = TagAdjustment.apply(tags.total(tagBits: h.tagBits, edge: i, of: s), to: score) }
                if score == 0 { continue }
                if best == nil || score > best!.score { best = (i, score) }
            }
            #expect(got?.edge == best?.edge && got?.score == best?.score, "round \(round)")
        }
    }
}
