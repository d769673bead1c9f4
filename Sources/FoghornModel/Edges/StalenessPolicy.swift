/// When an edge stops counting: no report for `staleAfterMs` → out of routing;
/// for `evictAfterMs` → forgotten. Static (config) edges never go stale.
public struct StalenessPolicy: Sendable, Equatable {
    public var staleAfterMs: UInt64
    public var evictAfterMs: UInt64

    public init(staleAfterMs: UInt64 = 90_000, evictAfterMs: UInt64 = 300_000) {
        self.staleAfterMs = staleAfterMs
        self.evictAfterMs = evictAfterMs
    }

    public enum Health: Equatable, Sendable { case fresh, stale, evict }

    /// An edge that never reported is stale until its first report; it is
    /// evicted `evictAfterMs` after enrollment.
    public func health(of edge: EdgeState, nowMs: UInt64) -> Health {
        if edge.isStatic { return .fresh }
        let last = edge.lastReportMs ?? edge.enrolledAtMs
        let age = nowMs >= last ? nowMs - last : 0
        if age >= evictAfterMs { return .evict }
        if edge.lastReportMs == nil || age >= staleAfterMs { return .stale }
        return .fresh
    }
}
