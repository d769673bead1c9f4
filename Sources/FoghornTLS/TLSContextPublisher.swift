import FoghornSync
import Synchronization

/// Hands the control loop's current ``TLSServerContext`` to the data loops
/// (certificate reloads): a lock-guarded reference plus an atomic generation,
/// read by each loop's ``TLSContextReader`` once per accepted connection.
public final class TLSContextPublisher: Sendable {
    private let current: Locked<TLSServerContext>
    private let published = Atomic<UInt64>(1)

    public init(_ initial: TLSServerContext) {
        current = Locked(initial)
    }

    public func publish(_ context: TLSServerContext) {
        current.withLock { $0 = context }
        published.add(1, ordering: .releasing)
    }

    public var generation: UInt64 { published.load(ordering: .acquiring) }
    public var context: TLSServerContext { current.withLock { $0 } }
}

/// One loop's cached view of the published TLS context. Not thread-safe: one per loop.
public final class TLSContextReader {
    private let publisher: TLSContextPublisher
    private var generation: UInt64
    private var cached: TLSServerContext

    public init(_ publisher: TLSContextPublisher) {
        self.publisher = publisher
        generation = publisher.generation
        cached = publisher.context
    }

    /// The newest context (one atomic load when nothing changed).
    public var context: TLSServerContext {
        let g = publisher.generation
        if g != generation {
            generation = g
            cached = publisher.context
        }
        return cached
    }
}
