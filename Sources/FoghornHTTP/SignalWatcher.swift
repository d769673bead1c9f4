import CLibUV
import CFoghornShims

/// Delivers process signals (SIGTERM, SIGINT, SIGHUP…) to a closure on one loop, through libuv
/// (its handler only wakes the loop; the closure runs there). Create, and close, on that loop.
/// Also notes SIGTERM and SIGINT for a watchdog on another thread
/// (`foghorn_termination_requested_ns`), which must act even when the loop is stuck.
public final class SignalWatcher {
    private var handles: [UnsafeMutablePointer<uv_signal_t>] = []
    private let onSignal: (Int32) -> Void

    /// Starts watching `signals` on `loop` (watchers do not keep the loop alive).
    public init(loop: EventLoop, signals: [Int32], _ onSignal: @escaping (Int32) -> Void) {
        self.onSignal = onSignal
        for signum in signals {
            let handle = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
            uv_signal_init(loop.uvLoop, handle)
            handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
            uv_signal_start(handle, signalWatcherCallback, signum)
            uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
            handles.append(handle)
        }
    }

    /// Chains a flag-setting handler in front of libuv's for SIGTERM and SIGINT; false if sigaction failed.
    public func noteTerminationForWatchdog() -> Bool { foghorn_watch_termination_signals() == 0 }

    /// Stops watching (the handles are freed once libuv has closed them).
    public func close() {
        for handle in handles {
            handle.pointee.data = nil
            UnsafeMutableRawPointer(handle).withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0, signalWatcherClosed) }
        }
        handles.removeAll()
    }

    fileprivate func deliver(_ signum: Int32) { onSignal(signum) }
}

private func signalWatcherCallback(_ handle: UnsafeMutablePointer<uv_signal_t>?, _ signum: Int32) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<SignalWatcher>.fromOpaque(data).takeUnretainedValue().deliver(signum)
}

private func signalWatcherClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    handle?.withMemoryRebound(to: uv_signal_t.self, capacity: 1) { $0.deallocate() }
}
