import CFoghornShims

/// Scheduling of Foghorn's own helper threads.
///
/// The control loop and the log writer share cores with the data loops (with `taskset` all
/// threads may share one). Under Linux's default policy a thread that wakes up preempts the
/// running one, so each of their wakeups (a pending shipment, a timer, a log line) interrupted
/// a data loop mid-request and showed up in the latency tail. In `SCHED_BATCH` they keep the
/// same share of CPU but wait for the running data loop's time slice or idle moment instead.
public enum ThreadScheduling {
    /// Marks the calling thread as background work (`SCHED_BATCH`); false if the kernel refused.
    @discardableResult
    public static func markCallingThreadBackground() -> Bool {
        foghorn_set_thread_batch() == 0
    }
}
