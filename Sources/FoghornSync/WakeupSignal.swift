#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Lets one consumer thread sleep until a producer has work for it (or a timeout), instead of
/// polling: an idle consumer costs no wakeups, so it never preempts a loop sharing its core.
///
/// Producers call ``notify()`` after publishing work: one relaxed load when the consumer is
/// awake, a lock + `pthread_cond_signal` only when it sleeps. The consumer calls
/// ``wait(timeoutMs:hasWork:)``, which re-checks `hasWork` after announcing that it sleeps,
/// so a notification is never lost (the timeout bounds it anyway).
public final class WakeupSignal: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private let sleeping = Atomic<Bool>(false)

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        cond = .allocate(capacity: 1)
        cond.initialize(to: pthread_cond_t())
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(cond, &attr) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    /// Wakes the consumer if it sleeps.
    @inline(__always) public func notify() {
        guard sleeping.load(ordering: .sequentiallyConsistent) else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_signal(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Sleeps until notified or `timeoutMs` passed, unless `hasWork()` is already true.
    public func wait(timeoutMs: Int, hasWork: () -> Bool) {
        pthread_mutex_lock(mutex)
        sleeping.store(true, ordering: .sequentiallyConsistent)
        if !hasWork() {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let nanos = Int(now.tv_nsec) + (timeoutMs % 1000) * 1_000_000
            var deadline = timespec(tv_sec: now.tv_sec + timeoutMs / 1000 + nanos / 1_000_000_000, tv_nsec: nanos % 1_000_000_000)
            _ = pthread_cond_timedwait(cond, mutex, &deadline)
        }
        sleeping.store(false, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }
}
