import Logging
import Testing
import FoghornConfig
import FoghornControl
import FoghornHTTP
import FoghornModel

/// Streams come and go all day. Incremental builds keep an ended stream's slot (empty), so under
/// churn the published snapshot would grow without bound; once the empty slots reach
/// `emptyStreamSlotFloor` and outnumber the live ones, a full build lays out only live streams.
@Suite struct StreamChurnTests {
    static func edge(_ id: String, streams: [String]) -> EdgeState {
        var e = EdgeState(nodeId: id)
        e.cpuPermille = 100
        e.ramMaxBytes = 1 << 30
        e.bwLimitBytesPerSec = 1 << 40
        e.lastReportMs = ControlPlane.monotonicMs()
        e.streams = Dictionary(uniqueKeysWithValues: streams.map { ($0, EdgeStreamStats(inputs: 1)) })
        return e
    }

    @Test func endedStreamsSlotsAreDroppedOnceTheyOutnumberLiveOnes() throws {
        let loop = EventLoop(name: "control-test")
        defer { loop.start(); loop.stop(); loop.join() }
        let plane = try ControlPlane(config: FoghornConfiguration(), loop: loop, logger: Logger(label: "test"), dataLoops: 1, geo: nil)
        let nodes = ["edge-a", "edge-b", "edge-c", "edge-d"]
        let perEdge = 150  // 600 new streams per round, the previous round's 600 end
        func churn(_ round: Int, _ node: Int) -> [String] {
            (0..<perEdge).map { "live+churn-\(round)-\(nodes[node])-\($0)" }
        }
        for (k, n) in nodes.enumerated() { plane.upsertEdge(Self.edge(n, streams: ["live+steady"] + churn(0, k))) }
        plane.rebuildNow()
        #expect(plane.builds.full == 1)
        var maxSlots = 0
        for round in 1...30 {
            for (k, n) in nodes.enumerated() { plane.upsertEdge(Self.edge(n, streams: ["live+steady"] + churn(round, k))) }
            plane.rebuildNow()
            let s = plane.publisher.snapshot
            maxSlots = max(maxSlots, s.streams.count)
            // Live streams route; the previous round's ended; none of it took more than one build.
            #expect(s.liveStreamCount == 1 + nodes.count * perEdge, "round \(round)")
            #expect(s.streamIndex(named: "live+steady").map { s.candidates(of: $0).count } == nodes.count)
            #expect(s.streamIndex(named: "live+churn-\(round)-edge-c-7").map { s.candidates(of: $0).count } == 1)
            #expect(s.streamIndex(named: "live+churn-\(round - 1)-edge-c-7") == nil)
            #expect(plane.builds.full + plane.builds.incremental == UInt64(round + 1))
        }
        // 30 rounds ended 18,000 streams: slots are counted once 4,096 more than the full build's 601
        // are there (after round 7: 4,801 slots, 4,200 empty), so rounds 8, 16 and 24 were full
        // builds; never more than 4,096 + 600 empty slots beside the 601 live ones.
        #expect(plane.builds.streamSlotCompactions == 3)
        #expect(plane.builds.full == 4)
        #expect(maxSlots <= SnapshotBuilder.emptyStreamSlotFloor + 2 * (1 + nodes.count * perEdge))
        #expect(maxSlots > SnapshotBuilder.emptyStreamSlotFloor)
    }
}
