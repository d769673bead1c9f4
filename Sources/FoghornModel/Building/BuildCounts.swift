/// What a ``SnapshotBuilder`` has built since it started, by kind (`foghorn_snapshot_builds_total`
/// and its neighbours).
public struct BuildCounts: Sendable, Equatable {
    /// Full builds (the first snapshot, a change only a full build applies, dropping ended
    /// streams' slots or unused names).
    public var full: UInt64 = 0
    /// Incremental builds of any kind: restructuring, renumbering, playback patches, reweighting.
    public var incremental: UInt64 = 0
    /// Load refreshes (reports that changed only load, health flips).
    public var loadRefreshes: UInt64 = 0
    /// Pending-only refreshes (the data loops' redirects folded in).
    public var pendingRefreshes: UInt64 = 0
    /// Incremental builds that compacted the candidate columns (spare room used up).
    public var columnCompactions: UInt64 = 0
    /// Full builds taken to drop the slots of streams that ended (``SnapshotBuilder/emptyStreamSlotFloor``).
    public var streamSlotCompactions: UInt64 = 0
    /// Name retirements (full builds that listed the names in use).
    public var nameSweeps: UInt64 = 0
    /// Edges evicted after `edge_evict_after_ms` of silence.
    public var evictions: UInt64 = 0

    public init() {}
}
