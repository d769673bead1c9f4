/// Stream-name retirement: right after a full build, names nothing in the state uses are put
/// aside (``StreamNameTable/retireUnused(inUse:)``) and freed once no snapshot that could read
/// them is held (``reclaimNames(oldestReadGeneration:)``).
extension SnapshotBuilder {
    /// Marks IDs of this builder's table held elsewhere (a configuration being read on another
    /// thread) until ``releaseNames()``: no name is retired meanwhile.
    public func holdNames() { nameHolds += 1 }
    public func releaseNames() { nameHolds = max(0, nameHolds - 1) }

    var nameSweepDue: Bool {
        retiresNames && retiredNames == nil && nameHolds == 0 && names.interned >= nameSweepAt
    }

    /// Right after a full build (every later snapshot derives from it and the state, which hold
    /// only the IDs listed here): retires the names nothing here uses.
    func retireUnusedNames(generation: UInt64) {
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
}
