import Synchronization
import FoghornSync

/// Hands the control loop's newest ``RoutingSnapshot`` to the data loops.
///
/// Publishing stores the reference under a tiny lock, then bumps an atomic
/// generation. A reader (``SnapshotReader``, one per loop) does one acquiring
/// load of the generation per request and touches the lock only when it moved,
/// keeping its own strong reference in between — no shared refcount traffic
/// on the hot path.
public final class SnapshotPublisher: Sendable {
    private let current: Locked<RoutingSnapshot>
    private let published = Atomic<UInt64>(0)

    public init(_ initial: RoutingSnapshot) {
        current = Locked(initial)
        published.store(initial.generation, ordering: .releasing)
    }

    public func publish(_ snapshot: RoutingSnapshot) {
        current.withLock { $0 = snapshot }
        published.store(snapshot.generation, ordering: .releasing)
    }

    @inline(__always) public var generation: UInt64 { published.load(ordering: .acquiring) }

    public var snapshot: RoutingSnapshot { current.withLock { $0 } }
}

/// A loop's cached view of the published snapshot. Not thread-safe: one per loop.
public final class SnapshotReader: @unchecked Sendable {
    public let publisher: SnapshotPublisher
    public private(set) var cached: RoutingSnapshot
    private var cachedGeneration: UInt64

    public init(_ publisher: SnapshotPublisher) {
        self.publisher = publisher
        cached = publisher.snapshot
        cachedGeneration = cached.generation
    }

    /// Adopts the published snapshot if the generation moved; returns whether it did.
    /// The hot path calls this, then reads ``cached`` into an `unowned(unsafe)`
    /// local: one acquiring load, no reference counting.
    @inline(__always) public func refresh() -> Bool {
        let g = publisher.generation
        if g == cachedGeneration { return false }
        cached = publisher.snapshot
        cachedGeneration = cached.generation
        return true
    }
}
