import Logging
import Testing
import FoghornConfig
import FoghornControl
import FoghornHTTP
import FoghornModel
import FoghornModelFixtures

/// The control plane's publishing: replaced snapshots are released on the control loop. (Which
/// build each change takes, and pending on the right slots: SnapshotBuilderTests, no loop.)
@Suite struct SnapshotReleaseTests {
    static func edge(_ id: String) -> EdgeState {
        reportingEdge(id, streams: ["live+s"], reportedMs: ControlPlane.monotonicMs())
    }

    /// A replaced snapshot is freed by the control loop, not by the data loop that lets go of it
    /// last (at scale that release costs milliseconds, in the middle of a viewer's request).
    @Test func replacedSnapshotsAreReleasedOnTheControlLoop() throws {
        let loop = EventLoop(name: "control-test")
        defer { loop.start(); loop.stop(); loop.join() }
        var config = FoghornConfiguration()
        config.streamNames = fixtureNames  // the fixture edges' table
        let plane = try ControlPlane(config: config, loop: loop, logger: Logger(label: "test"), dataLoops: 1, geo: nil)
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
