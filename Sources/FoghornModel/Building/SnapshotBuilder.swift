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
    public internal(set) var edges: [String: EdgeState] = [:] {
        didSet { if edges.count != sortedPositions.count { reorder() } }
    }
    public internal(set) var playback: PlaybackStore
    public internal(set) var weights: ScoringWeights
    public internal(set) var geo: (any GeoLookup)?
    public internal(set) var remote = RemoteEdgeCache()
    /// The last snapshot built: the one each build derives from.
    public internal(set) var latest: RoutingSnapshot
    public internal(set) var counts = BuildCounts()
    /// Per data loop, the last shipment of pending-viewer deltas folded in.
    public internal(set) var appliedShipments: [UInt64]
    /// Something changed since the last build.
    public internal(set) var isDirty = false
    /// A change only a full build applies is waiting (the first snapshot; an edge turning into or
    /// from a peer's, which ``RoutingSnapshot/canRestructure(from:to:)`` declines).
    public internal(set) var fullBuildDue = true
    /// Whether the IDs of this builder's name table are held by it alone (the process's one
    /// builder): then names nothing uses are given back (``StreamNameTable``). Off where other
    /// code holds IDs of the same table.
    public let retiresNames: Bool
    /// Configurations being read on other threads (their IDs are held there): no retiring.
    public internal(set) var nameHolds = 0
    /// Ends a name retirement (its log line): retired count, in use, milliseconds.
    public var onNamesRetired: ((_ retired: Int, _ inUse: Int, _ ms: Double) -> Void)?
    /// A full build taken for a reason worth a log line (ended streams' empty slots dropped):
    /// the reason, the slots and how many of them are empty.
    public var onFullBuildReason: ((_ reason: String, _ slots: Int, _ empty: Int) -> Void)?

    let clock: () -> UInt64
    /// Positions in `edges`' iteration order, sorted by node ID (the order snapshots index
    /// edges by): a full build reads the edges through it without hashing a node ID. Recomputed
    /// when a key is added or removed — only that reorders a dictionary.
    var sortedPositions: [Int] = []
    /// For each edge in `edges`' iteration order, its index in the last full or renumbering
    /// build's snapshot (-1: not in it), so refreshes and sweeps walk the table without hashing
    /// a node ID per edge. Valid while `structuralDirty` is false.
    var slotByOrder: [Int32] = []
    var slotsValid: Bool { !structuralDirty && slotByOrder.count == edges.count }
    var structuralDirty = true
    /// Edges whose reports changed only their load since the last build.
    var loadChanged: Set<String> = []
    /// Edges changed in more than load but still there (an incremental build applies them).
    var restructureChanged: Set<String> = []
    var remoteChanged = false
    var settingsChanged = false
    var playbackChanged: Set<String> = []

    /// Incremental builds keep the slot of a stream that ended (empty) so that every other
    /// stream keeps its slot; under churn the slots would grow without bound and every build
    /// copies them. Once at least this many slots — and at least as many as are live — are
    /// empty, the next build is a full one. Amortised: a full build per `max(4,096, live)` ended.
    public static let emptyStreamSlotFloor = 4096
    var streamSlotCheckAt = SnapshotBuilder.emptyStreamSlotFloor
    /// Once this many names are interned, the next build is a full one and retires the unused
    /// ones: `max(65,536, in use)` more than after the last retirement.
    public static let nameSweepFloor = 65_536
    var nameSweepAt: Int
    /// Names retired after the full build of `generation`: freed once no snapshot up to it is read.
    var retiredNames: (generation: UInt64, names: StreamNameTable.RetiredNames)?

    /// `clock`: nanoseconds (build durations); `dataLoops`: how many loops ship pending.
    public init(weights: ScoringWeights, staleness: StalenessPolicy, geo: (any GeoLookup)?, names: StreamNameTable, dataLoops: Int,
                retiresNames: Bool = false, clock: @escaping () -> UInt64 = { 0 }) {
        self.weights = weights
        self.staleness = staleness
        self.geo = geo
        self.names = names
        playback = PlaybackStore(names: names)
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
        if before == nil, let mode = standingModes[edge.nodeId] { edge.mode = mode }
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

    /// Modes an operator set that outlive the edge (durable state): an edge that appears under
    /// one of these node IDs — after a restart, on its first report after an eviction, a Mist
    /// node's first poll, a static edge a reload declares — takes its mode.
    public var standingModes: [String: EdgeMode] = [:]

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

    /// Removes the static (config-declared) edges `gone` says are gone (a reload); reads each
    /// edge in place.
    public func removeStaticEdges(where gone: (String) -> Bool) {
        var ids: [String] = []
        for i in edges.indices where edges.values[i].isStatic && gone(edges.keys[i]) { ids.append(edges.keys[i]) }
        for id in ids { _ = removeEdge(id) }
    }

    /// The config-declared edges re-read by a reload: each becomes the running edge of its node
    /// ID unless it is exactly the running one (``isSameStaticEdge(_:_:)``); a replaced edge keeps
    /// its pending bandwidth. Most edges of a reload are unchanged: those are compared in place
    /// and never copied.
    public func redeclareStaticEdges(_ list: [EdgeState]) {
        // One loop body, the file's edge read through the array's subscript: handed to a helper
        // as an argument, each 480-byte edge was first copied out (≈ 1.4 ms at 10,000 edges).
        for k in list.indices {
            let i = edges.index(forKey: list[k].nodeId)
            if let i, SnapshotBuilder.isSameStaticEdge(&edges.values[i], list[k]) { continue }
            var e = list[k]
            if e.publicHost.isEmpty { e.resolveURLs() }
            guard let i else {
                edges[e.nodeId] = e
                noteChanged(e, before: nil)
                continue
            }
            let before = edges.values[i]
            if before.pendingBytesPerSec > 0 { e.addPending(before.pendingBytesPerSec) }
            edges.values[i] = e
            noteChanged(e, before: before)
        }
    }

    /// Whether a static edge re-read from the file (`new`) is exactly the running one but for
    /// the pending bandwidth the running one keeps: then a reload leaves it alone. Resolved
    /// URLs follow from the base URL and outputs, which are compared. `running` is `inout` only
    /// so that a dictionary value is reached through its `_modify` accessor: its getter copies
    /// the edge (≈ 20 retains and releases per edge).
    static func isSameStaticEdge(_ running: inout EdgeState, _ new: borrowing EdgeState) -> Bool {
        running.isStatic && running.hasSameDefinition(as: new) && running.publicIP == new.publicIP && running.domain == new.domain
            && running.downBytesPerSec == new.downBytesPerSec && running.configStreams == new.configStreams && running.pollError == new.pollError
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

    /// Pending bandwidth other replicas of this cluster assigned (replicas share their
    /// redirects every ≤ 100 ms): added as this replica's own loops' are, aged the same way.
    public func addSharedPending(_ amounts: [(nodeId: String, bytesPerSec: UInt64)]) {
        var any = false
        for (nodeId, bytes) in amounts {
            if let i = edges.index(forKey: nodeId) {
                edges.values[i].addPending(bytes)
                any = true
            }
        }
        if any { markDirty() }
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

    func reorder() {
        let keys = Array(edges.keys)
        sortedPositions = keys.indices.sorted { keys[$0] < keys[$1] }
    }

}

extension SnapshotBuilder {
    /// The state a process starts with (the configuration's static edges and records), taken
    /// before the first build — a full one — without tracking each as a change.
    public func declare(edges list: [EdgeState], playback records: [PlaybackRecord]) {
        for var e in list {
            if let mode = standingModes[e.nodeId] { e.mode = mode }
            if e.publicHost.isEmpty { e.resolveURLs() }
            edges[e.nodeId] = e
        }
        playback.reserveCapacity(records.count)
        for p in records { playback.set(p, isStatic: true) }
        markDirty(structural: true, fullBuild: true)
    }
}
