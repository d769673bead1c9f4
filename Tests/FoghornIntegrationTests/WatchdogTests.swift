import FoghornHTTP
import FoghornConfig
import Foundation
import Testing
import FoghornApp
import FoghornJSON
import FoghornSync
import FoghornTesting
import Logging

/// The control-loop watchdog: a stuck control loop is noticed, reported on `/livez` by the data
/// loops, and cannot keep SIGTERM from ending the process.
@Suite(.serialized) struct WatchdogTests {
    /// The control loop blocked for 1.5 s (a job that does not return) with a 300 ms limit: the
    /// viewer listener's `/livez` answers 503 `CONTROL_LOOP_STALLED` meanwhile, 200 after; the
    /// stall is counted once.
    @Test func aStalledControlLoopFailsLivezOnTheViewerListener() throws {
        let server = try RoutingTests.start { c in c.controlStallAfterMs = 300 }
        defer { server.stopNow() }
        let vp = server.httpPort, ip = server.internalPort
        #expect(try TestClient.get(port: vp, "/livez").status == 200)
        server.controlLoop.execute { usleep(1_500_000) }
        var stalled: TestClient.Response?
        for _ in 0..<60 {
            usleep(25_000)
            let r = try TestClient.get(port: vp, "/livez")
            if r.status == 503 { stalled = r; break }
        }
        #expect(stalled?.status == 503)
        if let stalled {
            let j = try JSONParser.parse(stalled.body)
            #expect(j["code"] == .string("CONTROL_LOOP_STALLED"))
            #expect(j["message"]?.stringValue?.contains("has not run for") == true)
        }
        #expect(server.watchdog?.stalls == 1)
        var back = 0
        for _ in 0..<100 {
            usleep(25_000)
            back = try TestClient.get(port: vp, "/livez").status
            if back == 200 { break }
        }
        #expect(back == 200)
        #expect(try TestClient.get(port: ip, "/livez").status == 200)
        let metrics = try TestClient.get(port: ip, "/metrics").bodyText
        #expect(metrics.contains("foghorn_control_loop_stalls_total 1\n"))
    }

    /// A loop that keeps ticking is never called stalled.
    @Test func aTickingLoopIsNotStalled() throws {
        let heartbeat = LoopHeartbeat()
        let dog = ControlLoopWatchdog(heartbeat: heartbeat, stallAfterMs: 200, hardStopAfterMs: 1000, logger: Logger(label: "t"))
        dog.start()
        for _ in 0..<10 {
            heartbeat.tick()
            usleep(50_000)
        }
        dog.stop()
        #expect(!heartbeat.isStalled && dog.stalls == 0)
    }

    /// SIGTERM seen while the loop is stuck: once `hard_stop_after_ms` plus the grace has passed,
    /// the watchdog ends the process itself (status 1) — exactly once; not before.
    @Test func terminationOverrunEndsTheProcess() throws {
        let heartbeat = LoopHeartbeat()
        let signalledAt = Locked<UInt64>(0)
        let exits = Locked<[Int32]>([])
        let dog = ControlLoopWatchdog(heartbeat: heartbeat, stallAfterMs: 200, hardStopAfterMs: 300, logger: Logger(label: "t"),
                                      terminationRequestedNs: { signalledAt.withLock { $0 } },
                                      exitProcess: { code in exits.withLock { $0.append(code) } })
        dog.start()
        defer { dog.stop() }
        usleep(500_000)
        #expect(heartbeat.isStalled)
        #expect(exits.withLock { $0 }.isEmpty)  // no SIGTERM yet
        signalledAt.withLock { $0 = LoopHeartbeat.nowNs() }
        usleep(800_000)  // < 300 + 1,000 ms
        #expect(exits.withLock { $0 }.isEmpty)
        for _ in 0..<40 where exits.withLock({ $0 }).isEmpty { usleep(50_000) }
        usleep(300_000)
        #expect(exits.withLock { $0 } == [1])
    }
}
