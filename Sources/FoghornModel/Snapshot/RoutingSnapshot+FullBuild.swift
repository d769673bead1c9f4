/// The full build: every table laid out from the edges and records handed over. The first
/// snapshot, and the one ``SnapshotBuilder`` takes when a change is beyond the incremental
/// builds (an edge turning into or from a peer's) or when ended streams' slots or unused stream
/// names are to be dropped. At 10,000 edges × 100 streams: 25–50 ms (docs/PERFORMANCE.md).
extension RoutingSnapshot {
    /// IDs per block of a full build's passes over (edge, stream) pairs: 16,384 accumulator
    /// records (384 KiB) and the column range their streams fill stay in the L2 cache.
    static let idBlock = 16_384

    public struct Input {
        public var generation: UInt64
        public var nowMs: UInt64
        public var weights: ScoringWeights
        public var staleness: StalenessPolicy
        public var edges: [EdgeState]
        /// Edges of peer clusters (``EdgeState/remoteCluster`` set); indexed after the local ones.
        public var remoteEdges: [EdgeState] = []
        public var playback: [PlaybackRecord]
        /// Each record's stream, interned (``PlaybackStore/streamIds``), parallel to `playback`:
        /// records then find their stream by array index. nil: by name.
        public var playbackStreamIds: [Int32]?
        /// A snapshot built from this very `playback` array (same storage, as the control loop
        /// hands over while no record changed): its playback ID table is reused.
        public var previous: RoutingSnapshot?
        public var appliedShipments: [UInt64]
        public var geo: (any GeoLookup)?
        public var clock: () -> UInt64
        /// The table the edges' and records' stream IDs are interned in.
        public var names: StreamNameTable

        public init(
            generation: UInt64, nowMs: UInt64, weights: ScoringWeights, staleness: StalenessPolicy,
            edges: [EdgeState], remoteEdges: [EdgeState] = [], playback: [PlaybackRecord], playbackStreamIds: [Int32]? = nil,
            previous: RoutingSnapshot? = nil, appliedShipments: [UInt64] = [], geo: (any GeoLookup)? = nil,
            clock: @escaping () -> UInt64 = { 0 }, names: StreamNameTable
        ) {
            self.names = names
            self.playbackStreamIds = playbackStreamIds
            self.previous = previous
            self.geo = geo
            self.generation = generation
            self.nowMs = nowMs
            self.weights = weights
            self.staleness = staleness
            self.edges = edges
            self.remoteEdges = remoteEdges
            self.playback = playback
            self.appliedShipments = appliedShipments
            self.clock = clock
        }
    }

    public convenience init(_ input: Input) {
        let started = input.clock()
        // The control plane hands edges over in node-ID order; sort only if they are not.
        var sorted = input.edges
        var inOrder = true
        sorted.withUnsafeBufferPointer { e in
            var k = 1
            while k < e.count { if !(e[k - 1].nodeId < e[k].nodeId) { inOrder = false; break }; k += 1 }
        }
        if !inOrder {
            let order = input.edges.indices.sorted { input.edges[$0].nodeId < input.edges[$1].nodeId }
            sorted.removeAll(keepingCapacity: true)
            for i in order { sorted.append(input.edges[i]) }
        }
        let localEdgeCount = sorted.count
        var remoteIndex: [String: Int] = [:]
        for r in input.remoteEdges.sorted(by: { $0.nodeId < $1.nodeId }) where r.isRemote && remoteIndex[r.nodeId] == nil {
            remoteIndex[r.nodeId] = sorted.count
            sorted.append(r)
        }
        let n = sorted.count
        let w = input.weights

        var tenants = TenantTable()
        var tagBit: [String: Int] = [:]
        var nodeIds = [String](), nodeHash = [UInt64]()
        var pendingList = [UInt64](), baseUsedList = [UInt64]()
        pendingList.reserveCapacity(n)
        baseUsedList.reserveCapacity(n)
        nodeIds.reserveCapacity(n)
        nodeHash.reserveCapacity(n)
        let rows = EdgeRows(count: n)
        let hot = rows.buffer

        // Templates for edges never resolved (tests; the control plane resolves every edge it
        // stores). Writing to `sorted` copies every edge once (≈ 4 ms at 10,000 edges): only then.
        let unresolved = sorted.withUnsafeBufferPointer { all in (0..<n).filter { (all.baseAddress.unsafelyUnwrapped + $0).pointee.publicHost.isEmpty } }
        for index in unresolved { sorted[index].resolveURLs() }
        let table = input.names
        var idCapacity = max(table.count, 1)  // IDs are 0..<count; each edge's last (largest) one is checked below
        // Read each edge in place: binding `let e = sorted[index]` would copy the struct and
        // retain/release its dozen reference fields, 10,000 times per full build.
        sorted.withUnsafeBufferPointer { sortedEdges in
            for index in 0..<n {
                let ep = sortedEdges.baseAddress.unsafelyUnwrapped + index
                nodeIds.append(ep.pointee.nodeId)
                nodeHash.append(ep.pointee.nodeIdHash)
                var row = EdgeHot.blank
                row.place(ep.pointee, tenant: tenants.intern(ep.pointee.tenant), tagBit: &tagBit)
                let base = row.setLoad(ep.pointee, pending: ep.pointee.pendingBytesPerSec, weights: w, staleness: input.staleness, nowMs: input.nowMs)
                baseUsedList.append(base)
                pendingList.append(ep.pointee.pendingBytesPerSec)
                hot[index] = row
                if let last = ep.pointee.streamIds.last, Int(last) >= idCapacity { idCapacity = Int(last) + 1 }
            }
        }

        // Streams. Per interned ID an accumulator record: slot (-1: no edge carries it), candidate
        // count (in the second pass: the next column position) and totals. Slots are the carried
        // IDs in ascending order.
        struct Accumulator { var slot: Int32; var count: Int32; var up: UInt64; var viewers: UInt64 }
        let acc = UnsafeMutableBufferPointer<Accumulator>.allocate(capacity: idCapacity)
        acc.initialize(repeating: Accumulator(slot: -1, count: 0, up: 0, viewers: 0))
        defer { acc.deallocate() }
        // Each edge's pairs as the passes read them: its stream IDs and figures (the arrays of
        // `sorted`'s edges, which stay alive and unchanged until the build ends), how many, and how
        // far the second pass got. 24 bytes an edge, so the second pass's visits per ID block read
        // this table (240 KB at 10,000 edges) rather than each 480-byte edge record again.
        struct PairRun { var ids: UnsafePointer<Int32>?; var stats: UnsafePointer<EdgeStreamStats>?; var count: Int32; var cursor: Int32 }
        let runs = UnsafeMutableBufferPointer<PairRun>.allocate(capacity: max(n, 1))
        defer { runs.deallocate() }
        // First pass: counts only, in edge order — the IDs (4 bytes a pair) without the figures
        // (16), which the second pass reads.
        sorted.withUnsafeBufferPointer { sortedEdges in
            for e in 0..<n {
                let ep = sortedEdges.baseAddress.unsafelyUnwrapped + e
                let stats = ep.pointee.streamStats.withUnsafeBufferPointer { $0.baseAddress }
                ep.pointee.streamIds.withUnsafeBufferPointer { ids in
                    for id in ids { acc.baseAddress.unsafelyUnwrapped[Int(id)].count &+= 1 }
                    runs[e] = PairRun(ids: ids.baseAddress, stats: stats, count: Int32(truncatingIfNeeded: ids.count), cursor: 0)
                }
            }
        }
        var slotIds: [Int32] = []
        for id in 0..<idCapacity where acc[id].count > 0 {
            acc[id].slot = Int32(slotIds.count)
            slotIds.append(Int32(id))
        }
        let slotCount = slotIds.count
        // The same streams in the same slots as the previous full build (a reload that kept them):
        // its name hashes and name table are reused.
        let sameStreams = input.previous.flatMap { p in p.streamTable.added.isEmpty && p.streamTable.slotIds == slotIds ? p : nil }
        // Each stream's candidates start where the previous one's end.
        var total: Int32 = 0
        for slot in 0..<slotCount {
            let a = acc.baseAddress.unsafelyUnwrapped + Int(slotIds[slot])
            let count = a.pointee.count
            a.pointee.count = total  // from here on: the stream's next column position
            total &+= count
        }
        // Second pass: each stream's candidates in ascending edge index (a counting sort), and its
        // totals — one block of IDs at a time, each edge's ascending IDs consumed through its
        // cursor: the block's accumulator records and the column range its streams fill stay in
        // the L2 cache, where a pass in edge order wrote to a random record (2.4 MB at 100,000 IDs)
        // and column position (8 MB) per pair.
        let columns = StreamColumns(count: Int(total), spare: StreamColumns.spare(for: Int(total)))
        // Blocks pay off when each visit of an edge finds a run of pairs in the block; with few
        // streams per edge (10,000 × 10) the visits would outnumber the pairs: one block then.
        let blockCount = (idCapacity + RoutingSnapshot.idBlock - 1) / RoutingSnapshot.idBlock
        let block = Int(total) >= 4 * n * blockCount ? RoutingSnapshot.idBlock : idCapacity
        withExtendedLifetime(sorted) {
            var blockStart = 0
            while blockStart < idCapacity {
                let blockEnd = Int32(truncatingIfNeeded: min(blockStart + block, idCapacity))
                for e in 0..<n {
                    let run = runs.baseAddress.unsafelyUnwrapped + e
                    var k = Int(run.pointee.cursor)
                    let count = Int(run.pointee.count)
                    guard k < count, let ids = run.pointee.ids, let stats = run.pointee.stats, ids[k] < blockEnd else { continue }
                    repeat {
                        let a = acc.baseAddress.unsafelyUnwrapped + Int(ids[k])
                        let at = Int(a.pointee.count)
                        a.pointee.count = Int32(truncatingIfNeeded: at + 1)
                        columns.edges[at] = Int32(truncatingIfNeeded: e)
                        let st = stats + k
                        columns.inputs[at] = st.pointee.inputs
                        if st.pointee.viewers > 0 { columns.setHasViewers(at) }
                        a.pointee.up &+= st.pointee.upBytesPerSec
                        a.pointee.viewers &+= UInt64(st.pointee.viewers)
                        k += 1
                    } while k < count && ids[k] < blockEnd
                    run.pointee.cursor = Int32(truncatingIfNeeded: k)
                }
                blockStart += block
            }
        }
        // Streams in slot order (each record's count is now its end: start = end − count), written
        // in place (appending checked uniqueness and capacity per stream: 3.4 ms at 100,000); name
        // hashes from the previous full build when the streams are the same.
        let previousStreams = sameStreams?.streams ?? []
        var perViewerByStream = [UInt64](repeating: 0, count: slotCount)
        // No streams: `[]` itself. `Array(unsafeUninitializedCapacity: 0)` writes its count into
        // the runtime's shared empty-array storage, a data race (ThreadSanitizer) with another
        // thread building an empty snapshot.
        let streams = slotCount == 0 ? [] : previousStreams.withUnsafeBufferPointer { prev in
            perViewerByStream.withUnsafeMutableBufferPointer { perViewer in
                slotIds.withUnsafeBufferPointer { ids in
                    [StreamEntry](unsafeUninitializedCapacity: slotCount) { out, initialized in
                        var start: Int32 = 0
                        for slot in 0..<slotCount {
                            let a = acc.baseAddress.unsafelyUnwrapped + Int(ids[slot])
                            let h: UInt64
                            if slot < prev.count {
                                h = (prev.baseAddress.unsafelyUnwrapped + slot).pointee.nameHash
                            } else {
                                var name = table.name(ids[slot])
                                h = name.withUTF8 { ByteKeyTable.hash(UnsafeRawBufferPointer($0)) }
                            }
                            let bytesPerViewer = StreamEntry.perViewerBytesPerSec(up: a.pointee.up, viewers: a.pointee.viewers)
                            (out.baseAddress.unsafelyUnwrapped + slot).initialize(to: StreamEntry(
                                streamId: ids[slot], candidateStart: start, candidateCount: a.pointee.count &- start,
                                perViewerBytesPerSec: bytesPerViewer, nameHash: h, totalViewers: a.pointee.viewers))
                            perViewer[slot] = bytesPerViewer
                            start = a.pointee.count
                        }
                        initialized = slotCount
                    }
                }
            }
        }
        let edges = EdgeTable(states: SnapshotEdges(sorted), rows: rows, pending: pendingList, baseUsed: baseUsedList,
                              urls: sorted.map(\.resolvedURLs), nodeIds: nodeIds, nodeHash: nodeHash, localCount: localEdgeCount,
                              remoteIndex: remoteIndex, structureToken: input.generation, tagBit: tagBit)

        // Names → slots, with the hashes just computed (the stream entries keep them for stickiness).
        let nameTable = sameStreams?.streamTable.names ?? ByteKeyTable(count: slotCount) { slot, add in
            var name = table.name(slotIds[slot])
            name.withUTF8 { add(UnsafeRawBufferPointer($0), Int32(slot), streams[slot].nameHash) }
        }
        var playbackStream: [Int32] = []
        var playbackTenant: [Int32] = []
        playbackStream.reserveCapacity(input.playback.count)
        playbackTenant.reserveCapacity(input.playback.count)
        if let ids = input.playbackStreamIds, ids.count == input.playback.count {
            for id in ids { playbackStream.append(id >= 0 && Int(id) < idCapacity ? acc[Int(id)].slot : -1) }
        } else {
            for record in input.playback { playbackStream.append(nameTable.lookup(record.stream) ?? -1) }
        }
        input.playback.withUnsafeBufferPointer { records in
            // In place: `for record in` would copy each record (three strings retained and released).
            for r in 0..<records.count { playbackTenant.append(tenants.intern((records.baseAddress.unsafelyUnwrapped + r).pointee.tenant)) }
        }
        let index = CandidateIndex(streams: streams, columns: columns, hot: hot, edgeCount: n, weights: w) { i in
            let b = IndexBounds.bound(hot[i], w)
            return b == IndexBounds.excluded ? -1000 : Int64(b)
        }
        let bounds = IndexBounds(index: index, streamCount: streams.count, hot: hot, baseUsed: baseUsedList, weights: w)
        let streamTable = StreamTable(entries: streams, perViewer: perViewerByStream, columns: columns, names: nameTable, added: [:],
                                      slotIds: slotIds, liveCandidateCount: Int(total), index: index)
        let ids: ByteKeyTable
        if let previous = input.previous, PlaybackTable.sameStorage(previous.playback, input.playback) {
            ids = previous.playbackTable.ids
        } else {
            ids = ByteKeyTable(keys: input.playback.map(\.playbackId))
        }
        self.init(generation: input.generation, builtAtMs: input.nowMs, weights: w, staleness: input.staleness, appliedShipments: input.appliedShipments,
                  geo: input.geo, names: input.names, edges: edges, streams: streamTable,
                  playback: PlaybackTable(records: input.playback, ids: ids, stream: playbackStream, tenant: playbackTenant),
                  tenants: tenants, bounds: bounds, startedNs: started, clock: input.clock)
    }
}
