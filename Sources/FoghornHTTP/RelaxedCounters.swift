import Synchronization

/// A fixed block of `UInt64` counters written by exactly one thread (its event
/// loop) and read by any thread (the metrics scrape).
///
/// The writer does a relaxed load and a relaxed store — no locked
/// read-modify-write, no lock — and readers see a value that is at most a few
/// increments old, which is what a Prometheus scrape needs. Because the writer
/// is unique, no increment is lost.
public final class RelaxedCounters: @unchecked Sendable {
    public let count: Int
    private let storage: UnsafeMutablePointer<Atomic<UInt64>>

    public init(count: Int) {
        self.count = count
        storage = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: max(count, 1))
        for i in 0..<max(count, 1) { (storage + i).initialize(to: Atomic(0)) }
    }

    deinit {
        storage.deinitialize(count: max(count, 1))
        storage.deallocate()
    }

    /// Adds `delta` to slot `index`. Only the owning thread may call this.
    @inline(__always) public func add(_ index: Int, _ delta: UInt64 = 1) {
        let slot = storage + index
        slot.pointee.store(slot.pointee.load(ordering: .relaxed) &+ delta, ordering: .relaxed)
    }


    /// Reads slot `index` from any thread.
    @inline(__always) public func load(_ index: Int) -> UInt64 {
        (storage + index).pointee.load(ordering: .relaxed)
    }
}
