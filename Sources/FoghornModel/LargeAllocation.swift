#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffers a snapshot build fills at once (candidate columns, the per-stream accumulator).
///
/// They are ordinary allocations. Advising them as transparent huge pages (2 MiB-aligned,
/// `MADV_HUGEPAGE`) saved ≈ 3.8 ms of page faults in a full build at 10,000 edges × 100
/// streams (8.5 MB of columns, ≈ 2,100 faults), but with the kernel's usual `defrag=madvise`
/// such a fault may stall in direct compaction: renumbering builds there took 17–29 ms instead
/// of 6–7 about every other time (7.5–9.9 ms every time without the advice). Since a running
/// server builds incrementally and full builds happen only at start, steady times won. Free with
/// ``deallocate(_:)``.
enum LargeAllocation {
    static func allocate<T>(_: T.Type, capacity: Int) -> UnsafeMutableBufferPointer<T> {
        .allocate(capacity: max(capacity, 1))
    }

    /// Frees a buffer from ``allocate(_:capacity:)``.
    static func deallocate<T>(_ buffer: UnsafeMutableBufferPointer<T>) {
        buffer.deallocate()
    }
}
