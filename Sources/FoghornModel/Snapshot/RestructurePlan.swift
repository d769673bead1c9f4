/// The affected streams of an incremental build and their new candidate runs, already
/// written to a claimed region of the (shared) columns.
struct RestructurePlan {
    /// The stream table with the affected streams' runs, slots and totals (its index still
    /// `previous`'s: the incremental step rebuilds `rebuilt`'s).
    var table: StreamTable
    var edges: SnapshotEdges
    /// Slots whose index is laid out again.
    var rebuilt: [Int] = []
    /// Interned IDs whose stream went from no candidates to some or back (playback records follow).
    var flipped: [(id: Int32, slot: Int32)] = []

    /// `oldStates` (parallel to `changedEdges`): the changed edges' states before the change
    /// when `previous` already holds the new ones (a renumbering build placed them, so its
    /// edge array need not be copied again here); nil: `previous` holds the old states.
    init?(_ previous: RoutingSnapshot, changedEdges: [(index: Int, edge: EdgeState)], alsoAffected: [Int32], oldStates: [EdgeState]? = nil) {
        table = previous.streamTable
        edges = previous.edges
        var isChanged = [Bool](repeating: false, count: previous.edgeCount)
        var affected = alsoAffected
        // Blocks hold positions and trees group by them; tenant-reserved edges send a stream to
        // the linear path: either change means the edge's large streams are indexed again.
        var placementMoved = false
        for (k, (i, e)) in changedEdges.enumerated() {
            let old = oldStates?[k] ?? previous.edges[i]
            affected.append(contentsOf: old.streamIds)
            affected.append(contentsOf: e.streamIds)
            placementMoved = placementMoved || old.position != e.position || old.tenant.isEmpty != e.tenant.isEmpty
            if oldStates == nil { edges.replace(i, with: e) }
            isChanged[i] = true
        }
        affected.sort()
        let changedOrder = changedEdges.map(\.index).sorted()
        // Each affected stream's candidates now, back to back (edge, inputs | viewer flag in bit 31).
        var runEdges: [Int32] = [], runInputs: [UInt32] = []
        var runs: [(slot: Int, id: Int32, start: Int, count: Int, same: Bool, up: UInt64, viewers: UInt64)] = []
        let names = previous.names
        var last: Int32 = -1
        for id in affected where id != last {
            last = id
            var name = names.name(id)
            let slot: Int
            if let s = previous.streamTable.slot(named: name) {
                slot = s
            } else {
                // A stream no edge carried before: a new slot after the others.
                slot = table.entries.count
                let hash = name.withUTF8 { ByteKeyTable.hash(UnsafeRawBufferPointer($0)) }
                table.entries.append(StreamEntry(streamId: id, candidateStart: 0, candidateCount: 0,
                                                 perViewerBytesPerSec: StreamEntry.unknownPerViewerBytesPerSec, nameHash: hash, totalViewers: 0))
                table.perViewer.append(StreamEntry.unknownPerViewerBytesPerSec)
                table.added[name] = Int32(slot)
                table.slotIds.append(id)
            }
            // Merge: the unchanged candidates (ascending edge index) with the changed edges that carry it.
            let old = slot < previous.streams.count ? previous.candidates(of: slot) : nil
            let start = runEdges.count
            var up: UInt64 = 0, viewers: UInt64 = 0
            var k = 0, c = 0
            let oldCount = old?.count ?? 0
            while true {
                // Skipped: changed edges (merged from their new state) and removed ones (-1 after a reindex).
                while k < oldCount, old.unsafelyUnwrapped.edges[k] < 0 || isChanged[Int(old.unsafelyUnwrapped.edges[k])] { k += 1 }
                let nextOld = k < oldCount ? Int(old.unsafelyUnwrapped.edges[k]) : Int.max
                var nextChanged = Int.max
                var stats: EdgeStreamStats?
                while c < changedOrder.count {
                    if let st = edges[changedOrder[c]].stats(forId: id) { nextChanged = changedOrder[c]; stats = st; break }
                    c += 1
                }
                if nextOld == Int.max && nextChanged == Int.max { break }
                if nextOld < nextChanged {
                    let o = old.unsafelyUnwrapped
                    runEdges.append(o.edges[k])
                    runInputs.append(o.inputs[k] | (o.hasViewers(k) ? 0x8000_0000 : 0))
                    if let st = edges[nextOld].stats(forId: id) { up &+= st.upBytesPerSec; viewers &+= UInt64(st.viewers) }
                    k += 1
                } else {
                    let st = stats.unsafelyUnwrapped
                    runEdges.append(Int32(nextChanged))
                    runInputs.append(st.inputs | (st.viewers > 0 ? 0x8000_0000 : 0))
                    up &+= st.upBytesPerSec
                    viewers &+= UInt64(st.viewers)
                    c += 1
                }
            }
            // The same candidates, input counts and viewer bits as before: the run stays where it is.
            var same = old != nil && runEdges.count - start == oldCount
            if same, let o = old {
                for j in 0..<oldCount where runEdges[start + j] != o.edges[j]
                    || runInputs[start + j] != (o.inputs[j] | (o.hasViewers(j) ? 0x8000_0000 : 0)) { same = false; break }
            }
            if same { runEdges.removeSubrange(start...); runInputs.removeSubrange(start...) }
            runs.append((slot, id, start, same ? oldCount : runEdges.count - start, same, up, viewers))
            if !same { table.liveCandidateCount += (runEdges.count - start) - oldCount }
        }
        // Into the columns' spare room (shared with `previous`: nothing it reads is written);
        // when that is used up, into compacted columns of this snapshot's own (the runs laid
        // out again here are copied too, then re-pointed below).
        var base = 0
        if !runEdges.isEmpty {
            if let claimed = table.columns.claim(runEdges.count) {
                base = claimed
            } else {
                table.columns = table.columns.compacted(&table.entries, extra: runEdges.count)
                guard let claimed = table.columns.claim(runEdges.count) else { return nil }
                base = claimed
            }
        }
        for j in 0..<runEdges.count {
            table.columns.edges[base + j] = runEdges[j]
            table.columns.inputs[base + j] = runInputs[j] & 0x7FFF_FFFF
            table.columns.setHasViewers(base + j, runInputs[j] & 0x8000_0000 != 0)
        }
        rebuilt.reserveCapacity(runs.count)
        for r in runs {
            table.setTotals(r.slot, up: r.up, viewers: r.viewers, carried: r.count > 0)
            if r.same {
                if placementMoved && CandidateIndex.linearMaxCount < r.count { rebuilt.append(r.slot) }
                continue
            }
            let wasCarried = table.entries[r.slot].candidateCount > 0
            table.entries[r.slot].candidateStart = Int32(base + r.start)
            table.entries[r.slot].candidateCount = Int32(r.count)
            rebuilt.append(r.slot)
            if wasCarried != (r.count > 0) { flipped.append((r.id, r.count > 0 ? Int32(r.slot) : -1)) }
        }
    }
}
