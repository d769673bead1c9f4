import CFoghornShims
public import FoghornSync
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Watches the control loop from a thread of its own.
///
/// The control loop owns every mutable routing state, the internal listener and the signal
/// handlers; if one of its callbacks never returns (a bug, a pathological input), nothing else
/// on it runs again. This thread notices: every ``checkIntervalMs`` it compares the loop's
/// ``LoopHeartbeat`` (ticked every 100 ms by a timer on the loop) with the clock, and when the
/// loop has been silent for longer than `control_stall_after_ms` it
/// - logs `control loop stalled` once (with what the loop was doing, how long, jobs waiting in
///   its mailbox and the published snapshot generation), again every 30 s while it lasts, and
///   `control loop recovered` when it ticks again;
/// - marks the heartbeat stalled: `/livez` — served by the data loops, which keep running —
///   answers 503 `CONTROL_LOOP_STALLED`, so an orchestrator restarts the process;
/// - counts it (`foghorn_control_loop_stalls_total`).
///
/// And it keeps SIGTERM's promise when the loop cannot: once a SIGTERM or SIGINT has been seen
/// (``foghorn_termination_requested_ns``) and the process has not exited `hard_stop_after_ms`
/// plus ``exitGraceMs`` later — the loop that would have run the hard stop is stuck — it logs
/// why, flushes the log and exits with status 1.
public final class ControlLoopWatchdog: @unchecked Sendable {
    public let checkIntervalMs: UInt64 = 100
    /// Added to `hard_stop_after_ms` before the watchdog ends the process itself (the control
    /// loop's own hard stop gets the first chance).
    public let exitGraceMs: UInt64 = 1_000
    public let stallAfterMs: UInt64
    public let hardStopAfterMs: UInt64
    private let heartbeat: LoopHeartbeat
    private let logger: Logger
    /// Extra fields for the stall log line (read from this thread: only thread-safe state).
    private let describe: @Sendable () -> Logger.Metadata
    /// When termination was requested (monotonic ns, 0 = not), and how to end the process.
    private let terminationRequestedNs: @Sendable () -> UInt64
    private let exitProcess: @Sendable (Int32) -> Void
    private let stopping = Atomic<Bool>(false)
    private let stallCount = Atomic<UInt64>(0)
    private var thread: pthread_t?

    /// - Parameters:
    ///   - terminationRequestedNs: nil = do not watch for termination (in-process servers).
    ///   - exitProcess: called once when termination overran; `foghorn_exit_now` by default.
    public init(heartbeat: LoopHeartbeat, stallAfterMs: UInt64, hardStopAfterMs: UInt64, logger: Logger,
                describe: @escaping @Sendable () -> Logger.Metadata = { [:] },
                terminationRequestedNs: (@Sendable () -> UInt64)? = nil,
                exitProcess: (@Sendable (Int32) -> Void)? = nil) {
        self.heartbeat = heartbeat
        self.stallAfterMs = stallAfterMs
        self.hardStopAfterMs = hardStopAfterMs
        self.logger = logger
        self.describe = describe
        self.terminationRequestedNs = terminationRequestedNs ?? { 0 }
        self.exitProcess = exitProcess ?? { foghorn_exit_now($0) }
    }

    /// Stalls noticed so far.
    public var stalls: UInt64 { stallCount.load(ordering: .relaxed) }

    public func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, controlLoopWatchdogEntry, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = tid
    }

    /// Stops the thread and waits for it (at most one check interval).
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
    }

    fileprivate func run() {
        _ = foghorn_set_thread_name("watchdog")
        var lastLogNs: UInt64 = 0
        var exited = false
        while !stopping.load(ordering: .relaxed) {
            usleep(UInt32(checkIntervalMs * 1000))
            let now = LoopHeartbeat.nowNs()
            let silentMs = heartbeat.silentMs(nowNs: now)
            if silentMs > stallAfterMs {
                if !heartbeat.isStalled {
                    heartbeat.markStalled(atNs: now)
                    stallCount.add(1, ordering: .relaxed)
                    logger.critical("control loop stalled", metadata: metadata(silentMs: silentMs, now: now))
                    lastLogNs = now
                } else if now &- lastLogNs > 30_000_000_000 {
                    logger.critical("control loop still stalled", metadata: metadata(silentMs: silentMs, now: now))
                    lastLogNs = now
                }
            } else if heartbeat.isStalled {
                heartbeat.markRecovered()
                logger.warning("control loop recovered", metadata: ["silent_ms": "\(silentMs)"])
            }
            let requested = terminationRequestedNs()
            if !exited, requested != 0, now > requested, (now - requested) / 1_000_000 > hardStopAfterMs + exitGraceMs {
                exited = true
                var fields = metadata(silentMs: silentMs, now: now)
                fields["since_signal_ms"] = "\((now - requested) / 1_000_000)"
                logger.critical("shutdown did not finish by hard_stop_after_ms; exiting", metadata: fields)
                exitProcess(1)
            }
        }
    }

    private func metadata(silentMs: UInt64, now: UInt64) -> Logger.Metadata {
        var m: Logger.Metadata = [
            "silent_ms": "\(silentMs)", "limit_ms": "\(stallAfterMs)",
            "activity": "\(heartbeat.activity.label)", "activity_ms": "\(heartbeat.activityMs(nowNs: now))",
        ]
        m.merge(describe()) { a, _ in a }
        return m
    }
}

private func controlLoopWatchdogEntry(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let watchdog = Unmanaged<ControlLoopWatchdog>.fromOpaque(arg!).takeRetainedValue()
    watchdog.run()
    return nil
}
