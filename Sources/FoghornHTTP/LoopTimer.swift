import CLibUV

/// A libuv timer running a closure on its loop. Create, start and stop it on that loop's thread.
public final class LoopTimer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private let action: () -> Void
    private var closed = false

    public init(loop: EventLoop, _ action: @escaping () -> Void) {
        self.action = action
        handle = .allocate(capacity: 1)
        uv_timer_init(loop.uvLoop, handle)
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        // Timers never keep a loop alive on their own.
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }

    /// Fires after `afterMs`, then every `repeatMs` if non-zero.
    public func start(afterMs: UInt64, repeatMs: UInt64 = 0) {
        guard !closed else { return }
        uv_timer_start(handle, loopTimerCallback, afterMs, repeatMs)
    }

    public func stop() {
        guard !closed else { return }
        uv_timer_stop(handle)
    }

    public var isActive: Bool { !closed && uv_is_active(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) != 0 }

    /// Closes the handle; the timer is unusable afterwards.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = Unmanaged.passRetained(self)
        UnsafeMutableRawPointer(handle).withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0, loopTimerClosed) }
    }

    fileprivate func fire() { action() }

    fileprivate func didClose() {
        handle.deallocate()
        Unmanaged.passUnretained(self).release()
    }
}

private func loopTimerCallback(_ handle: UnsafeMutablePointer<uv_timer_t>?) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<LoopTimer>.fromOpaque(data).takeUnretainedValue().fire()
}

private func loopTimerClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<LoopTimer>.fromOpaque(data).takeUnretainedValue().didClose()
}
