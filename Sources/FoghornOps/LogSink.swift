import FoghornSync
import FoghornHTTP
import DequeModule
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where log lines go: per-producer bounded queues drained by one writer thread
/// that does the `write(2)` calls, so a loop never waits for a slow disk or
/// pipe. A full queue drops the line and counts it.
public final class LogSink: @unchecked Sendable {
    /// One producer's queue (a loop, or "other" for everything else).
    public final class Queue: @unchecked Sendable {
        let lines: Locked<Deque<[UInt8]>>
        let capacity: Int
        let dropped = Atomic<UInt64>(0)
        let written = Atomic<UInt64>(0)
        let wake: WakeupSignal

        init(capacity: Int, wake: WakeupSignal) {
            self.capacity = capacity
            self.wake = wake
            lines = Locked(Deque())
        }

        /// Enqueues one line (without its newline); false when the queue was full.
        @discardableResult
        public func push(_ line: [UInt8]) -> Bool {
            let accepted = lines.withLock { q -> Bool in
                if q.count >= capacity { return false }
                q.append(line)
                return true
            }
            if accepted { wake.notify() } else { dropped.add(1, ordering: .relaxed) }
            return accepted
        }

        public var droppedCount: UInt64 { dropped.load(ordering: .relaxed) }
    }

    private let fd: Int32
    private let queues: Locked<[Queue]>
    /// The writer sleeps on this while every queue is empty (no polling wakeups).
    private let wake: WakeupSignal
    private let stopping = Atomic<Bool>(false)
    private var thread: pthread_t?
    public let queueCapacity: Int
    /// For everything that is not a loop with its own queue.
    public let shared: Queue

    public init(fd: Int32 = 2, queueCapacity: Int = 8192) {
        self.fd = fd
        self.queueCapacity = queueCapacity
        let wake = WakeupSignal()
        self.wake = wake
        shared = Queue(capacity: queueCapacity, wake: wake)
        queues = Locked([shared])
    }

    public func makeQueue() -> Queue {
        let q = Queue(capacity: queueCapacity, wake: wake)
        queues.withLock { $0.append(q) }
        return q
    }

    public var dropped: UInt64 { queues.withLock { $0.reduce(0) { $0 + $1.droppedCount } } }
    public var written: UInt64 { queues.withLock { $0.reduce(0) { $0 + $1.written.load(ordering: .relaxed) } } }

    public func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        pthread_create(&tid, nil, { arg in
            let sink = Unmanaged<LogSink>.fromOpaque(arg!).takeRetainedValue()
            ThreadScheduling.markCallingThreadBackground()
            sink.run()
            return nil
        }, box)
        thread = tid
    }

    /// Writes what is queued, then stops the writer.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wake.notify()
        if let t = thread { pthread_join(t, nil); thread = nil }
        drainOnce()
    }

    private func run() {
        while !stopping.load(ordering: .acquiring) {
            if !drainOnce() {
                wake.wait(timeoutMs: 1000) { stopping.load(ordering: .acquiring) || queues.withLock { $0 }.contains { q in q.lines.withLock { !$0.isEmpty } } }
            }
        }
    }

    /// Returns whether anything was written.
    @discardableResult
    private func drainOnce() -> Bool {
        var any = false
        for q in queues.withLock({ $0 }) {
            let batch: Deque<[UInt8]> = q.lines.withLock { d in
                let taken = d
                d.removeAll(keepingCapacity: true)
                return taken
            }
            if batch.isEmpty { continue }
            any = true
            var out: [UInt8] = []
            out.reserveCapacity(batch.reduce(0) { $0 + $1.count + 1 })
            for line in batch { out.append(contentsOf: line); out.append(10) }
            var offset = 0
            while offset < out.count {
                let n = out[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                offset += n
            }
            q.written.add(UInt64(batch.count), ordering: .relaxed)
        }
        return any
    }
}
