/// One stream as the snapshot sees it: the edges carrying it (ascending edge
/// index, so ties break by node ID) and what they report about it.
public struct StreamEntry: Sendable {
    public var name: String
    public var edges: [Int32]
    public var inputs: [UInt32]
    public var viewers: [UInt32]
    /// Expected bandwidth of one more viewer: Σ up / Σ viewers over edges,
    /// clamped to 64 KiB/s…1 MiB/s, 128 KiB/s when unknown.
    public var perViewerBytesPerSec: UInt64
    /// FNV-1a of the name (for stickiness).
    public var nameHash: UInt64
    public var totalViewers: UInt64
}

/// An immutable view of all routing state, built by the control loop and
/// shared read-only with every data loop. Edges are stored as arrays by
/// field (struct of arrays) in node-ID order, so a lower index means a lower
/// node ID and the scoring loop touches only the fields it needs.
public final class RoutingSnapshot: Sendable {
    public let generation: UInt64
    public let builtAtMs: UInt64
    public let buildDurationNs: UInt64
    public let weights: ScoringWeights
    public let staleness: StalenessPolicy

    // Edges, by index.
    public let edges: [EdgeState]
    public let nodeIds: [String]
    public let nodeHash: [UInt64]
    let ux: [Double], uy: [Double], uz: [Double]
    let geoValid: [Bool]
    public let cpuRam: [UInt64]
    /// Up bandwidth plus pending (anti-herd) bytes/s known to the control loop.
    public let usedBandwidth: [UInt64]
    public let bwLimit: [UInt64]
    /// 0, or an ``Exclusion`` raw value that applies whatever the stream.
    public let exclusion: [UInt8]
    /// Index into `tenants`, or -1 for a shared edge.
    let edgeTenant: [Int32]
    let tagBits: [UInt64]
    /// `edges.count × ViewerProtocol.allCases.count` resolved URL templates.
    let urls: [URLTemplate?]
    let edgeIndexById: [String: Int32]

    // Streams and playback.
    public let streams: [StreamEntry]
    let streamIndex: [String: Int32]
    public let playback: [PlaybackRecord]
    let playbackTable: ByteKeyTable
    let playbackStream: [Int32]
    let playbackTenant: [Int32]
    public let tenants: [String]
    let tenantIndex: [String: Int32]
    /// Tag name → bit (the first 64 distinct tags; others never match).
    let tagBit: [String: Int]
    /// Per data loop: the last pending-viewer shipment folded into this snapshot.
    public let appliedShipments: [UInt64]
    /// Where viewer positions come from (nil: no geo term).
    public let geo: (any GeoLookup)?

    public var edgeCount: Int { nodeIds.count }

    public struct Input {
        public var generation: UInt64
        public var nowMs: UInt64
        public var weights: ScoringWeights
        public var staleness: StalenessPolicy
        public var edges: [EdgeState]
        public var playback: [PlaybackRecord]
        public var appliedShipments: [UInt64]
        public var geo: (any GeoLookup)?
        public var clock: () -> UInt64

        public init(
            generation: UInt64, nowMs: UInt64, weights: ScoringWeights, staleness: StalenessPolicy,
            edges: [EdgeState], playback: [PlaybackRecord], appliedShipments: [UInt64] = [], geo: (any GeoLookup)? = nil,
            clock: @escaping () -> UInt64 = { 0 }
        ) {
            self.geo = geo
            self.generation = generation
            self.nowMs = nowMs
            self.weights = weights
            self.staleness = staleness
            self.edges = edges
            self.playback = playback
            self.appliedShipments = appliedShipments
            self.clock = clock
        }
    }

    public static let protocolCount = ViewerProtocol.allCases.count

    public init(_ input: Input) {
        let started = input.clock()
        let sorted = input.edges.sorted { $0.nodeId < $1.nodeId }
        let n = sorted.count
        let w = input.weights
        generation = input.generation
        builtAtMs = input.nowMs
        weights = w
        staleness = input.staleness
        edges = sorted
        appliedShipments = input.appliedShipments
        geo = input.geo

        var tenants: [String] = []
        var tenantIndex: [String: Int32] = [:]
        func internTenant(_ t: String) -> Int32 {
            if t.isEmpty { return -1 }
            if let i = tenantIndex[t] { return i }
            let i = Int32(tenants.count)
            tenants.append(t)
            tenantIndex[t] = i
            return i
        }
        var tagBit: [String: Int] = [:]

        var nodeIds = [String](), nodeHash = [UInt64](), ux = [Double](), uy = [Double](), uz = [Double]()
        var geoValid = [Bool](), cpuRam = [UInt64](), used = [UInt64](), limit = [UInt64](), exclusion = [UInt8]()
        var edgeTenant = [Int32](), tagBits = [UInt64]()
        var urls = [URLTemplate?]()
        var byId: [String: Int32] = [:]
        nodeIds.reserveCapacity(n); nodeHash.reserveCapacity(n); ux.reserveCapacity(n); uy.reserveCapacity(n)
        uz.reserveCapacity(n); geoValid.reserveCapacity(n); cpuRam.reserveCapacity(n); used.reserveCapacity(n)
        limit.reserveCapacity(n); exclusion.reserveCapacity(n); edgeTenant.reserveCapacity(n); tagBits.reserveCapacity(n)
        urls.reserveCapacity(n * RoutingSnapshot.protocolCount)
        var streamEdges: [String: (edges: [Int32], inputs: [UInt32], viewers: [UInt32], up: UInt64, totalViewers: UInt64)] = [:]
        for (index, e) in sorted.enumerated() {
            nodeIds.append(e.nodeId)
            byId[e.nodeId] = Int32(index)
            var idCopy = e.nodeId
            nodeHash.append(idCopy.withUTF8 { ByteKeyTable.hash(UnsafeRawBufferPointer($0)) })
            if e.hasValidGeo {
                let p = GeoPoint(lat: e.lat, lon: e.lon)
                ux.append(p.x); uy.append(p.y); uz.append(p.z); geoValid.append(true)
            } else {
                ux.append(0); uy.append(0); uz.append(0); geoValid.append(false)
            }
            cpuRam.append(w.cpuScore(permille: e.cpuPermille) &+ w.ramScore(used: e.ramUsedBytes, max: e.ramMaxBytes))
            used.append(e.upBytesPerSec &+ e.pendingBytesPerSec)
            limit.append(e.bwLimitBytesPerSec)
            var ex: Exclusion?
            switch input.staleness.health(of: e, nowMs: input.nowMs) {
            case .stale, .evict: ex = .stale
            case .fresh: break
            }
            if e.mode == .maintenance { ex = .maintenance } else if e.mode == .draining, ex == nil { ex = .draining }
            if ex == nil && (e.ramMaxBytes == 0 || e.bwLimitBytesPerSec == 0) { ex = .noMetrics }
            if ex == nil && !e.capabilities.contains(.edge) { ex = .capability }
            exclusion.append(ex?.rawValue ?? 0)
            edgeTenant.append(internTenant(e.tenant))
            var bits: UInt64 = 0
            for tag in e.tags {
                if let b = tagBit[tag] { bits |= 1 << UInt64(b) } else if tagBit.count < 64 {
                    tagBit[tag] = tagBit.count
                    bits |= 1 << UInt64(tagBit[tag]!)
                }
            }
            tagBits.append(bits)
            // URLs per protocol: the edge's own outputs first, then derived from base_url.
            let base = URLParts.parse(e.baseURL)
            for proto in ViewerProtocol.allCases {
                var resolved: URLTemplate?
                for name in proto.outputNames {
                    if let out = e.outputs.first(where: { $0.name.lowercased() == name }) {
                        resolved = URLTemplate.resolve(out.template, baseURL: base)
                        if resolved != nil { break }
                    }
                }
                if resolved == nil, let relative = proto.derivedTemplate, !e.baseURL.isEmpty {
                    resolved = URLTemplate.derived(relative, baseURL: e.baseURL)
                }
                urls.append(resolved)
            }
            for (name, stats) in e.streams {
                streamEdges[name, default: ([], [], [], 0, 0)].edges.append(Int32(index))
                streamEdges[name]!.inputs.append(stats.inputs)
                streamEdges[name]!.viewers.append(stats.viewers)
                streamEdges[name]!.up &+= stats.upBytesPerSec
                streamEdges[name]!.totalViewers &+= UInt64(stats.viewers)
            }
        }
        var streams: [StreamEntry] = []
        var streamIndex: [String: Int32] = [:]
        streams.reserveCapacity(streamEdges.count)
        for (name, s) in streamEdges.sorted(by: { $0.key < $1.key }) {
            var perViewer: UInt64 = 131_072
            if s.totalViewers > 0 && s.up > 0 { perViewer = min(max(s.up / s.totalViewers, 65_536), 1_048_576) }
            var nameCopy = name
            let h = nameCopy.withUTF8 { ByteKeyTable.hash(UnsafeRawBufferPointer($0)) }
            streamIndex[name] = Int32(streams.count)
            streams.append(StreamEntry(
                name: name, edges: s.edges, inputs: s.inputs, viewers: s.viewers,
                perViewerBytesPerSec: perViewer, nameHash: h, totalViewers: s.totalViewers))
        }
        var playbackStream: [Int32] = []
        var playbackTenant: [Int32] = []
        var entries: [(key: [UInt8], value: Int32)] = []
        for (i, record) in input.playback.enumerated() {
            playbackStream.append(streamIndex[record.stream] ?? -1)
            playbackTenant.append(internTenant(record.tenant))
            entries.append((Array(record.playbackId.utf8), Int32(i)))
        }
        self.nodeIds = nodeIds
        self.nodeHash = nodeHash
        self.ux = ux
        self.uy = uy
        self.uz = uz
        self.geoValid = geoValid
        self.cpuRam = cpuRam
        self.usedBandwidth = used
        self.bwLimit = limit
        self.exclusion = exclusion
        self.edgeTenant = edgeTenant
        self.tagBits = tagBits
        self.urls = urls
        self.edgeIndexById = byId
        self.streams = streams
        self.streamIndex = streamIndex
        self.playback = input.playback
        self.playbackTable = ByteKeyTable(entries)
        self.playbackStream = playbackStream
        self.playbackTenant = playbackTenant
        self.tenants = tenants
        self.tenantIndex = tenantIndex
        self.tagBit = tagBit
        let finished = input.clock()
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

    /// Stream index of a playback record, or nil when no edge reports the stream.
    @inline(__always) public func streamOf(playback index: Int) -> Int? {
        let s = playbackStream[index]
        return s < 0 ? nil : Int(s)
    }

    @inline(__always) public func tenantOf(playback index: Int) -> Int32 { playbackTenant[index] }

    public func edgeIndex(nodeId: String) -> Int? { edgeIndexById[nodeId].map(Int.init) }

    /// The resolved URL template of edge `i` for `proto`, if it has one.
    @inline(__always) public func url(edge i: Int, proto: ViewerProtocol) -> URLTemplate? {
        urls[i &* RoutingSnapshot.protocolCount &+ Int(proto.rawValue)]
    }

    public func geoPoint(edge i: Int) -> GeoPoint? {
        geoValid[i] ? GeoPoint(lat: edges[i].lat, lon: edges[i].lon) : nil
    }

    /// Compiles a tag adjustment against this snapshot's tag bits.
    public func compile(_ adjustment: TagAdjustment) -> CompiledTagAdjustment {
        var masks: [(mask: UInt64, inverted: Bool, amount: Int64)] = []
        for rule in adjustment.rules {
            var mask: UInt64 = 0
            for tag in rule.tags { if let b = tagBit[tag] { mask |= 1 << UInt64(b) } }
            masks.append((mask, rule.inverted, rule.amount))
        }
        return CompiledTagAdjustment(masks: masks, maxPositive: adjustment.maxPositive)
    }
}
