/// The mutable routing state — edges, playback records, weights, the GeoIP handle, peers' edges,
/// pending bandwidth — and what changed in it since the last snapshot; ``next(generation:nowMs:)``
/// picks the cheapest build that applies those changes and runs it. Pure: no loop, timer or
/// I/O (the control plane owns those and publishes what this returns), so every strategy is
/// tested by calling it (SnapshotBuilderTests).
///
/// Which build a change takes:
///
/// | change | build |
/// |---|---|
/// | data loops' redirects only | pending refresh (rows' usage) |
/// | a report changing only load, an edge going stale or fresh | load refresh |
/// | new weights or GeoIP | reweighting, then whatever else changed |
/// | playback records set or removed | playback patch, then whatever else changed |
/// | a known edge's streams, position, mode, tags… | incremental build |
/// | edges added or removed, peers' edges changed | renumbering build |
/// | the first snapshot, an edge turning into or from a peer's, ended streams' slots or unused names piling up | full build |
///
/// A patch that cannot apply (a table would have to grow, spare room is used up beyond
/// compaction) falls back to a full build. Use from one thread (the control loop's).
public final class SnapshotBuilder {
    public let names: StreamNameTable
    public let staleness: StalenessPolicy
    public private(set) var edges: [String: EdgeState] = [:] {
        didSet { if edges.count != sortedPositions.count { reorder() } }
    }
    public private(set) var playback = PlaybackStore()
    public private(set) var weights: ScoringWeights
    public private(set) var geo: (any GeoLookup)?
    public private(set) var remote = RemoteEdgeCache()
    /// The last snapshot built: the one each build derives from.
    public private(set) var latest: RoutingSnapshot
    public private(set) var counts = BuildCounts()
    /// Per data loop, the last shipment of pending-viewer deltas folded in.
    public private(set) var appliedShipments: [UInt64]
    /// Something changed since the last build.
    public private(set) var isDirty = false
    /// A change only a full build applies is waiting (the first snapshot; an edge turning into or
    /// from a peer's, which ``RoutingSnapshot/canRestructure(from:to:)`` declines).
    public private(set) var fullBuildDue = true
    /// Whether the IDs of this builder's name table are held by it alone (the process's one
    /// builder): then names nothing uses are given back (``StreamNameTable``). Off where other
    /// code holds IDs of the same table.
    public let retiresNames: Bool
    /// Configurations being read on other threads (their IDs are held there): no retiring.
    public private(set) var nameHolds = 0
    /// Ends a name retirement (its log line): retired count, in use, milliseconds.
    public var onNamesRetired: ((_ retired: Int, _ inUse: Int, _ ms: Double) -> Void)?
    /// After `emptyStreamSlotFloor`-style decisions worth a log line (full build reasons).
    public var onFullBuildReason: ((_ reason: String, _ slots: Int, _ empty: Int) -> Void)?

    private let clock: () -> UInt64
    /// Positions in `edges`' iteration order, sorted by node ID (the order snapshots index
    /// edges by): a full build reads the edges through it without hashing a node ID. Recomputed
    /// when a key is added or removed — only that reorders a dictionary.
    private var sortedPositions: [Int] = []
    /// For each edge in `edges`' iteration order, its index in the last full or renumbering
    /// build's snapshot (-1: not in it), so refreshes and sweeps walk the table without hashing
    /// a node ID per edge. Valid while `structuralDirty` is false.
    private var slotByOrder: [Int32] = []
    private var slotsValid: Bool { !structuralDirty && slotByOrder.count == edges.count }
    private var structuralDirty = true
    /// Edges whose reports changed only their load since the last build.
    private var loadChanged: Set<String> = []
    /// Edges changed in more than load but still there (an incremental build applies them).
    private var restructureChanged: Set<String> = []
    private var remoteChanged = false
    private var settingsChanged = false
    private var playbackChanged: Set<String> = []

    /// Incremental builds keep the slot of a stream that ended (empty) so that every other
    /// stream keeps its slot; under churn the slots would grow without bound and every build
    /// copies them. Once at least this many slots — and at least as many as are live — are
    /// empty, the next build is a full one. Amortised: a full build per `max(4,096, live)` ended.
    public static let emptyStreamSlotFloor = 4096
    private var streamSlotCheckAt = SnapshotBuilder.emptyStreamSlotFloor
    /// Once this many names are interned, the next build is a full one and retires the unused
    /// ones: `max(65,536, in use)` more than after the last retirement.
    public static let nameSweepFloor = 65_536
    private var nameSweepAt: Int
    /// Names retired after the full build of `generation`: freed once no snapshot up to it is read.
    private var retiredNames: (generation: UInt64, names: StreamNameTable.RetiredNames)?

    /// `clock`: nanoseconds (build durations); `dataLoops`: how many loops ship pending.
    public init(weights: ScoringWeights, staleness: StalenessPolicy, geo: (any GeoLookup)?, names: StreamNameTable, dataLoops: Int,
                retiresNames: Bool = false, clock: @escaping () -> UInt64 = { 0 }) {
        self.weights = weights
        self.staleness = staleness
        self.geo = geo
        self.names = names
        self.retiresNames = retiresNames
        self.clock = clock
        appliedShipments = [UInt64](repeating: 0, count: dataLoops)
        latest = RoutingSnapshot.empty(weights: weights, names: names)
        nameSweepAt = names.interned + SnapshotBuilder.nameSweepFloor
    }

    /// Nothing but pending bandwidth changed since the last build (a refresh, published at once).
    public var onlyPendingChanged: Bool {
        !structuralDirty && loadChanged.isEmpty && restructureChanged.isEmpty && playbackChanged.isEmpty && !settingsChanged
    }

    // MARK: Changes

    /// Marks a change that needs a publish (`structural`: the edge set may differ; `fullBuild`:
    /// only a full build applies it).
    public func markDirty(structural: Bool = false, fullBuild: Bool = false) {
        isDirty = true
        if structural { structuralDirty = true }
        if fullBuild { fullBuildDue = true }
    }

    /// Adds or replaces an edge (static, enrolled, polled). URLs are resolved once here.
    public func upsertEdge(_ edge: EdgeState) {
        let before = edges[edge.nodeId]
        var edge = edge
        if edge.publicHost.isEmpty { edge.resolveURLs() }
        edges[edge.nodeId] = edge
        noteChanged(edge, before: before)
    }

    /// Applies a report to a known edge; false when there is none.
    public func apply(_ report: EdgeReport, to nodeId: String, nowMs: UInt64) -> Bool {
        guard let before = edges[nodeId] else { return false }
        var edge = before
        report.apply(to: &edge, nowMs: nowMs)
        edges[nodeId] = edge
        noteChanged(edge, before: before)
        return true
    }

    public func setMode(_ mode: EdgeMode, of nodeId: String) -> Bool {
        guard let before = edges[nodeId] else { return false }
        var edge = before
        edge.mode = mode
        edges[nodeId] = edge
        noteChanged(edge, before: before)
        return true
    }

    public func removeEdge(_ nodeId: String) -> Bool {
        guard edges.removeValue(forKey: nodeId) != nil else { return false }
        markDirty(structural: true)
        return true
    }

    /// The running edge `id` becomes `new` unless ``isUnchanged`` says it is the same (a reload
    /// re-declaring a static edge); it keeps its pending bandwidth. Reads the running edge in
    /// place (a dictionary getter copies it: ≈ 20 retains and releases).
    public func redeclare(_ new: EdgeState, isUnchanged: (inout EdgeState, borrowing EdgeState) -> Bool) {
        var e = new
        if e.publicHost.isEmpty { e.resolveURLs() }
        guard let i = edges.index(forKey: e.nodeId) else {
            edges[e.nodeId] = e
            noteChanged(e, before: nil)
            return
        }
        if isUnchanged(&edges.values[i], new) { return }
        let before = edges.values[i]
        if before.pendingBytesPerSec > 0 { e.addPending(before.pendingBytesPerSec) }
        edges.values[i] = e
        noteChanged(e, before: before)
    }

    private func noteChanged(_ edge: EdgeState, before: EdgeState?) {
        if let before, RoutingSnapshot.isLoadOnlyChange(from: before, to: edge) {
            loadChanged.insert(edge.nodeId)
            markDirty()
        } else if let before, RoutingSnapshot.canRestructure(from: before, to: edge) {
            restructureChanged.insert(edge.nodeId)
            markDirty()
        } else {
            markDirty(structural: true, fullBuild: before != nil || edge.isRemote)  // a new edge: renumbered in
        }
    }

    /// Adds or replaces a playback record (`isStatic` nil keeps its flag).
    public func setPlayback(_ record: PlaybackRecord, isStatic: Bool? = nil) {
        playback.set(record, isStatic: isStatic)
        playbackChanged.insert(record.playbackId)
        markDirty()
    }

    public func removePlayback(_ id: String) -> Bool {
        guard playback.remove(id) else { return false }
        playbackChanged.insert(id)
        markDirty()
        return true
    }

    /// The config-declared records from now on (a reload); true if any changed.
    @discardableResult
    public func replaceStaticPlayback(with records: [PlaybackRecord]) -> Bool {
        let changed = playback.replaceStatic(with: records)
        guard !changed.isEmpty else { return false }
        playbackChanged.formUnion(changed)
        markDirty()
        return true
    }

    public func setWeights(_ w: ScoringWeights) {
        weights = w
        settingsChanged = true
        markDirty()
    }

    public func setGeo(_ lookup: (any GeoLookup)?) {
        geo = lookup
        settingsChanged = true
        markDirty()
    }

    /// Peers' edges from now on (``RemoteEdgeCache/replace(with:)``): renumbered in.
    public func setRemoteEdges(_ entries: [(edge: EdgeState, updatedMs: UInt64)]) {
        remote.replace(with: entries)
        remoteChanged = true
        markDirty(structural: true)
    }

    /// Folds a data loop's redirects since its last shipment into the edges' pending bandwidth.
    public func receiveShipment(loop index: Int, sequence: UInt64, amounts: [(nodeId: String, bytesPerSec: UInt64)]) {
        for (nodeId, bytes) in amounts {
            // In place through the index: no copy of the edge (a dictionary read would copy it).
            if let i = edges.index(forKey: nodeId) {
                edges.values[i].addPending(bytes)
            } else {
                remote.addPending(nodeId, bytes)
            }
        }
        if index < appliedShipments.count { appliedShipments[index] = max(appliedShipments[index], sequence) }
        markDirty()
    }

    /// Once a second: ages pending bandwidth, evicts edges silent past `evictAfterMs`, marks
    /// edges whose health flipped (stale, or fresh again) for a load refresh. Returns the
    /// evicted node IDs.
    public func sweep(nowMs: UInt64) -> [String] {
        var added = false, pendingAged = false
        var evict: [String] = [], healthFlipped: [String] = []
        let current = latest
        let mapped = slotsValid
        var i = edges.startIndex
        var k = 0
        while i != edges.endIndex {
            defer { k += 1; edges.formIndex(after: &i) }
            let health = staleness.health(of: edges.values[i], nowMs: nowMs)
            if health == .evict { evict.append(edges.keys[i]); continue }
            let slot = mapped ? (slotByOrder[k] >= 0 ? Int(slotByOrder[k]) : nil) : current.edgeIndex(nodeId: edges.keys[i])
            let wasStale = slot.map { current.exclusion(edge: $0) == .stale } ?? true
            if (health == .stale) != wasStale {
                // The same edge, stale now or fresh again: a load refresh recomputes its exclusion.
                if slot != nil { healthFlipped.append(edges.keys[i]) } else { added = true }
            }
            if edges.values[i].pendingBytesPerSec > 0, edges.values[i].agePending() { pendingAged = true }
        }
        for id in evict { edges.removeValue(forKey: id) }
        counts.evictions += UInt64(evict.count)
        if remote.agePending() { pendingAged = true }
        loadChanged.formUnion(healthFlipped)
        if added || !evict.isEmpty {
            markDirty(structural: true)  // edges removed, or one the snapshot does not have yet: renumbered
        } else if pendingAged || !healthFlipped.isEmpty {
            markDirty()
        }
        return evict
    }

    // MARK: Names

    /// Marks IDs of this builder's table held elsewhere (a configuration being read on another
    /// thread) until ``releaseNames()``: no name is retired meanwhile.
    public func holdNames() { nameHolds += 1 }
    public func releaseNames() { nameHolds = max(0, nameHolds - 1) }

    private var nameSweepDue: Bool {
        retiresNames && retiredNames == nil && nameHolds == 0 && names.interned >= nameSweepAt
    }

    /// Right after a full build (every later snapshot derives from it and the state, which hold
    /// only the IDs listed here): retires the names nothing here uses.
    private func retireUnusedNames(generation: UInt64) {
        let startedNs = clock()
        var inUse = [Bool](repeating: false, count: names.count)
        func mark(_ e: borrowing EdgeState) {
            for id in e.streamIds where Int(id) < inUse.count { inUse[Int(id)] = true }
        }
        for i in edges.values.indices { mark(edges.values[i]) }
        for e in remote.states { mark(e) }
        for id in playback.streamIds where id >= 0 && Int(id) < inUse.count { inUse[Int(id)] = true }
        let retired = names.retireUnused(inUse: inUse)
        counts.nameSweeps += 1
        let inUseCount = names.interned - retired.ids.count
        nameSweepAt = inUseCount + max(SnapshotBuilder.nameSweepFloor, inUseCount)
        onNamesRetired?(retired.ids.count, inUseCount, Double((clock() &- startedNs) / 10_000) / 100)
        retiredNames = (generation, retired)
    }

    /// Frees the names retired at a full build once no snapshot up to it can be read any more
    /// (`oldestReadGeneration`: the oldest snapshot a data loop may still hold, or the published
    /// one's). Returns how many were freed, nil when none were due.
    public func reclaimNames(oldestReadGeneration: UInt64) -> Int? {
        guard let (generation, retired) = retiredNames, oldestReadGeneration > generation else { return nil }
        retiredNames = nil
        return names.reclaim(retired)
    }

    // MARK: Building

    /// The kinds of build ``next(generation:nowMs:)`` ran, in order (a reweighting or playback
    /// patch goes under whatever else changed).
    public enum BuildKind: String, Sendable { case pendingRefresh, loadRefresh, reweighting, playbackPatch, incremental, renumbering, full }

    private func reorder() {
        let keys = Array(edges.keys)
        sortedPositions = keys.indices.sorted { keys[$0] < keys[$1] }
    }

    /// Builds the snapshot that applies every change since the last one, the cheapest way that
    /// can, and makes it ``latest``. Returns it with the kinds of build it took.
    @discardableResult
    public func next(generation: UInt64, nowMs: UInt64) -> (snapshot: RoutingSnapshot, kinds: [BuildKind]) {
        isDirty = false
        var kinds: [BuildKind] = []
        var previous = latest
        if !fullBuildDue && previous.streams.count >= streamSlotCheckAt {
            let slots = previous.streams.count, empty = slots - previous.liveStreamCount
            if empty >= max(SnapshotBuilder.emptyStreamSlotFloor, slots - empty) {
                fullBuildDue = true
                structuralDirty = true
                counts.streamSlotCompactions += 1
                onFullBuildReason?("empty stream slots dropped", slots, empty)
            } else {
                streamSlotCheckAt = slots + max(SnapshotBuilder.emptyStreamSlotFloor, slots / 2)
            }
        }
        if !fullBuildDue && nameSweepDue {
            fullBuildDue = true
            structuralDirty = true
        }
        if settingsChanged && !fullBuildDue {
            // New weights or GeoIP: every row and the bounds again, everything else on top.
            previous = RoutingSnapshot(reconfiguring: previous, weights: weights, geo: geo, pending: pendingBySlot(previous),
                                       generation: generation, nowMs: nowMs, appliedShipments: appliedShipments, clock: clock)
            kinds.append(.reweighting)
        }
        settingsChanged = false
        if !playbackChanged.isEmpty && !fullBuildDue {
            // Records set or removed: the playback table patched first, everything else on top.
            var positions = Set<Int>()
            for id in playbackChanged {
                if let p = previous.playbackIndex(id) { positions.insert(p) }
                if let p = playback.index(of: id) { positions.insert(p) }
            }
            if let patched = RoutingSnapshot.updatingPlayback(
                previous, playback: playback.records, playbackStreamIds: playback.streamIds, positions: positions, generation: generation,
                nowMs: nowMs, appliedShipments: appliedShipments, clock: clock) {
                previous = patched
                kinds.append(.playbackPatch)
            } else {
                fullBuildDue = true
                structuralDirty = true
            }
        }
        playbackChanged.removeAll(keepingCapacity: true)
        if !structuralDirty, let (snapshot, kind) = refreshedOrRestructured(previous, generation: generation, nowMs: nowMs) {
            return finish(snapshot, kinds + [kind])
        }
        let positions = Array(edges.indices)  // iteration order; no hashing
        let localEdges = sortedPositions.map { edges.values[positions[$0]] }
        let snapshot: RoutingSnapshot
        var fullBuilt = false
        let remote = self.remote
        if !fullBuildDue, let reindexed = RoutingSnapshot.reindexed(
            previous, localEdges: localEdges, remoteEdges: remoteChanged ? remote.states : nil, changedNodeIds: loadChanged.union(restructureChanged),
            localPending: localEdges.map(\.pendingBytesPerSec), remotePending: { remote.pendingOf($0) }, playback: playback.records,
            playbackStreamIds: playback.streamIds, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments, clock: clock) {
            snapshot = reindexed
            kinds.append(.renumbering)
        } else {
            snapshot = RoutingSnapshot(RoutingSnapshot.Input(
                generation: generation, nowMs: nowMs, weights: weights, staleness: staleness, edges: localEdges, remoteEdges: remote.states,
                playback: playback.records, playbackStreamIds: playback.streamIds, previous: previous, appliedShipments: appliedShipments,
                geo: geo, clock: clock, names: names))
            streamSlotCheckAt = snapshot.streams.count + max(SnapshotBuilder.emptyStreamSlotFloor, snapshot.streams.count)
            kinds.append(.full)
            fullBuilt = true
        }
        structuralDirty = false
        fullBuildDue = false
        remoteChanged = false
        loadChanged.removeAll(keepingCapacity: true)
        restructureChanged.removeAll(keepingCapacity: true)
        if fullBuilt && retiresNames {
            // Names looked up before this build and unused at the next retirement go then.
            if nameSweepDue { retireUnusedNames(generation: generation) } else { names.beginEpoch() }
        }
        // The snapshot's local edges are the ones handed over, in that (node-ID) order.
        slotByOrder.removeAll(keepingCapacity: true)
        slotByOrder.append(contentsOf: repeatElement(-1, count: positions.count))
        for (slot, k) in sortedPositions.enumerated() { slotByOrder[k] = Int32(slot) }
        return finish(snapshot, kinds)
    }

    /// With the edge set unchanged: a load refresh when only load changed, else an incremental
    /// build; nil when neither applies (a full or renumbering build is due).
    private func refreshedOrRestructured(_ previous: RoutingSnapshot, generation: UInt64, nowMs: UInt64) -> (RoutingSnapshot, BuildKind)? {
        // Changed edges by index in `previous`; one it does not have means a renumbering build.
        var changed: [(index: Int, edge: EdgeState)] = []
        changed.reserveCapacity(loadChanged.count + restructureChanged.count)
        for id in loadChanged.union(restructureChanged) {
            guard let i = previous.edgeIndex(nodeId: id), i < previous.localEdgeCount, let e = edges[id] else { return nil }
            changed.append((i, e))
        }
        let pending = pendingBySlot(previous)
        if restructureChanged.isEmpty {
            loadChanged.removeAll(keepingCapacity: true)
            let snapshot = RoutingSnapshot(refreshing: previous, pending: pending, changedEdges: changed, generation: generation, nowMs: nowMs,
                                           appliedShipments: appliedShipments, clock: clock)
            return (snapshot, changed.isEmpty ? .pendingRefresh : .loadRefresh)
        }
        guard let snapshot = RoutingSnapshot.restructured(
            previous, pending: pending, changedEdges: changed, playback: playback.records, playbackStreamIds: playback.streamIds,
            generation: generation, nowMs: nowMs, appliedShipments: appliedShipments, clock: clock) else { return nil }
        loadChanged.removeAll(keepingCapacity: true)
        restructureChanged.removeAll(keepingCapacity: true)
        return (snapshot, .incremental)
    }

    private func finish(_ snapshot: RoutingSnapshot, _ kinds: [BuildKind]) -> (snapshot: RoutingSnapshot, kinds: [BuildKind]) {
        // A snapshot counts the compactions since its columns were laid out (a full build's are new).
        if snapshot.columnCompactions > latest.columnCompactions { counts.columnCompactions += UInt64(snapshot.columnCompactions - latest.columnCompactions) }
        for kind in kinds {
            switch kind {
            case .full: counts.full += 1
            case .pendingRefresh: counts.pendingRefreshes += 1
            case .loadRefresh: counts.loadRefreshes += 1
            case .reweighting, .playbackPatch, .incremental, .renumbering: counts.incremental += 1
            }
        }
        latest = snapshot
        return (snapshot, kinds)
    }

    /// Each edge's pending bandwidth by `previous`'s edge index (local edges through
    /// `slotByOrder`, peers' from the remote cache).
    private func pendingBySlot(_ previous: RoutingSnapshot) -> [UInt64] {
        guard slotsValid else {
            return previous.nodeIds.map { id -> UInt64 in
                if let i = edges.index(forKey: id) { return edges.values[i].pendingBytesPerSec }  // borrowed, not copied
                return remote.pendingOf(id) ?? 0
            }
        }
        var pending = [UInt64](repeating: 0, count: previous.nodeIds.count)
        var i = edges.startIndex
        var k = 0
        while i != edges.endIndex {
            let slot = Int(slotByOrder[k])
            if slot >= 0 && slot < pending.count { pending[slot] = edges.values[i].pendingBytesPerSec }
            edges.formIndex(after: &i)
            k += 1
        }
        for j in previous.localEdgeCount..<previous.nodeIds.count { pending[j] = remote.pendingOf(previous.nodeIds[j]) ?? 0 }
        return pending
    }
}

extension SnapshotBuilder {
    /// The state a process starts with (the configuration's static edges and records), taken
    /// before the first build — a full one — without tracking each as a change.
    public func declare(edges list: [EdgeState], playback records: [PlaybackRecord]) {
        for var e in list {
            if e.publicHost.isEmpty { e.resolveURLs() }
            edges[e.nodeId] = e
        }
        playback.reserveCapacity(records.count)
        for p in records { playback.set(p, isStatic: true) }
        markDirty(structural: true, fullBuild: true)
    }
}
