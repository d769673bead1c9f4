import CFoghornShims
import FoghornConfig
import FoghornControl
import FoghornGeo
import FoghornModel
import FoghornRouting
import FoghornHTTP
import FoghornHTTPCore
import FoghornOps
import Logging
import Synchronization
import FoghornSync
import FoghornTLS
import FoghornState
#if canImport(Glibc)
import Glibc
#endif

/// Draining and stopping: SIGTERM's sequence, the hard stop, and the test-only immediate stop.
extension FoghornServer {
    /// What SIGTERM does: `/readyz` → 503 at once, keep serving for
    /// `shutdown_delay_ms`, then stop accepting and drain; exit after the last
    /// connection or at `hard_stop_after_ms`. Safe from any thread.
    public func beginShutdown() {
        readiness.beginDraining()
        controlLoop.execute { [self] in beginShutdownOnControlLoop() }
    }

    func beginShutdownOnControlLoop() {
        readiness.beginDraining()
        guard !shutdownStarted else { return }
        shutdownStarted = true
        startTimer(afterMs: UInt64(config.hardStopAfterMs)) { [unowned self] in hardStop() }
        startTimer(afterMs: UInt64(config.shutdownDelayMs)) { [unowned self] in drainAll() }
    }

    func drainAll() {
        logger.info("draining connections")
        loopsDraining = dataContexts.count + 1
        for (loop, context) in zip(dataLoops, dataContexts) {
            loop.execute { [self] in
                context.drain { [self] in controlLoop.execute { [self] in loopDrained() } }
            }
        }
        controlContext.drain { [self] in loopDrained() }
    }

    /// On the control loop: one loop has no connections left.
    func loopDrained() {
        loopsDraining -= 1
        if loopsDraining == 0 {
            logger.info("all connections drained")
            finish(code: 0)
        }
    }

    func hardStop() {
        logger.warning("hard_stop_after_ms reached; closing remaining connections")
        for (loop, context) in zip(dataLoops, dataContexts) {
            loop.execute { context.closeAll() }
        }
        controlContext.closeAll()
        finish(code: 1)
    }

    func finish(code: Int32) {
        let first = exitCode.withLock { current -> Bool in
            if current != nil { return false }
            current = code
            return true
        }
        guard first else { return }
        for loop in dataLoops { loop.stop() }
        // Runs on the control loop: release what the lifecycle holds before the loop exits.
        for timer in lifecycleTimers { timer.close() }
        lifecycleTimers.removeAll()
        signals?.close()
        signals = nil
        reloader.stop()
        controlLoop.stop()
    }

    func startTimer(afterMs: UInt64, repeatMs: UInt64 = 0, _ action: @escaping () -> Void) {
        let timer = LoopTimer(loop: controlLoop, action)
        timer.start(afterMs: afterMs, repeatMs: repeatMs)
        lifecycleTimers.append(timer)
    }

    /// Stops everything at once (tests). Returns after all loops exited.
    public func stopNow() {
        readiness.beginDraining()
        controlLoop.execute { [self] in
            for (loop, context) in zip(dataLoops, dataContexts) { loop.execute { context.closeAll() } }
            controlContext.closeAll()
            finish(code: 0)
        }
        _ = waitUntilStopped()
    }

    /// Blocks until the process finished shutting down; returns the exit code.
    public func waitUntilStopped() -> Int32 {
        controlLoop.join()
        for loop in dataLoops { loop.join() }
        reloader.join()
        watchdog?.stop()
        stateStore?.close()  // commits still queued land before the process exits
        return exitCode.withLock { $0 } ?? 0
    }
}
