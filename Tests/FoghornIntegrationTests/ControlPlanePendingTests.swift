import Logging
import Testing
import FoghornConfig
import FoghornControl
import FoghornHTTP
import FoghornModel

/// Pending-only refreshes find each edge's slot in the published snapshot through a map kept
/// from the last full build (no node-ID hashing per edge): every edge's pending must land on
/// its own slot, through refreshes, edges added and removed (renumbered incrementally) and a full build.
@Suite struct ControlPlanePendingTests {
    static func edge(_ id: String) -> EdgeState {
        var e = EdgeState(nodeId: id)
        e.cpuPermille = 100
        e.ramMaxBytes = 1 << 30
        e.bwLimitBytesPerSec = 1 << 40
        e.lastReportMs = ControlPlane.monotonicMs()
        e.streams = ["live+s": EdgeStreamStats(inputs: 1)]
        return e
    }

    /// The published snapshot's pending by node ID.
    static func pendingByNode(_ plane: ControlPlane) -> [String: UInt64] {
        let s = plane.publisher.snapshot
        var out: [String: UInt64] = [:]
        for i in 0..<s.localEdgeCount { out[s.nodeIds[i]] = s.pending[i] }
        return out
    }

    @Test func pendingRefreshesPutEachEdgesPendingOnItsOwnSlot() throws {
        let loop = EventLoop(name: "control-test")
        // The plane is driven from this thread (no timers are started); the loop only has to
        // close its own handles at the end.
        defer { loop.start(); loop.stop(); loop.join() }
        let plane = try ControlPlane(config: FoghornConfiguration(), loop: loop, logger: Logger(label: "test"), dataLoops: 1, geo: nil)
        // Names whose sorted order (snapshot slots) differs from the dictionary's order.
        var rng = SystemRandomNumberGenerator()
        let ids = (0..<300).map { "edge-\(($0 * 7919) % 1000)-\(UInt32.random(in: 0...UInt32.max, using: &rng))" }
        for id in ids { plane.upsertEdge(Self.edge(id)) }
        plane.rebuildNow()
        #expect(plane.builds.full == 1)
        var expected = [String: UInt64](uniqueKeysWithValues: ids.map { ($0, 0) })

        for round in 1...3 {
            let shipped = ids.enumerated().filter { ($0.offset + round) % 3 == 0 }.map { (nodeId: $0.element, bytesPerSec: UInt64($0.offset * 10 + round)) }
            plane.receiveShipment(loop: 0, sequence: UInt64(round), amounts: shipped)
            for s in shipped { expected[s.nodeId, default: 0] += s.bytesPerSec }
            plane.rebuildNow()
            #expect(plane.builds.pendingRefreshes == UInt64(round), "round \(round) was a pending-only refresh")
            #expect(Self.pendingByNode(plane) == expected, "round \(round)")
        }

        // A new edge (edges renumbered by an incremental build, map rebuilt), then pending again.
        plane.upsertEdge(Self.edge("edge-0000-new"))
        expected["edge-0000-new"] = 0
        plane.rebuildNow()
        #expect(plane.builds.full == 1 && plane.builds.incremental == 1)
        #expect(Self.pendingByNode(plane) == expected)
        let more = [(nodeId: "edge-0000-new", bytesPerSec: UInt64(5)), (nodeId: ids[7], bytesPerSec: UInt64(9))]
        plane.receiveShipment(loop: 0, sequence: 4, amounts: more)
        for s in more { expected[s.nodeId, default: 0] += s.bytesPerSec }
        plane.rebuildNow()
        #expect(plane.builds.pendingRefreshes == 4)
        #expect(Self.pendingByNode(plane) == expected)

        // Removing an edge (structural) between shipments.
        #expect(plane.removeEdge(ids[0]))
        expected.removeValue(forKey: ids[0])
        plane.receiveShipment(loop: 0, sequence: 5, amounts: [(nodeId: ids[1], bytesPerSec: 3)])
        expected[ids[1], default: 0] += 3
        plane.rebuildNow()
        #expect(plane.builds.full == 1 && plane.builds.incremental == 2)
        #expect(Self.pendingByNode(plane) == expected)

        // A full build (what the first snapshot takes), the map rebuilt from it.
        plane.markDirty()
        plane.receiveShipment(loop: 0, sequence: 6, amounts: [(nodeId: ids[2], bytesPerSec: 4)])
        expected[ids[2], default: 0] += 4
        plane.rebuildNow()
        #expect(plane.builds.full == 2)
        #expect(Self.pendingByNode(plane) == expected)
        plane.receiveShipment(loop: 0, sequence: 7, amounts: [(nodeId: ids[3], bytesPerSec: 6)])
        expected[ids[3], default: 0] += 6
        plane.rebuildNow()
        #expect(Self.pendingByNode(plane) == expected)
    }

    /// A replaced snapshot is freed by the control loop, not by the data loop that lets go of it
    /// last (at scale that release costs milliseconds, in the middle of a viewer's request).
    @Test func replacedSnapshotsAreReleasedOnTheControlLoop() throws {
        let loop = EventLoop(name: "control-test")
        defer { loop.start(); loop.stop(); loop.join() }
        let plane = try ControlPlane(config: FoghornConfiguration(), loop: loop, logger: Logger(label: "test"), dataLoops: 1, geo: nil)
        plane.upsertEdge(Self.edge("edge-a"))
        plane.rebuildNow()
        let reader = SnapshotReader(plane.publisher)  // what a data loop holds
        weak let first = reader.cached
        #expect(first != nil)

        plane.upsertEdge(Self.edge("edge-b"))
        plane.rebuildNow()
        #expect(first != nil, "the loop still holds it")
        #expect(plane.retiredSnapshotCount >= 1)
        #expect(reader.refresh())  // the loop moves on and drops its reference…
        #expect(first != nil, "…which was not the last: the control loop keeps it")
        #expect(reader.cached.localEdgeCount == 2)

        plane.releaseRetired()  // the next publish or sweep
        #expect(first == nil)
        #expect(plane.retiredSnapshotCount == 0)
    }
}
