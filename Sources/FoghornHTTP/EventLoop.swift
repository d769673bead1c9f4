import CLibUV
import CFoghornShims
import DequeModule
import Synchronization
public import FoghornSync
#if canImport(Glibc)
import Glibc
#endif

/// One libuv loop on its own thread.
///
/// Other threads talk to it only through ``execute(_:)``: the job goes into a
/// `Locked` (pthread mutex) deque — the happens-before edge TSan can see — and
/// `uv_async_send` merely wakes the loop. Everything else on this object is
/// confined to the loop's thread.
public final class EventLoop: @unchecked Sendable {
    public typealias Job = @Sendable () -> Void

    public let name: String
    /// The raw loop; use only on this loop's thread.
    let uvLoop: UnsafeMutablePointer<uv_loop_t>
    /// The `uv_loop_t *`, for a C library's libuv adapter in this package (hiredis); never public.
    package var rawUVLoop: OpaquePointer { OpaquePointer(uvLoop) }
    private let wakeup: UnsafeMutablePointer<uv_async_t>
    private let mailbox = Locked<Deque<Job>>(Deque())
    /// Set when the loop has exited: later jobs would never run (and would keep what they capture alive).
    private let mailboxClosed = Locked<Bool>(false)
    private var thread: pthread_t?
    private let finished = Locked<Bool>(false)
    /// Run on the loop thread right before the loop exits (close remaining handles).
    private var shutdownHooks: [() -> Void] = []
    private var stopping = false
    /// Marks mailbox jobs as ``LoopActivity/job`` for a watchdog (set on the loop's thread).
    public var heartbeat: LoopHeartbeat?

    /// Run as background work (``ThreadScheduling``): for the control loop, never a data loop.
    public let background: Bool

    public init(name: String, background: Bool = false) {
        self.name = name
        self.background = background
        BrokenPipes.ignore()
        uvLoop = .allocate(capacity: 1)
        precondition(uv_loop_init(uvLoop) == 0, "uv_loop_init failed")
        wakeup = .allocate(capacity: 1)
        uv_async_init(uvLoop, wakeup, eventLoopWakeupCallback)
        wakeup.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        uv_loop_close(uvLoop)
        uvLoop.deallocate()
        wakeup.deallocate()
    }

    /// Runs `job` on the loop's thread, soon. Safe from any thread.
    public func execute(_ job: @escaping Job) {
        let accepted = mailbox.withLock { box -> Bool in
            if mailboxClosed.withLock({ $0 }) { return false }
            box.append(job)
            return true
        }
        if accepted { uv_async_send(wakeup) }
    }

    /// Starts the loop on a new thread.
    public func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, eventLoopThreadEntry, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = tid
    }

    /// Runs the loop on the calling thread until ``stop()``.
    public func runOnCurrentThread() {
        setThreadName(name)
        if background { ThreadScheduling.markCallingThreadBackground() }
        uv_run(uvLoop, UV_RUN_DEFAULT)
        // Close everything left and let the close callbacks run.
        uv_walk(uvLoop, eventLoopCloseWalker, nil)
        uv_run(uvLoop, UV_RUN_DEFAULT)
        // Only now drop what the hooks captured: close callbacks above may still have used it.
        shutdownHooks.removeAll()
        // Jobs that arrived too late never run; drop them (and refuse new ones) so what they
        // captured is freed.
        mailbox.withLock { box in
            mailboxClosed.withLock { $0 = true }
            box.removeAll()
        }
        finished.withLock { $0 = true }
    }

    /// Registers work to run on the loop thread when it stops (close listeners, free state).
    public func addShutdownHook(_ hook: @escaping () -> Void) {
        shutdownHooks.append(hook)
    }

    /// Asks the loop to run its shutdown hooks and exit. Safe from any thread.
    public func stop() {
        execute { [self] in
            guard !stopping else { return }
            stopping = true
            for hook in shutdownHooks { hook() }
            uv_stop(uvLoop)
        }
    }

    /// Waits for the loop's thread to exit.
    public func join() {
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
    }

    public var hasFinished: Bool { finished.withLock { $0 } }

    /// Jobs waiting in the mailbox (for the watchdog's log line; takes the mailbox lock).
    public var pendingJobs: Int { mailbox.withLock { $0.count } }

    /// Current loop time in milliseconds (cached per iteration).
    @inline(__always) public var nowMs: UInt64 { uv_now(uvLoop) }

    fileprivate func drainMailbox() {
        while true {
            let batch: Deque<Job> = mailbox.withLock { box in
                let taken = box
                box.removeAll(keepingCapacity: true)
                return taken
            }
            if batch.isEmpty { return }
            if let heartbeat {
                heartbeat.during(.job) { for job in batch { job() } }
            } else {
                for job in batch { job() }
            }
        }
    }

    private func setThreadName(_ name: String) {
        _ = foghorn_set_thread_name(String(name.prefix(15)))
    }
}

private func eventLoopWakeupCallback(_ handle: UnsafeMutablePointer<uv_async_t>?) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().drainMailbox()
}

private func eventLoopThreadEntry(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let loop = Unmanaged<EventLoop>.fromOpaque(arg!).takeRetainedValue()
    loop.runOnCurrentThread()
    return nil
}

private func eventLoopCloseWalker(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ arg: UnsafeMutableRawPointer?) {
    guard let handle, uv_is_closing(handle) == 0 else { return }
    uv_close(handle, nil)
}
