/// An immutable view of all routing state, built by the control loop (``SnapshotBuilder``) and
/// shared read-only with every data loop. It is four tables — ``EdgeTable``, ``StreamTable``,
/// ``PlaybackTable``, ``TenantTable`` — and the index bounds over them: each kind of build
/// (full, load refresh, incremental, renumbering, playback patch, reweighting; one file each)
/// makes the tables that change and shares the rest.
public final class RoutingSnapshot: @unchecked Sendable {
    public let generation: UInt64
    public let builtAtMs: UInt64
    public let buildDurationNs: UInt64
    public let weights: ScoringWeights
    public let staleness: StalenessPolicy
    /// Per data loop: the last pending-viewer shipment folded into this snapshot.
    public let appliedShipments: [UInt64]
    /// Where viewer positions come from (nil: no geo term).
    public let geo: (any GeoLookup)?
    /// The table the snapshot's stream IDs are interned in.
    public let names: StreamNameTable

    public let edgeTable: EdgeTable
    public let streamTable: StreamTable
    public let playbackTable: PlaybackTable
    public let tenantTable: TenantTable
    /// The index's per-snapshot bounds (recomputed whenever rows change).
    let bounds: IndexBounds
    /// `edgeTable.rows.buffer`, held here so the scorer reaches a row with one load.
    let hot: UnsafeMutableBufferPointer<EdgeHot>

    /// The one place a snapshot is assembled; every kind of build ends here.
    init(generation: UInt64, builtAtMs: UInt64, weights: ScoringWeights, staleness: StalenessPolicy, appliedShipments: [UInt64],
         geo: (any GeoLookup)?, names: StreamNameTable, edges: EdgeTable, streams: StreamTable, playback: PlaybackTable,
         tenants: TenantTable, bounds: IndexBounds, startedNs: UInt64, clock: () -> UInt64) {
        self.generation = generation
        self.builtAtMs = builtAtMs
        self.weights = weights
        self.staleness = staleness
        self.appliedShipments = appliedShipments
        self.geo = geo
        self.names = names
        edgeTable = edges
        streamTable = streams
        playbackTable = playback
        tenantTable = tenants
        self.bounds = bounds
        hot = edges.rows.buffer
        let finished = clock()
        buildDurationNs = finished >= startedNs ? finished - startedNs : 0
    }

    /// `previous` with some tables replaced: the rest (and weights, staleness, geo) shared.
    convenience init(_ previous: RoutingSnapshot, generation: UInt64, nowMs: UInt64, appliedShipments: [UInt64], weights: ScoringWeights? = nil,
                     geo: (any GeoLookup)?? = nil, edges: EdgeTable? = nil, streams: StreamTable? = nil, playback: PlaybackTable? = nil,
                     tenants: TenantTable? = nil, bounds: IndexBounds? = nil, startedNs: UInt64, clock: () -> UInt64) {
        self.init(generation: generation, builtAtMs: nowMs, weights: weights ?? previous.weights, staleness: previous.staleness,
                  appliedShipments: appliedShipments, geo: geo ?? previous.geo, names: previous.names, edges: edges ?? previous.edgeTable,
                  streams: streams ?? previous.streamTable, playback: playback ?? previous.playbackTable, tenants: tenants ?? previous.tenantTable,
                  bounds: bounds ?? previous.bounds, startedNs: startedNs, clock: clock)
    }

    /// The empty snapshot a process starts with.
    public static func empty(weights: ScoringWeights = .defaults, names: StreamNameTable) -> RoutingSnapshot {
        RoutingSnapshot(Input(generation: 0, nowMs: 0, weights: weights, staleness: StalenessPolicy(), edges: [], playback: [], names: names))
    }

    // MARK: The tables' columns by their old names (the scorer and handlers read these)

    @inlinable public var edges: SnapshotEdges { edgeTable.states }
    @inlinable public var pending: [UInt64] { edgeTable.pending }
    @inlinable public var nodeIds: [String] { edgeTable.nodeIds }
    @inlinable public var nodeHash: [UInt64] { edgeTable.nodeHash }
    @inlinable public var edgeCount: Int { edgeTable.nodeIds.count }
    @inlinable public var localEdgeCount: Int { edgeTable.localCount }
    @inlinable public var structureToken: UInt64 { edgeTable.structureToken }
    @inlinable public var streams: [StreamEntry] { streamTable.entries }
    @inlinable public var perViewerByStream: [UInt64] { streamTable.perViewer }
    @inlinable public var index: CandidateIndex { streamTable.index }
    @inlinable public var playback: [PlaybackRecord] { playbackTable.records }
    @inlinable public var tenants: [String] { tenantTable.names }

    // MARK: Lookups

    /// Index of the playback record for these bytes, without allocating.
    @inline(__always) public func playbackIndex(_ id: UnsafeRawBufferPointer) -> Int? {
        playbackTable.ids.lookup(id).map(Int.init)
    }

    public func playbackIndex(_ id: String) -> Int? { playbackTable.ids.lookup(id).map(Int.init) }

    /// Stream `stream`'s candidates (views valid while this snapshot is alive).
    @inline(__always) public func candidates(of stream: Int) -> StreamCandidates { streamTable.candidates(of: stream) }

    /// The name of the stream in slot `stream`.
    public func streamName(_ stream: Int) -> String { names.name(streamTable.entries[stream].streamId) }

    /// When scoring found no winner for `stream`: true if none of its carriers has an input —
    /// the stream is offline (`/play` answers 404 `STREAM_OFFLINE`) — false if carriers with
    /// inputs were all excluded (503 `NO_EDGE_AVAILABLE`). One rule for `/play` and `/debug/score`.
    public func isOffline(stream: Int) -> Bool { !candidates(of: stream).inputs.contains { $0 > 0 } }

    /// Index of the stream named `name`, if an edge reports it.
    public func streamIndex(named name: String) -> Int? {
        guard let slot = streamTable.slot(named: name), streams[slot].candidateCount > 0 else { return nil }
        return slot
    }

    /// ``streamIndex(named:)`` for the name's bytes (the request path: no allocation).
    public func streamIndex(named name: UnsafeRawBufferPointer) -> Int? {
        guard let slot = streamTable.slot(named: name), streams[slot].candidateCount > 0 else { return nil }
        return slot
    }

    /// Streams some edge carries (a full build's `streams.count`; after incremental builds
    /// `streams` also holds emptied slots).
    public var liveStreamCount: Int { streams.reduce(0) { $0 + ($1.candidateCount > 0 ? 1 : 0) } }

    /// How many times incremental builds compacted the candidate columns (their spare room used
    /// up) since the last full build.
    public var columnCompactions: Int { streamTable.columns.compactions }

    /// Stream index of a playback record, or nil when no edge reports the stream.
    @inline(__always) public func streamOf(playback index: Int) -> Int? {
        let s = playbackTable.stream[index]
        return s < 0 ? nil : Int(s)
    }

    @inline(__always) public func tenantOf(playback index: Int) -> Int32 { playbackTable.tenant[index] }

    /// The edge with this node ID (`node@cluster` for a peer's), if the snapshot has it.
    public func edgeIndex(nodeId: String) -> Int? { edgeTable.index(nodeId: nodeId) }

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
        edgeTable.urls.withUnsafeBufferPointer { $0[i][proto] }
    }

    public func geoPoint(edge i: Int) -> GeoPoint? {
        hot[i].geoValid ? edges[i].position : nil
    }

    /// Compiles a tag adjustment against this snapshot's tag bits (tags beyond the first 63 are
    /// matched by name: ``CompiledTagAdjustment``).
    public func compile(_ adjustment: TagAdjustment) -> CompiledTagAdjustment {
        var masks: [(mask: UInt64, inverted: Bool, amount: Int64)] = []
        var overflow: [[String]] = []
        let tagBit = edgeTable.tagBit
        let bitsFull = tagBit.count >= EdgeHot.tagBitCount
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
