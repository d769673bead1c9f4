/// How ``SnapshotBuilder`` turns what changed into a snapshot: the checks that make a full build
/// due (empty stream slots, a name sweep), then reweighting and playback patch under whatever
/// else changed, then a refresh, an incremental, a renumbering or a full build — the first that
/// applies.
extension SnapshotBuilder {
    /// The kinds of build ``next(generation:nowMs:)`` ran, in order (a reweighting or playback
    /// patch goes under whatever else changed).
    public enum BuildKind: String, Sendable { case pendingRefresh, loadRefresh, reweighting, playbackPatch, incremental, renumbering, full }


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
    func refreshedOrRestructured(_ previous: RoutingSnapshot, generation: UInt64, nowMs: UInt64) -> (RoutingSnapshot, BuildKind)? {
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

    func finish(_ snapshot: RoutingSnapshot, _ kinds: [BuildKind]) -> (snapshot: RoutingSnapshot, kinds: [BuildKind]) {
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
    func pendingBySlot(_ previous: RoutingSnapshot) -> [UInt64] {
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
