/// One stream as the snapshot sees it: where its candidates (the edges carrying it, ascending
/// edge index, so ties break by node ID) sit in the snapshot's ``StreamColumns`` — read them
/// with ``RoutingSnapshot/candidates(of:)`` — and totals over them.
public struct StreamEntry: Sendable {
    /// The stream's interned ID (``StreamNameTable``): the entry holds no reference, so copying
    /// 100,000 of them (a successor whose stream totals changed) is a plain memory copy.
    public var streamId: Int32
    /// The stream's name (from the process-wide name table; no lock).
    public var name: String { StreamNameTable.shared.name(streamId) }
    public var candidateStart: Int32
    public var candidateCount: Int32
    /// Expected bandwidth of one more viewer: Σ up / Σ viewers over edges,
    /// clamped to 64 KiB/s…1 MiB/s, 128 KiB/s when unknown.
    public var perViewerBytesPerSec: UInt64
    /// FNV-1a of the name (for stickiness).
    public var nameHash: UInt64
    public var totalViewers: UInt64
}

/// The fields the scoring loop reads for one edge, packed into one 64-byte
/// cache line. Candidates of a stream are visited by index, so one line per
/// candidate beats one line per field.
public struct EdgeHot: Sendable {
    public var ux: Double
    public var uy: Double
    public var uz: Double
    /// cpu + ram terms under the snapshot's weights (≤ 2·10⁶: weights are capped at 10⁶).
    public var cpuRamScore: UInt32
    /// The bandwidth term at `used` (this loop's own unshipped redirects not included): an
    /// upper bound of the exact term, and the exact term while the loop has none pending.
    public var bwBase: UInt32
    /// Up bandwidth plus pending (anti-herd) bytes/s known to the control loop.
    public var used: UInt64
    public var limit: UInt64
    public var tagBits: UInt64
    /// Index into the snapshot's tenants, -1 for a shared edge.
    public var tenant: Int32
    /// 0, or an ``Exclusion`` raw value that applies whatever the stream.
    public var exclusion: UInt8
    public var geoValid: Bool
    /// A peer cluster's edge: `limit` is the 10 Gbps reference and `used` is
    /// reference − available (+ pending); scored without stream bonus, minus the penalty.
    public var remote: Bool
}

/// An immutable view of all routing state, built by the control loop and
/// shared read-only with every data loop. Edges are indexed in node-ID order,
/// so a lower index means a lower node ID (the tie-break).
public final class RoutingSnapshot: @unchecked Sendable {
    public let generation: UInt64
    public let builtAtMs: UInt64
    public let buildDurationNs: UInt64
    public let weights: ScoringWeights
    public let staleness: StalenessPolicy

    // Edges, by index.
    public let edges: SnapshotEdges
    /// Pending (anti-herd) bytes/s per edge as the control loop last folded them.
    public let pending: [UInt64]
    /// Each row's `used` without pending (pending-only refreshes add to this; they never read `edges`).
    let baseUsed: [UInt64]
    /// Each edge's resolved URL templates (by ``ViewerProtocol`` raw value), shared with its EdgeState.
    let urlsByEdge: [URLTemplateTable]
    /// Expected per-viewer bandwidth by stream index (hot path reads this, not the StreamEntry).
    public let perViewerByStream: [UInt64]
    public let nodeIds: [String]
    public let nodeHash: [UInt64]
    /// Scoring rows (immutable after init; freed in deinit).
    let hot: UnsafeMutableBufferPointer<EdgeHot>
    /// Per-stream bounding-ball trees over the candidates (shared with pending-only refreshes).
    public let index: CandidateIndex
    /// The index's per-snapshot bounds (recomputed by pending-only refreshes too).
    let bounds: IndexBounds

    // Streams and playback.
    public let streams: [StreamEntry]
    /// Every stream's candidates (edge, inputs, a has-viewers bit), back to back.
    let columns: StreamColumns
    /// Stream name → index (flat byte keys: a `[String: Int32]` took 5.3 MB at 100,000 streams).
    let streamTable: ByteKeyTable
    /// Streams that incremental builds added since the last full build (whose table holds the rest).
    let addedStreamSlots: [String: Int32]
    /// Each slot's interned stream ID (``StreamNameTable``): ascending after a full build, new
    /// streams appended by incremental builds.
    let slotStreamIds: [Int32]
    /// IDs per block of a full build's passes over (edge, stream) pairs: 16,384 accumulator
    /// records (384 KiB) and the column range their streams fill stay in the L2 cache.
    static let idBlock = 16_384
    /// Candidates the streams hold. Incremental builds leave their rebuilt streams' old runs in
    /// the columns unused; the next full build drops them.
    let liveCandidateCount: Int
    public let playback: [PlaybackRecord]
    let playbackTable: ByteKeyTable
    let playbackStream: [Int32]
    let playbackTenant: [Int32]
    public let tenants: [String]
    let tenantIndex: [String: Int32]
    /// Tag name → bit (the first 63 distinct tags; others set bit 63 and are matched by name).
    let tagBit: [String: Int]
    /// Per data loop: the last pending-viewer shipment folded into this snapshot.
    public let appliedShipments: [UInt64]
    /// Where viewer positions come from (nil: no geo term).
    public let geo: (any GeoLookup)?

    public var edgeCount: Int { nodeIds.count }
    /// Equal for a snapshot and its pending-only refreshes (same edges, same indices): the
    /// generation of the full build they derive from.
    public let structureToken: UInt64
    /// Edges `0..<localEdgeCount` are this cluster's (node-ID order); the rest are peers'.
    public let localEdgeCount: Int
    /// Qualified ID (`node@cluster`) → index, for remote edges.
    let remoteIndex: [String: Int]

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

        public init(
            generation: UInt64, nowMs: UInt64, weights: ScoringWeights, staleness: StalenessPolicy,
            edges: [EdgeState], remoteEdges: [EdgeState] = [], playback: [PlaybackRecord], playbackStreamIds: [Int32]? = nil,
            previous: RoutingSnapshot? = nil, appliedShipments: [UInt64] = [], geo: (any GeoLookup)? = nil,
            clock: @escaping () -> UInt64 = { 0 }
        ) {
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

    public static let protocolCount = ViewerProtocol.allCases.count

    public init(_ input: Input) {
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
        localEdgeCount = sorted.count
        structureToken = input.generation
        var remoteIndex: [String: Int] = [:]
        for r in input.remoteEdges.sorted(by: { $0.nodeId < $1.nodeId }) where r.isRemote && remoteIndex[r.nodeId] == nil {
            remoteIndex[r.nodeId] = sorted.count
            sorted.append(r)
        }
        self.remoteIndex = remoteIndex
        let n = sorted.count
        let w = input.weights
        generation = input.generation
        builtAtMs = input.nowMs
        weights = w
        staleness = input.staleness
        appliedShipments = input.appliedShipments
        geo = input.geo

        var tenants: [String] = []
        var tenantIndex: [String: Int32] = [:]
        func internTenant(_ t: String) -> Int32 { RoutingSnapshot.intern(tenant: t, &tenants, &tenantIndex) }
        var tagBit: [String: Int] = [:]
        var nodeIds = [String](), nodeHash = [UInt64]()
        var pendingList = [UInt64](), baseUsedList = [UInt64]()
        pendingList.reserveCapacity(n)
        baseUsedList.reserveCapacity(n)
        nodeIds.reserveCapacity(n)
        nodeHash.reserveCapacity(n)
        let hot = UnsafeMutableBufferPointer<EdgeHot>.allocate(capacity: max(n, 1))

        // Templates for edges never resolved (tests; the control plane resolves every edge it
        // stores). Writing to `sorted` copies every edge once (≈ 4 ms at 10,000 edges): only then.
        let unresolved = sorted.withUnsafeBufferPointer { all in (0..<n).filter { (all.baseAddress.unsafelyUnwrapped + $0).pointee.publicHost.isEmpty } }
        for index in unresolved { sorted[index].resolveURLs() }
        let table = StreamNameTable.shared
        var idCapacity = max(table.count, 1)  // IDs are 0..<count; each edge's last (largest) one is checked below
        // Read each edge in place: binding `let e = sorted[index]` would copy the struct and
        // retain/release its dozen reference fields, 10,000 times per full build.
        sorted.withUnsafeBufferPointer { sortedEdges in
            for index in 0..<n {
                let ep = sortedEdges.baseAddress.unsafelyUnwrapped + index
                nodeIds.append(ep.pointee.nodeId)
                nodeHash.append(ep.pointee.nodeIdHash)
                var row = EdgeHot(ux: 0, uy: 0, uz: 0, cpuRamScore: 0, bwBase: 0, used: 0, limit: 0, tagBits: 0, tenant: -1, exclusion: 0, geoValid: false, remote: false)
                RoutingSnapshot.setPlacement(&row, of: ep.pointee, tenant: internTenant(ep.pointee.tenant), tagBit: &tagBit)
                let base = RoutingSnapshot.setLoadTerms(&row, of: ep.pointee, pending: ep.pointee.pendingBytesPerSec, weights: w,
                                                        staleness: input.staleness, nowMs: input.nowMs)
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
        let sameStreams = input.previous.flatMap { p in p.addedStreamSlots.isEmpty && p.slotStreamIds == slotIds ? p : nil }
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
                            let bytesPerViewer = RoutingSnapshot.perViewerBytesPerSec(up: a.pointee.up, viewers: a.pointee.viewers)
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
        self.columns = columns
        self.hot = hot
        edges = SnapshotEdges(sorted)
        pending = pendingList
        baseUsed = baseUsedList
        urlsByEdge = sorted.map(\.resolvedURLs)

        // Names → slots, with the hashes just computed (the stream entries keep them for stickiness).
        let streamTable = sameStreams?.streamTable ?? ByteKeyTable(count: slotCount) { slot, add in
            var name = table.name(slotIds[slot])
            name.withUTF8 { add(UnsafeRawBufferPointer($0), Int32(slot), streams[slot].nameHash) }
        }
        slotStreamIds = slotIds
        var playbackStream: [Int32] = []
        var playbackTenant: [Int32] = []
        playbackStream.reserveCapacity(input.playback.count)
        playbackTenant.reserveCapacity(input.playback.count)
        if let ids = input.playbackStreamIds, ids.count == input.playback.count {
            for id in ids { playbackStream.append(id >= 0 && Int(id) < idCapacity ? acc[Int(id)].slot : -1) }
        } else {
            for record in input.playback { playbackStream.append(streamTable.lookup(record.stream) ?? -1) }
        }
        input.playback.withUnsafeBufferPointer { records in
            // In place: `for record in` would copy each record (three strings retained and released).
            for r in 0..<records.count { playbackTenant.append(internTenant((records.baseAddress.unsafelyUnwrapped + r).pointee.tenant)) }
        }
        self.nodeIds = nodeIds
        self.nodeHash = nodeHash
        self.perViewerByStream = perViewerByStream
        let index = CandidateIndex(streams: streams, columns: columns, hot: hot, edgeCount: n, weights: w) { i in
            let b = IndexBounds.bound(hot[i], w)
            return b == IndexBounds.excluded ? -1000 : Int64(b)
        }
        self.index = index
        self.bounds = IndexBounds(index: index, streamCount: streams.count, hot: hot, baseUsed: baseUsedList, weights: w)
        self.streams = streams
        self.streamTable = streamTable
        addedStreamSlots = [:]
        liveCandidateCount = Int(total)
        self.playback = input.playback
        if let previous = input.previous, RoutingSnapshot.sameStorage(previous.playback, input.playback) {
            self.playbackTable = previous.playbackTable
        } else {
            self.playbackTable = ByteKeyTable(keys: input.playback.map(\.playbackId))
        }
        self.playbackStream = playbackStream
        self.playbackTenant = playbackTenant
        self.tenants = tenants
        self.tenantIndex = tenantIndex
        self.tagBit = tagBit
        let finished = input.clock()
        buildDurationNs = finished >= started ? finished - started : 0
    }

    deinit { hot.deallocate() }

    /// A cheap successor when only pending bandwidth changed: shares every array
    /// with `previous` and copies just the 64-byte scoring rows (O(edges), no
    /// hashing), so folding the loops' redirects every 50 ms costs microseconds
    /// instead of a full rebuild.
    public convenience init(refreshingPendingOf previous: RoutingSnapshot, pending: [UInt64], generation: UInt64, nowMs: UInt64,
                            appliedShipments: [UInt64], clock: () -> UInt64 = { 0 }) {
        self.init(refreshing: previous, pending: pending, changedEdges: [], generation: generation, nowMs: nowMs,
                  appliedShipments: appliedShipments, clock: clock)
    }

    /// Whether `new` differs from `old` only in what a load refresh (``init(refreshing:pending:changedEdges:generation:nowMs:appliedShipments:clock:)``)
    /// can apply: CPU, RAM, bandwidth and its limit, report times, per-stream viewers, bandwidth and
    /// input counts (not whether a stream has inputs), and fields nothing in a snapshot derives
    /// from. Everything that places the edge — its streams, position, mode, tenant, tags,
    /// capabilities, poll failure, URLs, cluster — needs an incremental build
    /// (``canRestructure(from:to:)``) or a full one.
    public static func isLoadOnlyChange(from old: EdgeState, to new: EdgeState) -> Bool {
        guard canRestructure(from: old, to: new), old.streamIds == new.streamIds,
              old.mode == new.mode, old.tenant == new.tenant, old.tags == new.tags, old.capabilities == new.capabilities,
              old.pollError == new.pollError, old.isStatic == new.isStatic, old.resolvedURLs == new.resolvedURLs,
              old.position == new.position else { return false }
        for k in 0..<old.streamStats.count where (old.streamStats[k].inputs > 0) != (new.streamStats[k].inputs > 0) { return false }
        return true
    }

    /// Whether an incremental build (``restructured(_:pending:changedEdges:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``)
    /// can apply a change from `old` to `new`: the same edge of this cluster, whatever changed
    /// (streams, position, mode, tenant, tags, capabilities, URLs, load). Edges added or removed,
    /// and peers' edges, are renumbered instead (``reindexed(_:localEdges:remoteEdges:changedNodeIds:localPending:remotePending:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``).
    public static func canRestructure(from old: EdgeState, to new: EdgeState) -> Bool {
        old.nodeId == new.nodeId && !old.isRemote && !new.isRemote
    }

    /// A successor with new pending bandwidth for every edge and new load for `changedEdges`
    /// (each passing ``isLoadOnlyChange(from:to:)`` against its state in `previous`): the
    /// structure — edge indices, candidate columns' order, the index — is shared; the scoring
    /// rows, the changed edges' per-stream figures and the index bounds are recomputed, O(edges +
    /// candidates) and no hashing of names, instead of a full build (at 10,000 edges × 100
    /// streams a full build takes 25–50 ms, this ≈ 0.4).
    public init(refreshing previous: RoutingSnapshot, pending: [UInt64], changedEdges: [(index: Int, edge: EdgeState)],
                generation: UInt64, nowMs: UInt64, appliedShipments: [UInt64], clock: () -> UInt64 = { 0 }) {
        let started = clock()
        precondition(pending.count == previous.edgeCount, "pending must be indexed like the previous snapshot")
        self.generation = generation
        builtAtMs = nowMs
        weights = previous.weights
        staleness = previous.staleness
        urlsByEdge = previous.urlsByEdge
        self.pending = pending
        nodeIds = previous.nodeIds
        nodeHash = previous.nodeHash
        localEdgeCount = previous.localEdgeCount
        structureToken = previous.structureToken
        remoteIndex = previous.remoteIndex
        let n = previous.edgeCount
        var edges = previous.edges
        var baseUsed = previous.baseUsed
        var streams = previous.streams
        var perViewerByStream = previous.perViewerByStream
        var columns = previous.columns
        if !changedEdges.isEmpty {
            for (i, e) in changedEdges {
                precondition(i < previous.localEdgeCount && previous.nodeIds[i] == e.nodeId, "a changed edge must keep its index")
                edges.replace(i, with: e)
                baseUsed[i] = RoutingSnapshot.used(e, pending: 0)
            }
            // Per stream: the changed edges' input counts and viewer bits, then the totals.
            let table = StreamNameTable.shared
            var affected: [(slot: Int, id: Int32)] = []
            var patches: [(at: Int, inputs: UInt32, hasViewers: Bool)] = []
            for (i, e) in changedEdges {
                for k in 0..<e.streamIds.count {
                    guard let slot = previous.streamIndex(named: table.name(e.streamIds[k])) else { continue }
                    affected.append((slot, e.streamIds[k]))
                    let c = previous.candidates(of: slot)
                    var lo = 0, hi = c.count
                    while lo < hi { let mid = (lo + hi) / 2; if Int(c.edges[mid]) < i { lo = mid + 1 } else { hi = mid } }
                    guard lo < c.count, Int(c.edges[lo]) == i else { continue }
                    let st = e.streamStats[k]
                    if c.inputs[lo] != st.inputs || c.hasViewers(lo) != (st.viewers > 0) {
                        patches.append((Int(streams[slot].candidateStart) + lo, st.inputs, st.viewers > 0))
                    }
                }
            }
            if !patches.isEmpty {
                columns = previous.columns.copy()
                for p in patches {
                    columns.inputs[p.at] = p.inputs
                    columns.setHasViewers(p.at, p.hasViewers)
                }
            }
            for (slot, id) in affected {
                var up: UInt64 = 0, viewers: UInt64 = 0
                for j in previous.candidates(of: slot).edges {
                    if let st = edges[Int(j)].stats(forId: id) { up &+= st.upBytesPerSec; viewers &+= UInt64(st.viewers) }
                }
                let perViewer = RoutingSnapshot.perViewerBytesPerSec(up: up, viewers: viewers)
                if streams[slot].totalViewers != viewers || streams[slot].perViewerBytesPerSec != perViewer {
                    streams[slot].totalViewers = viewers
                    streams[slot].perViewerBytesPerSec = perViewer
                    perViewerByStream[slot] = perViewer
                }
            }
        }
        self.edges = edges
        self.baseUsed = baseUsed
        self.perViewerByStream = perViewerByStream
        let rows = UnsafeMutableBufferPointer<EdgeHot>.allocate(capacity: max(n, 1))
        for i in 0..<n {
            var row = previous.hot[i]
            row.used = baseUsed[i] &+ pending[i]
            row.bwBase = RoutingSnapshot.bandwidthTerm(previous.weights, row)
            rows[i] = row
        }
        for (i, _) in changedEdges {
            _ = RoutingSnapshot.setLoadTerms(&rows[i], of: edges[i], pending: pending[i], weights: previous.weights,
                                             staleness: previous.staleness, nowMs: nowMs)
        }
        hot = rows
        self.streams = streams
        self.columns = columns
        index = previous.index
        // Node bounds are computed without pending: a pending-only refresh shares them, a load change
        // recomputes them; the exclusion tally is recounted only if some edge's exclusion changed.
        let reasonsChanged = changedEdges.contains { previous.hot[$0.index].exclusion != rows[$0.index].exclusion }
        bounds = IndexBounds(refreshing: previous.bounds, index: previous.index, streamCount: streams.count, hot: rows, weights: previous.weights,
                             loadChangedBaseUsed: changedEdges.isEmpty ? nil : baseUsed, reasonsChanged: reasonsChanged)
        streamTable = previous.streamTable
        addedStreamSlots = previous.addedStreamSlots
        slotStreamIds = previous.slotStreamIds
        liveCandidateCount = previous.liveCandidateCount
        playback = previous.playback
        playbackTable = previous.playbackTable
        playbackStream = previous.playbackStream
        playbackTenant = previous.playbackTenant
        tenants = previous.tenants
        tenantIndex = previous.tenantIndex
        tagBit = previous.tagBit
        self.appliedShipments = appliedShipments
        geo = previous.geo
        let finished = clock()
        buildDurationNs = finished >= started ? finished - started : 0
    }

    /// The successor after `changedEdges` — any change to edges `previous` already has (each
    /// passing ``canRestructure(from:to:)``): streams starting or ending on them, moves, mode,
    /// tags, tenant, URLs, load — built incrementally. The edges keep their indices; the changed
    /// edges' scoring rows are computed afresh; only the streams those edges carried or carry now
    /// are looked at again: a stream whose candidates changed gets a new run in the columns'
    /// spare room (a new slot if no edge carried it before; one no edge carries any more keeps
    /// its slot, empty), and its index is rebuilt, as is any large stream of an edge that moved
    /// or changed tenant. Every other stream keeps its run, index and slot (O(edges + streams)
    /// copying and no name hashing but the affected streams', instead of a full build: at 10,000
    /// edges × 100 streams 1.4–3.6 ms instead of 25–50). Decisions, scores and per-stream figures
    /// equal a full build's (IncrementalBuildTests).
    ///
    /// nil when a full build is due instead: an edge is not in `previous` (added or removed edges
    /// and peers' edges go through ``reindexed(_:localEdges:remoteEdges:changedNodeIds:localPending:remotePending:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``),
    /// `playback` is not the very array `previous` was built from (records go through
    /// ``updatingPlayback(_:playback:playbackStreamIds:positions:generation:nowMs:appliedShipments:clock:)``
    /// first) with `playbackStreamIds` parallel to it, or the columns' spare room is used up (a
    /// full build compacts them).
    public static func restructured(_ previous: RoutingSnapshot, pending: [UInt64], changedEdges: [(index: Int, edge: EdgeState)],
                                    playback: [PlaybackRecord], playbackStreamIds: [Int32], generation: UInt64, nowMs: UInt64,
                                    appliedShipments: [UInt64], clock: () -> UInt64 = { 0 }) -> RoutingSnapshot? {
        restructured(previous, pending: pending, changedEdges: changedEdges, alsoAffected: [], playback: playback,
                     playbackStreamIds: playbackStreamIds, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments,
                     started: clock(), clock: clock)
    }

    /// `alsoAffected`: stream IDs to lay out again besides the changed edges' (those of removed
    /// edges, see ``reindexed(_:localEdges:remoteEdges:changedNodeIds:localPending:remotePending:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``).
    static func restructured(_ previous: RoutingSnapshot, pending: [UInt64], changedEdges: [(index: Int, edge: EdgeState)], alsoAffected: [Int32],
                             oldStates: [EdgeState]? = nil, playback: [PlaybackRecord], playbackStreamIds: [Int32], generation: UInt64,
                             nowMs: UInt64, appliedShipments: [UInt64], started: UInt64, clock: () -> UInt64) -> RoutingSnapshot? {
        guard pending.count == previous.edgeCount, sameStorage(previous.playback, playback),
              playbackStreamIds.count == playback.count else { return nil }
        // Templates as a full build resolves them for edges that have none yet (tests, old state).
        var changedEdges = changedEdges
        for k in changedEdges.indices where changedEdges[k].edge.publicHost.isEmpty {
            guard oldStates == nil else { return nil }  // a renumbering build resolves them before it places them
            changedEdges[k].edge.resolveURLs()
        }
        for (i, e) in changedEdges {
            guard i < previous.edgeCount, previous.nodeIds[i] == e.nodeId else { return nil }
            if i < previous.localEdgeCount {
                guard canRestructure(from: previous.edges[i], to: e) else { return nil }
            } else {
                guard e.isRemote && previous.edges[i].isRemote else { return nil }  // a peer's edge, renumbered by `reindexed`
            }
        }
        guard let plan = RestructurePlan(previous, changedEdges: changedEdges, alsoAffected: alsoAffected, oldStates: oldStates) else { return nil }
        return RoutingSnapshot(restructuring: previous, plan: plan, pending: pending, changedEdges: changedEdges,
                               playbackStreamIds: playbackStreamIds, generation: generation, nowMs: nowMs,
                               appliedShipments: appliedShipments, started: started, clock: clock)
    }

    /// The successor after edges were added or removed (and others changed, `changedNodeIds`),
    /// built incrementally too: `localEdges` is the cluster's whole new edge list in node-ID order;
    /// each edge keeps its relative order, so every stream's candidates stay ascending once their
    /// indices are renumbered — one pass over the candidate columns and index blocks
    /// (``init(remapping:edgeCount:changed:oldOfNew:newOfOld:localEdgeCount:pending:generation:nowMs:appliedShipments:)``)
    /// — after which the added and changed edges, and the streams the removed ones carried, are
    /// applied as by ``restructured(_:pending:changedEdges:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``.
    /// `remoteEdges`: peer clusters' edges when they changed (all of them, as a full build takes
    /// them; each is applied as changed), nil when they did not. Edge indices change, so the result
    /// is a new structure (``structureToken``). `localPending`: each local edge's pending
    /// bandwidth, like `localEdges`; a peer edge's is its state's (`remoteEdges`) or
    /// `remotePending(nodeId)`, else what `previous` had.
    ///
    /// nil when a full build is due instead: `localEdges` not strictly ascending by node ID, a
    /// changed edge not restructurable, playback changed, spare room used up.
    public static func reindexed(_ previous: RoutingSnapshot, localEdges: [EdgeState], remoteEdges: [EdgeState]? = nil, changedNodeIds: Set<String>,
                                 localPending: [UInt64], remotePending: (String) -> UInt64? = { _ in nil }, playback: [PlaybackRecord],
                                 playbackStreamIds: [Int32], generation: UInt64, nowMs: UInt64, appliedShipments: [UInt64],
                                 clock: () -> UInt64 = { 0 }) -> RoutingSnapshot? {
        let started = clock()
        let oldLocal = previous.localEdgeCount, newLocal = localEdges.count
        // Peer edges as a full build orders them: by node ID, the first of a repeated one.
        var remote: [EdgeState]
        if let remoteEdges {
            remote = []
            var seen = Set<String>()
            for r in remoteEdges.sorted(by: { $0.nodeId < $1.nodeId }) where r.isRemote && seen.insert(r.nodeId).inserted { remote.append(r) }
        } else {
            remote = Array(previous.edges[oldLocal...])
        }
        // Edge `j` of the result: local first, then peers (read in place — concatenating the two
        // arrays copied all 10,000 edges, ≈ 4 ms).
        let total = newLocal + remote.count
        func withEdge<R>(_ j: Int, _ body: (UnsafePointer<EdgeState>) -> R) -> R {
            j < newLocal ? localEdges.withUnsafeBufferPointer { body($0.baseAddress.unsafelyUnwrapped + j) }
                : remote.withUnsafeBufferPointer { body($0.baseAddress.unsafelyUnwrapped + (j - newLocal)) }
        }
        guard localPending.count == newLocal, sameStorage(previous.playback, playback), playbackStreamIds.count == playback.count else { return nil }
        var pending = localPending
        pending.reserveCapacity(total)
        for (r, e) in remote.enumerated() {
            pending.append(remoteEdges != nil ? e.pendingBytesPerSec : remotePending(e.nodeId) ?? previous.pending[oldLocal + r])
        }
        // Merge the node-ID orders, local part and peer part each.
        var oldOfNew = [Int32](repeating: -1, count: total)
        var newOfOld = [Int32](repeating: -1, count: previous.edgeCount)
        var removedStreams: [Int32] = []
        for (oldRange, newRange) in [(0..<oldLocal, 0..<newLocal), (oldLocal..<previous.edgeCount, newLocal..<total)] {
            var i = oldRange.lowerBound, j = newRange.lowerBound
            while i < oldRange.upperBound || j < newRange.upperBound {
                if j < newRange.upperBound {
                    let id = withEdge(j) { $0.pointee.nodeId }
                    if j > newRange.lowerBound && !(withEdge(j - 1) { $0.pointee.nodeId } < id) { return nil }  // not ascending
                    if i < oldRange.upperBound && previous.nodeIds[i] == id {
                        oldOfNew[j] = Int32(i); newOfOld[i] = Int32(j); i += 1; j += 1
                        continue
                    }
                    if i >= oldRange.upperBound || id < previous.nodeIds[i] { j += 1; continue }  // added
                }
                removedStreams.append(contentsOf: previous.edges[i].streamIds)  // removed
                i += 1
            }
        }
        // The added and changed edges, with what they were (an added one: itself carrying nothing).
        var changed: [(index: Int, edge: EdgeState)] = [], oldStates: [EdgeState] = []
        for j in 0..<total {
            guard oldOfNew[j] < 0 || (j >= newLocal && remoteEdges != nil) || withEdge(j, { changedNodeIds.contains($0.pointee.nodeId) }) else { continue }
            var e = withEdge(j) { $0.pointee }
            if e.publicHost.isEmpty { e.resolveURLs() }
            changed.append((j, e))
            if oldOfNew[j] >= 0 {
                oldStates.append(previous.edges[Int(oldOfNew[j])])
            } else {
                var placeholder = e
                placeholder.streams = [:]
                oldStates.append(placeholder)
            }
        }
        let base = RoutingSnapshot(remapping: previous, edgeCount: total, changed: changed, oldOfNew: oldOfNew, newOfOld: newOfOld,
                                   localEdgeCount: newLocal, pending: pending, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments)
        return restructured(base, pending: pending, changedEdges: changed, alsoAffected: removedStreams, oldStates: oldStates, playback: playback,
                            playbackStreamIds: playbackStreamIds, generation: generation, nowMs: nowMs, appliedShipments: appliedShipments,
                            started: started, clock: clock)
    }

    /// `previous` renumbered (local edges, then peer edges): the `changed` edges (ascending index)
    /// in their new state, removed edges gone from the rows and marked -1 in the columns (their
    /// streams are laid out again next). An intermediate step of
    /// ``reindexed(_:localEdges:remoteEdges:changedNodeIds:localPending:remotePending:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``,
    /// never published: the incremental step computes the changed edges' rows, URLs and usage
    /// and all bounds afresh, so here they are left as they were (an added edge's row blank) and
    /// the bounds are `previous`'s, unread.
    private init(remapping previous: RoutingSnapshot, edgeCount n: Int, changed: [(index: Int, edge: EdgeState)],
                 oldOfNew: [Int32], newOfOld: [Int32], localEdgeCount newLocal: Int, pending: [UInt64], generation: UInt64, nowMs: UInt64,
                 appliedShipments: [UInt64]) {
        let w = previous.weights
        self.generation = generation
        builtAtMs = nowMs
        weights = w
        staleness = previous.staleness
        structureToken = generation
        localEdgeCount = newLocal
        self.pending = pending
        var edges: [SnapshotEdges.Box] = [], urls: [URLTemplateTable] = [], nodeIds: [String] = [], nodeHash: [UInt64] = [], baseUsed: [UInt64] = []
        edges.reserveCapacity(n); urls.reserveCapacity(n); nodeIds.reserveCapacity(n); nodeHash.reserveCapacity(n); baseUsed.reserveCapacity(n)
        let rows = UnsafeMutableBufferPointer<EdgeHot>.allocate(capacity: max(n, 1))
        var c = 0  // next of `changed`
        for j in 0..<n {
            let old = Int(oldOfNew[j])
            if c < changed.count && changed[c].index == j {
                // Changed or added: the new state now (so the incremental step need not copy the edges again).
                let e = changed[c].edge
                c += 1
                edges.append(SnapshotEdges.Box(e))
                urls.append(old >= 0 ? previous.urlsByEdge[old] : e.resolvedURLs)
                nodeIds.append(e.nodeId)
                nodeHash.append(e.nodeIdHash)
                baseUsed.append(old >= 0 ? previous.baseUsed[old] : 0)
                rows[j] = old >= 0 ? previous.hot[old]
                    : EdgeHot(ux: 0, uy: 0, uz: 0, cpuRamScore: 0, bwBase: 0, used: 0, limit: 0, tagBits: 0, tenant: -1, exclusion: 0, geoValid: false, remote: false)
                continue
            }
            edges.append(previous.edges.box(old))
            urls.append(previous.urlsByEdge[old])
            nodeIds.append(previous.nodeIds[old])
            nodeHash.append(previous.nodeHash[old])
            baseUsed.append(previous.baseUsed[old])
            var row = previous.hot[old]
            row.used = previous.baseUsed[old] &+ pending[j]
            row.bwBase = RoutingSnapshot.bandwidthTerm(w, row)
            rows[j] = row
        }
        var remoteIndex: [String: Int] = [:]
        for j in newLocal..<n { remoteIndex[nodeIds[j]] = j }
        self.remoteIndex = remoteIndex
        self.edges = SnapshotEdges(boxes: edges)
        urlsByEdge = urls
        self.nodeIds = nodeIds
        self.nodeHash = nodeHash
        self.baseUsed = baseUsed
        hot = rows
        tenants = previous.tenants
        tenantIndex = previous.tenantIndex
        tagBit = previous.tagBit
        columns = previous.columns.renumbered(newOfOld)
        streams = previous.streams
        perViewerByStream = previous.perViewerByStream
        streamTable = previous.streamTable
        addedStreamSlots = previous.addedStreamSlots
        slotStreamIds = previous.slotStreamIds
        liveCandidateCount = previous.liveCandidateCount
        index = CandidateIndex(renumbering: previous.index, newOfOld: newOfOld, edgeCount: n)
        bounds = previous.bounds
        playback = previous.playback
        playbackTable = previous.playbackTable
        playbackStream = previous.playbackStream
        playbackTenant = previous.playbackTenant
        self.appliedShipments = appliedShipments
        geo = previous.geo
        buildDurationNs = 0
    }

    /// The affected streams of an incremental build and their new candidate runs, already
    /// written to a claimed region of the (shared) columns.
    struct RestructurePlan {
        var streams: [StreamEntry]
        var perViewerByStream: [UInt64]
        var edges: SnapshotEdges
        var addedStreamSlots: [String: Int32]
        var slotStreamIds: [Int32]
        /// Slots whose index is laid out again.
        var rebuilt: [Int] = []
        /// Interned IDs whose stream went from no candidates to some or back (playback records follow).
        var flipped: [(id: Int32, slot: Int32)] = []
        var liveCandidateCount: Int
        /// The columns the new runs went into: `previous`'s (its spare room), or compacted ones
        /// when that was used up.
        var columns: StreamColumns

        /// `oldStates` (parallel to `changedEdges`): the changed edges' states before the change
        /// when `previous` already holds the new ones (a renumbering build placed them, so its
        /// edge array need not be copied again here); nil: `previous` holds the old states.
        init?(_ previous: RoutingSnapshot, changedEdges: [(index: Int, edge: EdgeState)], alsoAffected: [Int32], oldStates: [EdgeState]? = nil) {
            streams = previous.streams
            perViewerByStream = previous.perViewerByStream
            edges = previous.edges
            addedStreamSlots = previous.addedStreamSlots
            slotStreamIds = previous.slotStreamIds
            liveCandidateCount = previous.liveCandidateCount
            columns = previous.columns
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
            let table = StreamNameTable.shared
            var last: Int32 = -1
            for id in affected where id != last {
                last = id
                var name = table.name(id)
                let slot: Int
                if let s = previous.streamSlot(named: name) {
                    slot = s
                } else {
                    // A stream no edge carried before: a new slot after the others.
                    slot = streams.count
                    let hash = name.withUTF8 { ByteKeyTable.hash(UnsafeRawBufferPointer($0)) }
                    streams.append(StreamEntry(streamId: id, candidateStart: 0, candidateCount: 0, perViewerBytesPerSec: 131_072,
                                               nameHash: hash, totalViewers: 0))
                    perViewerByStream.append(131_072)
                    addedStreamSlots[name] = Int32(slot)
                    slotStreamIds.append(id)
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
                if !same { liveCandidateCount += (runEdges.count - start) - oldCount }
            }
            // Into the columns' spare room (shared with `previous`: nothing it reads is written);
            // when that is used up, into compacted columns of this snapshot's own (the runs laid
            // out again here are copied too, then re-pointed below).
            var base = 0
            if !runEdges.isEmpty {
                if let claimed = columns.claim(runEdges.count) {
                    base = claimed
                } else {
                    columns = columns.compacted(&streams, extra: runEdges.count)
                    guard let claimed = columns.claim(runEdges.count) else { return nil }
                    base = claimed
                }
            }
            for j in 0..<runEdges.count {
                columns.edges[base + j] = runEdges[j]
                columns.inputs[base + j] = runInputs[j] & 0x7FFF_FFFF
                columns.setHasViewers(base + j, runInputs[j] & 0x8000_0000 != 0)
            }
            rebuilt.reserveCapacity(runs.count)
            for r in runs {
                let perViewer = r.count > 0 ? RoutingSnapshot.perViewerBytesPerSec(up: r.up, viewers: r.viewers) : 131_072
                // Written only when changed: the first write copies all the stream entries (100,000: 4.8 MB).
                if streams[r.slot].totalViewers != r.viewers { streams[r.slot].totalViewers = r.viewers }
                if streams[r.slot].perViewerBytesPerSec != perViewer {
                    streams[r.slot].perViewerBytesPerSec = perViewer
                    perViewerByStream[r.slot] = perViewer
                }
                if r.same {
                    if placementMoved && CandidateIndex.linearMaxCount < r.count { rebuilt.append(r.slot) }
                    continue
                }
                let wasCarried = streams[r.slot].candidateCount > 0
                streams[r.slot].candidateStart = Int32(base + r.start)
                streams[r.slot].candidateCount = Int32(r.count)
                rebuilt.append(r.slot)
                if wasCarried != (r.count > 0) { flipped.append((r.id, r.count > 0 ? Int32(r.slot) : -1)) }
            }
        }
    }

    private init(restructuring previous: RoutingSnapshot, plan: RestructurePlan, pending: [UInt64], changedEdges: [(index: Int, edge: EdgeState)],
                 playbackStreamIds: [Int32], generation: UInt64, nowMs: UInt64, appliedShipments: [UInt64], started: UInt64, clock: () -> UInt64) {
        self.generation = generation
        builtAtMs = nowMs
        weights = previous.weights
        staleness = previous.staleness
        var urlsByEdge = previous.urlsByEdge
        for (i, e) in changedEdges where urlsByEdge[i] != e.resolvedURLs { urlsByEdge[i] = e.resolvedURLs }
        self.urlsByEdge = urlsByEdge
        self.pending = pending
        nodeIds = previous.nodeIds
        nodeHash = previous.nodeHash
        localEdgeCount = previous.localEdgeCount
        structureToken = previous.structureToken  // same edges at the same indices
        remoteIndex = previous.remoteIndex
        let n = previous.edgeCount
        let w = previous.weights
        var baseUsed = previous.baseUsed
        for (i, e) in changedEdges { baseUsed[i] = RoutingSnapshot.used(e, pending: 0) }
        let rows = UnsafeMutableBufferPointer<EdgeHot>.allocate(capacity: max(n, 1))
        for i in 0..<n {
            var row = previous.hot[i]
            row.used = baseUsed[i] &+ pending[i]
            row.bwBase = RoutingSnapshot.bandwidthTerm(w, row)
            rows[i] = row
        }
        // The changed edges' rows afresh (a new tenant or tag is added to the snapshot's tables).
        var tenants = previous.tenants, tenantIndex = previous.tenantIndex, tagBit = previous.tagBit
        for (i, _) in changedEdges {
            RoutingSnapshot.setPlacement(&rows[i], of: plan.edges[i], tenant: RoutingSnapshot.intern(tenant: plan.edges[i].tenant, &tenants, &tenantIndex),
                                         tagBit: &tagBit)
            _ = RoutingSnapshot.setLoadTerms(&rows[i], of: plan.edges[i], pending: pending[i], weights: w, staleness: previous.staleness, nowMs: nowMs)
        }
        self.tenants = tenants
        self.tenantIndex = tenantIndex
        self.tagBit = tagBit
        hot = rows
        edges = plan.edges
        self.baseUsed = baseUsed
        streams = plan.streams
        perViewerByStream = plan.perViewerByStream
        columns = plan.columns
        addedStreamSlots = plan.addedStreamSlots
        slotStreamIds = plan.slotStreamIds
        liveCandidateCount = plan.liveCandidateCount
        let index = CandidateIndex(updating: previous.index, streams: plan.streams, rebuilt: plan.rebuilt, columns: plan.columns, hot: rows,
                                   edgeCount: n, weights: w) { i in
            let b = IndexBounds.bound(rows[i], w)
            return b == IndexBounds.excluded ? -1000 : Int64(b)
        }
        self.index = index
        bounds = IndexBounds(index: index, streamCount: plan.streams.count, hot: rows, baseUsed: baseUsed, weights: w)
        // Playback records of a stream that appeared or went away point at its slot or at none.
        var playbackStream = previous.playbackStream
        if !plan.flipped.isEmpty {
            var newSlot: [Int32: Int32] = [:]
            var maxId: Int32 = 0
            for f in plan.flipped { newSlot[f.id] = f.slot; maxId = max(maxId, f.id) }
            // A bitmap first: one bit test per record, a dictionary lookup only for the few it flags.
            var flagged = [UInt64](repeating: 0, count: Int(maxId) / 64 + 1)
            for f in plan.flipped { flagged[Int(f.id) >> 6] |= 1 << UInt64(f.id & 63) }
            flagged.withUnsafeBufferPointer { bits in
                playbackStreamIds.withUnsafeBufferPointer { ids in
                    for r in 0..<ids.count {
                        let id = ids[r]
                        guard id >= 0, id <= maxId, bits[Int(id) >> 6] & (1 << UInt64(id & 63)) != 0 else { continue }
                        playbackStream[r] = newSlot[id].unsafelyUnwrapped
                    }
                }
            }
        }
        self.playbackStream = playbackStream
        streamTable = previous.streamTable
        playback = previous.playback
        playbackTable = previous.playbackTable
        playbackTenant = previous.playbackTenant
        self.appliedShipments = appliedShipments
        geo = previous.geo
        let finished = clock()
        buildDurationNs = finished >= started ? finished - started : 0
    }

    /// `previous` with the playback records replaced by `playback` (the control plane's store
    /// after records were set or removed), built incrementally: only the records at `positions`
    /// — the old and new positions of each record set or removed — are looked at again (the ID
    /// table patched, ``ByteKeyTable/updated(removing:inserting:)``, their stream and tenant
    /// resolved); edges, streams and index are shared. That covers every position whose record
    /// differs: the store replaces a record in place, appends a new one, and fills a removed one's
    /// position with its last record (whose key, found again at its new position, is re-valued).
    /// At 100,000 records a full build took 24.7 ms.
    /// nil when the ID table would need to grow or compact (a full build is due).
    public static func updatingPlayback(_ previous: RoutingSnapshot, playback: [PlaybackRecord], playbackStreamIds: [Int32], positions: Set<Int>,
                                        generation: UInt64, nowMs: UInt64, appliedShipments: [UInt64], clock: () -> UInt64 = { 0 }) -> RoutingSnapshot? {
        let started = clock()
        let oldCount = previous.playback.count
        guard playbackStreamIds.count == playback.count else { return nil }
        let sorted = positions.sorted()
        var removing: [String] = [], inserting: [(key: String, value: Int32)] = []
        for p in sorted {
            if p < oldCount { removing.append(previous.playback[p].playbackId) }
            if p < playback.count { inserting.append((playback[p].playbackId, Int32(p))) }
        }
        guard let table = previous.playbackTable.updated(removing: removing, inserting: inserting) else { return nil }
        return RoutingSnapshot(updatingPlayback: previous, playback: playback, playbackStreamIds: playbackStreamIds, positions: sorted, table: table,
                               generation: generation, nowMs: nowMs, appliedShipments: appliedShipments, started: started, clock: clock)
    }

    private init(updatingPlayback previous: RoutingSnapshot, playback: [PlaybackRecord], playbackStreamIds: [Int32], positions: [Int], table: ByteKeyTable,
                 generation: UInt64, nowMs: UInt64, appliedShipments: [UInt64], started: UInt64, clock: () -> UInt64) {
        self.generation = generation
        builtAtMs = nowMs
        weights = previous.weights
        staleness = previous.staleness
        edges = previous.edges
        pending = previous.pending
        baseUsed = previous.baseUsed
        urlsByEdge = previous.urlsByEdge
        perViewerByStream = previous.perViewerByStream
        nodeIds = previous.nodeIds
        nodeHash = previous.nodeHash
        let rows = UnsafeMutableBufferPointer<EdgeHot>.allocate(capacity: previous.hot.count)
        _ = rows.initialize(fromContentsOf: previous.hot)
        hot = rows  // each snapshot owns (and frees) its rows
        index = previous.index
        bounds = previous.bounds
        streams = previous.streams
        columns = previous.columns
        streamTable = previous.streamTable
        addedStreamSlots = previous.addedStreamSlots
        slotStreamIds = previous.slotStreamIds
        liveCandidateCount = previous.liveCandidateCount
        structureToken = previous.structureToken
        localEdgeCount = previous.localEdgeCount
        remoteIndex = previous.remoteIndex
        tagBit = previous.tagBit
        geo = previous.geo
        self.appliedShipments = appliedShipments
        self.playback = playback
        playbackTable = table
        // Each looked-at record's stream (its slot while some edge carries it, as a full build
        // maps it) and tenant.
        let newCount = playback.count
        var playbackStream = previous.playbackStream, playbackTenant = previous.playbackTenant
        var tenants = previous.tenants, tenantIndex = previous.tenantIndex
        if playbackStream.count > newCount {
            playbackStream.removeLast(playbackStream.count - newCount)
            playbackTenant.removeLast(playbackTenant.count - newCount)
        } else {
            playbackStream.append(contentsOf: repeatElement(-1, count: newCount - playbackStream.count))
            playbackTenant.append(contentsOf: repeatElement(-1, count: newCount - playbackTenant.count))
        }
        let names = StreamNameTable.shared
        for p in positions where p < newCount {
            let id = playbackStreamIds[p]
            let slot = id >= 0 ? previous.streamSlot(named: names.name(id)) : nil
            playbackStream[p] = slot.map { previous.streams[$0].candidateCount > 0 ? Int32($0) : -1 } ?? -1
            playbackTenant[p] = RoutingSnapshot.intern(tenant: playback[p].tenant, &tenants, &tenantIndex)
        }
        self.playbackStream = playbackStream
        self.playbackTenant = playbackTenant
        self.tenants = tenants
        self.tenantIndex = tenantIndex
        let finished = clock()
        buildDurationNs = finished >= started ? finished - started : 0
    }

    /// `previous` under new scoring weights and GeoIP lookup (`PUT /v1/weights`, a new GeoIP
    /// database): every edge's scoring row and the index bounds computed again — O(edges +
    /// index), no stream or playback work — instead of a full build. The index's structure does
    /// not depend on the weights (they only steered where its trees split), so it is shared.
    public init(reconfiguring previous: RoutingSnapshot, weights w: ScoringWeights, geo: (any GeoLookup)?, pending: [UInt64], generation: UInt64,
                nowMs: UInt64, appliedShipments: [UInt64], clock: () -> UInt64 = { 0 }) {
        let started = clock()
        precondition(pending.count == previous.edgeCount, "pending must be indexed like the previous snapshot")
        self.generation = generation
        builtAtMs = nowMs
        weights = w
        self.geo = geo
        staleness = previous.staleness
        edges = previous.edges
        self.pending = pending
        baseUsed = previous.baseUsed
        urlsByEdge = previous.urlsByEdge
        perViewerByStream = previous.perViewerByStream
        nodeIds = previous.nodeIds
        nodeHash = previous.nodeHash
        let n = previous.edgeCount
        let rows = UnsafeMutableBufferPointer<EdgeHot>.allocate(capacity: previous.hot.count)
        _ = rows.initialize(fromContentsOf: previous.hot)
        for i in 0..<n {
            _ = RoutingSnapshot.setLoadTerms(&rows[i], of: previous.edges[i], pending: pending[i], weights: w, staleness: previous.staleness, nowMs: nowMs)
        }
        hot = rows
        index = previous.index
        bounds = IndexBounds(index: previous.index, streamCount: previous.streams.count, hot: rows, baseUsed: previous.baseUsed, weights: w)
        streams = previous.streams
        columns = previous.columns
        streamTable = previous.streamTable
        addedStreamSlots = previous.addedStreamSlots
        slotStreamIds = previous.slotStreamIds
        liveCandidateCount = previous.liveCandidateCount
        structureToken = previous.structureToken
        localEdgeCount = previous.localEdgeCount
        remoteIndex = previous.remoteIndex
        tagBit = previous.tagBit
        tenants = previous.tenants
        tenantIndex = previous.tenantIndex
        playback = previous.playback
        playbackTable = previous.playbackTable
        playbackStream = previous.playbackStream
        playbackTenant = previous.playbackTenant
        self.appliedShipments = appliedShipments
        let finished = clock()
        buildDurationNs = finished >= started ? finished - started : 0
    }

    /// The empty snapshot a process starts with.
    public static func empty(weights: ScoringWeights = .defaults) -> RoutingSnapshot {
        RoutingSnapshot(Input(generation: 0, nowMs: 0, weights: weights, staleness: StalenessPolicy(), edges: [], playback: []))
    }

    // MARK: Lookups

    /// Index of the playback record for these bytes, without allocating.
    @inline(__always) public func playbackIndex(_ id: UnsafeRawBufferPointer) -> Int? {
        playbackTable.lookup(id).map(Int.init)
    }

    public func playbackIndex(_ id: String) -> Int? { playbackTable.lookup(id).map(Int.init) }

    /// Stream `stream`'s candidates (views valid while this snapshot is alive).
    @inline(__always) public func candidates(of stream: Int) -> StreamCandidates {
        let (start, count) = streams.withUnsafeBufferPointer { (Int($0[stream].candidateStart), Int($0[stream].candidateCount)) }
        return columns.candidates(start: start, count: count)
    }

    /// When scoring found no winner for `stream`: true if none of its carriers has an input —
    /// the stream is offline (`/play` answers 404 `STREAM_OFFLINE`) — false if carriers with
    /// inputs were all excluded (503 `NO_EDGE_AVAILABLE`). One rule for `/play` and `/debug/score`.
    public func isOffline(stream: Int) -> Bool { !candidates(of: stream).inputs.contains { $0 > 0 } }

    /// Index of the stream named `name`, if an edge reports it.
    public func streamIndex(named name: String) -> Int? {
        guard let slot = streamSlot(named: name), streams[slot].candidateCount > 0 else { return nil }
        return slot
    }

    /// The slot of stream `name`, also when no edge carries it any more (an incremental build
    /// keeps a stream's slot, empty, until the next full build).
    func streamSlot(named name: String) -> Int? {
        if let slot = streamTable.lookup(name) { return Int(slot) }
        return addedStreamSlots.isEmpty ? nil : addedStreamSlots[name].map(Int.init)
    }

    /// Streams some edge carries (a full build's `streams.count`; after incremental builds
    /// `streams` also holds emptied slots).
    public var liveStreamCount: Int { streams.reduce(0) { $0 + ($1.candidateCount > 0 ? 1 : 0) } }

    /// How many times incremental builds compacted the candidate columns (their spare room used
    /// up) since the last full build.
    public var columnCompactions: Int { columns.compactions }

    /// Stream index of a playback record, or nil when no edge reports the stream.
    @inline(__always) public func streamOf(playback index: Int) -> Int? {
        let s = playbackStream[index]
        return s < 0 ? nil : Int(s)
    }

    @inline(__always) public func tenantOf(playback index: Int) -> Int32 { playbackTenant[index] }

    /// The bandwidth term of a row at its `used` (0 when used ≥ limit: the edge is excluded then).
    @inline(__always) static func bandwidthTerm(_ w: ScoringWeights, _ row: EdgeHot) -> UInt32 {
        if row.limit == 0 || row.used >= row.limit { return 0 }
        let v = row.remote ? w.remoteBandwidthScore(available: row.limit &- row.used) : w.bandwidthScore(used: row.used, limit: row.limit)
        return UInt32(truncatingIfNeeded: v)
    }

    /// Sets the parts of edge `e`'s scoring row that place it: unit vector (zero and not valid
    /// without a position), peer flag, tenant index and tag bits (a tag not in `tagBit` takes
    /// the next bit while there are fewer than 64; later ones never match). The one definition
    /// full and incremental builds share.
    static func setPlacement(_ row: inout EdgeHot, of e: borrowing EdgeState, tenant: Int32, tagBit: inout [String: Int]) {
        row.remote = e.isRemote
        if let p = e.position {
            row.ux = p.x; row.uy = p.y; row.uz = p.z; row.geoValid = true
        } else {
            row.ux = 0; row.uy = 0; row.uz = 0; row.geoValid = false
        }
        row.tenant = tenant
        row.tagBits = 0
        for tag in e.tags {
            if let b = tagBit[tag] {
                row.tagBits |= 1 << UInt64(b)
            } else if tagBit.count < RoutingSnapshot.tagBitCount {
                let b = tagBit.count
                tagBit[tag] = b
                row.tagBits |= 1 << UInt64(b)
            } else {
                row.tagBits |= CompiledTagAdjustment.overflowBit  // matched by name (``compile(_:)``)
            }
        }
    }

    /// Index of tenant `t` in `tenants` (added if new); -1 for none (a shared edge or record).
    static func intern(tenant t: String, _ tenants: inout [String], _ tenantIndex: inout [String: Int32]) -> Int32 {
        if t.isEmpty { return -1 }
        if let i = tenantIndex[t] { return i }
        let i = Int32(tenants.count)
        tenants.append(t)
        tenantIndex[t] = i
        return i
    }

    /// Sets the load-dependent parts of edge `e`'s scoring row (cpu + ram term, usage with
    /// `pending`, limit, bandwidth term, viewer-independent exclusion); returns its usage without
    /// pending. The one definition full builds and load refreshes share.
    static func setLoadTerms(_ row: inout EdgeHot, of e: borrowing EdgeState, pending: UInt64, weights w: ScoringWeights,
                             staleness: StalenessPolicy, nowMs: UInt64) -> UInt64 {
        row.cpuRamScore = UInt32(truncatingIfNeeded: w.cpuScore(permille: e.cpuPermille) &+ w.ramScore(used: e.ramUsedBytes, max: e.ramMaxBytes))
        let base = RoutingSnapshot.used(e, pending: 0)
        row.used = base &+ pending
        row.limit = e.isRemote ? ScoringWeights.remoteReferenceBytesPerSec : e.bwLimitBytesPerSec
        row.bwBase = RoutingSnapshot.bandwidthTerm(w, row)
        var ex: Exclusion?
        switch staleness.health(of: e, nowMs: nowMs) {
        case .stale, .evict: ex = .stale
        case .fresh: break
        }
        if e.mode == .maintenance { ex = .maintenance } else if e.mode == .draining, ex == nil { ex = .draining }
        if ex == nil && (e.ramMaxBytes == 0 || (e.bwLimitBytesPerSec == 0 && !e.isRemote)) { ex = .noMetrics }
        if ex == nil && !e.capabilities.contains(.edge) { ex = .capability }
        if !e.pollError.isEmpty { ex = .pollFailed }
        row.exclusion = ex?.rawValue ?? 0
        return base
    }

    /// Whether two arrays are one buffer (nothing was written to either since they were copied).
    static func sameStorage(_ a: [PlaybackRecord], _ b: [PlaybackRecord]) -> Bool {
        a.count == b.count && a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress } }
    }

    /// Expected bandwidth of one more viewer of a stream: Σ up / Σ viewers over its edges,
    /// clamped to 64 KiB/s…1 MiB/s, 128 KiB/s when unknown.
    ///
    /// Worked examples: 30,000,000 B/s over 100 viewers → 300,000; 500,000 B/s over 10 viewers →
    /// 50,000, clamped up to 65,536; 200,000,000 B/s over 100 → 2,000,000, clamped down to
    /// 1,048,576; no viewers (or no bandwidth reported) → 131,072.
    static func perViewerBytesPerSec(up: UInt64, viewers: UInt64) -> UInt64 {
        viewers > 0 && up > 0 ? min(max(up / viewers, 65_536), 1_048_576) : 131_072
    }

    /// What a scoring row counts as used: up + pending for local edges; for
    /// remote ones, reference − min(available, reference) + pending.
    static func used(_ e: EdgeState, pending: UInt64) -> UInt64 {
        if e.isRemote {
            let ref = ScoringWeights.remoteReferenceBytesPerSec
            return (ref - min(e.remoteBwAvailableBytesPerSec, ref)) &+ pending
        }
        return e.upBytesPerSec &+ pending
    }

    /// Binary search over the local node-ID order (no per-snapshot dictionary to
    /// build); remote edges (`node@cluster`) through their own index.
    public func edgeIndex(nodeId: String) -> Int? {
        if !remoteIndex.isEmpty, let r = remoteIndex[nodeId] { return r }
        var lo = 0, hi = localEdgeCount
        while lo < hi {
            let mid = (lo + hi) / 2
            if nodeIds[mid] < nodeId { lo = mid + 1 } else { hi = mid }
        }
        return lo < localEdgeCount && nodeIds[lo] == nodeId ? lo : nil
    }

    /// Whether `pending` more bytes/s (a data loop's own unshipped redirects) would push
    /// edge `i` to its bandwidth limit when the snapshot alone does not: then that loop
    /// scores linearly, so the exclusion is seen and counted (see ``Scorer/top``).
    @inline(__always) public func pendingExhausts(edge i: Int, pending: UInt64) -> Bool {
        let h = hot.baseAddress.unsafelyUnwrapped + i
        return h.pointee.used < h.pointee.limit && h.pointee.used &+ pending >= h.pointee.limit
    }

    /// The static exclusion of edge `i`, if any.
    public func exclusion(edge i: Int) -> Exclusion? { Exclusion(rawValue: hot[i].exclusion) }

    public var routableEdgeCount: Int { (0..<edgeCount).filter { hot[$0].exclusion == 0 }.count }

    /// The resolved URL template of edge `i` for `proto`, if it has one.
    @inline(__always) public func url(edge i: Int, proto: ViewerProtocol) -> URLTemplate? {
        return urlsByEdge.withUnsafeBufferPointer { $0[i][proto] }
    }

    public func geoPoint(edge i: Int) -> GeoPoint? {
        hot[i].geoValid ? edges[i].position : nil
    }

    /// Tags with a bit of their own (in the order edges first carry them); bit 63 marks an edge
    /// with any other tag (``CompiledTagAdjustment/overflowBit``).
    static let tagBitCount = 63

    /// Compiles a tag adjustment against this snapshot's tag bits (tags beyond the first 63 are
    /// matched by name: ``CompiledTagAdjustment``).
    public func compile(_ adjustment: TagAdjustment) -> CompiledTagAdjustment {
        var masks: [(mask: UInt64, inverted: Bool, amount: Int64)] = []
        var overflow: [[String]] = []
        let bitsFull = tagBit.count >= RoutingSnapshot.tagBitCount
        for rule in adjustment.rules {
            var mask: UInt64 = 0
            var byName: [String] = []
            for tag in rule.tags {
                if let b = tagBit[tag] { mask |= 1 << UInt64(b) } else if bitsFull { byName.append(tag) }
            }
            masks.append((mask, rule.inverted, rule.amount))
            overflow.append(byName)
        }
        let any = overflow.contains { !$0.isEmpty }
        return CompiledTagAdjustment(masks: masks, maxPositive: adjustment.maxPositive, overflowTags: any ? overflow : [])
    }
}

