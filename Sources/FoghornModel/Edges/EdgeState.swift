#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-stream figures an edge reports. 16 bytes (a million of them at 10,000 edges × 100
/// streams): the replicated flag shares a word with the input count.
public struct EdgeStreamStats: Sendable, Equatable, BitwiseCopyable {
    public var upBytesPerSec: UInt64
    public var viewers: UInt32
    /// Inputs in the low 31 bits, `replicated` in the top bit.
    private var inputsAndReplicated: UInt32

    /// Sources of the stream on this edge (capped at 2³¹ − 1).
    public var inputs: UInt32 {
        get { inputsAndReplicated & 0x7FFF_FFFF }
        set { inputsAndReplicated = (inputsAndReplicated & 0x8000_0000) | min(newValue, 0x7FFF_FFFF) }
    }

    public var replicated: Bool {
        get { inputsAndReplicated & 0x8000_0000 != 0 }
        set { inputsAndReplicated = (inputsAndReplicated & 0x7FFF_FFFF) | (newValue ? 0x8000_0000 : 0) }
    }

    public init(inputs: UInt32 = 0, viewers: UInt32 = 0, upBytesPerSec: UInt64 = 0, replicated: Bool = false) {
        self.upBytesPerSec = upBytesPerSec
        self.viewers = viewers
        inputsAndReplicated = min(inputs, 0x7FFF_FFFF) | (replicated ? 0x8000_0000 : 0)
    }
}

/// Everything the control loop knows about one edge. Owned by the control
/// loop; data loops only ever see it through a ``RoutingSnapshot``.
public struct EdgeState: Sendable, Equatable {
    public var nodeId: String { didSet { nodeIdHash = EdgeState.hash(nodeId) } }
    /// FNV-1a of the node ID (rendezvous hashing), kept with the ID.
    public private(set) var nodeIdHash: UInt64
    /// Non-empty: the edge serves only this tenant's streams.
    public var tenant: String = ""
    public var publicIP: String = ""
    public var domain: String = ""
    public var baseURL: String = ""
    public var lat: Double = .nan { didSet { updatePosition() } }
    public var lon: Double = .nan { didSet { updatePosition() } }
    /// Unit vector of (lat, lon) when valid, computed when they change.
    public private(set) var position: GeoPoint?
    public var location: String = ""
    public var cpuPermille: UInt64 = 0
    public var ramUsedBytes: UInt64 = 0
    public var ramMaxBytes: UInt64 = 0
    public var upBytesPerSec: UInt64 = 0
    public var downBytesPerSec: UInt64 = 0
    public var bwLimitBytesPerSec: UInt64 = 0
    public var tags: [String] = []
    public var capabilities: EdgeCapabilities = [.edge]
    /// Output name → URL template (`HOST`, `$` placeholders), in report order.
    public var outputs: [(name: String, template: String)] = []
    /// The streams this edge carries, by name (IDs interned in `names`). Stored as two parallel
    /// arrays, ``streamIds`` (ascending) and ``streamStats``: a dictionary per edge cost ≈ 100
    /// bytes per entry and names 16 bytes each, at 10,000 edges × 100 streams 100 MB and 16 MB.
    /// This builds a dictionary — for APIs and tests; hot code uses the arrays or ``stats(forId:)``.
    public func streams(in names: StreamNameTable) -> [String: EdgeStreamStats] {
        var d: [String: EdgeStreamStats] = [:]
        d.reserveCapacity(streamIds.count)
        for k in 0..<streamIds.count { d[names.name(streamIds[k])] = streamStats[k] }
        return d
    }

    /// Sets the streams by name, interning them in `names`.
    public mutating func setStreams(_ streams: [String: EdgeStreamStats], in names: StreamNameTable) {
        setStreams(ids: names.ids(for: Array(streams.keys)), stats: Array(streams.values))
    }

    /// Sets the streams from interned IDs and their figures (parallel, any order; of a repeated
    /// ID the last figures count). Reports and config files come through here: their names
    /// interned under one lock (``StreamNameTable/ids(for:)``), no dictionary per edge.
    public mutating func setStreams(ids: [Int32], stats: [EdgeStreamStats]) {
        precondition(ids.count == stats.count, "one figure per stream")
        var ascending = true
        for k in ids.indices.dropFirst() where ids[k - 1] >= ids[k] { ascending = false; break }
        if ascending {
            streamIds = ids
            streamStats = stats
            return
        }
        // Stable by ID, then the last of each run of equal IDs.
        let order = ids.indices.sorted { ids[$0] < ids[$1] || (ids[$0] == ids[$1] && $0 < $1) }
        var newIds: [Int32] = [], newStats: [EdgeStreamStats] = []
        newIds.reserveCapacity(ids.count)
        newStats.reserveCapacity(ids.count)
        for k in order {
            if let last = newIds.last, last == ids[k] {
                newStats[newStats.count - 1] = stats[k]
            } else {
                newIds.append(ids[k])
                newStats.append(stats[k])
            }
        }
        streamIds = newIds
        streamStats = newStats
    }

    /// Interned stream IDs, ascending; ``streamStats`` holds each one's figures at the same index.
    public private(set) var streamIds: [Int32] = []
    public private(set) var streamStats: [EdgeStreamStats] = []

    public var streamCount: Int { streamIds.count }

    /// Each stream's name (from `names`, without a lock) and figures, in ID order.
    public func forEachStream(in names: StreamNameTable, _ body: (_ name: String, _ stats: EdgeStreamStats) throws -> Void) rethrows {
        for k in 0..<streamIds.count { try body(names.name(streamIds[k]), streamStats[k]) }
    }

    /// Stream names with their figures, sorted by name (for API answers and peer summaries).
    public func streamList(in names: StreamNameTable) -> [(name: String, stats: EdgeStreamStats)] {
        var list: [(name: String, stats: EdgeStreamStats)] = []
        list.reserveCapacity(streamIds.count)
        forEachStream(in: names) { list.append(($0, $1)) }
        return list.sorted { $0.name < $1.name }
    }

    /// The figures of `name`, if the edge carries it (takes the name table's lock: not for data
    /// loops; for many edges, resolve the ID once and use ``stats(forId:)``).
    public func stats(for name: String, in names: StreamNameTable) -> EdgeStreamStats? {
        guard let id = names.existingId(for: name) else { return nil }
        return stats(forId: id)
    }

    /// The figures of interned stream `id` (binary search), if the edge carries it.
    public func stats(forId id: Int32) -> EdgeStreamStats? {
        var lo = 0, hi = streamIds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if streamIds[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < streamIds.count && streamIds[lo] == id ? streamStats[lo] : nil
    }
    public var mode: EdgeMode = .normal
    /// Declared in the config file: never stale, never evicted.
    public var isStatic = false
    /// Non-empty for an edge of a peered cluster (known through a PeerChannel): scored with
    /// the remote formula (bandwidth against a 10 Gbps reference, no stream bonus, minus the
    /// cross-cluster penalty). Its `nodeId` is `<node>@<cluster>`.
    public var remoteCluster = ""
    /// The remote edge's own node ID (in its cluster).
    public var remoteNodeId = ""
    /// What the peer says is free on a remote edge (bytes/s).
    public var remoteBwAvailableBytesPerSec: UInt64 = 0
    public var isRemote: Bool { !remoteCluster.isEmpty }
    /// Monotonic milliseconds of the last report (or enrollment); nil = never reported.
    public var lastReportMs: UInt64?
    public var enrolledAtMs: UInt64 = 0
    /// Bytes/s of redirects sent since the last report (anti-herd), folded from all
    /// loops; at most ``pendingWindowSeconds`` old (an edge that stops reporting,
    /// or a static one, must not fill up forever).
    public private(set) var pendingBytesPerSec: UInt64 = 0
    /// One bucket per second of the window; the newest is `pendingBuckets[pendingHead]`.
    /// Inline (no heap array): folding redirects never copies a buffer shared with a snapshot.
    private var pendingBuckets = InlineArray<10, UInt64>(repeating: 0)
    private var pendingHead = 0
    /// Pending bandwidth older than this is forgotten even without a report
    /// (the sidecar reports every 10 s; the reference abandons pending viewers after 30 s).
    public static let pendingWindowSeconds = 10

    /// Adds redirected viewers' expected bandwidth (current second's bucket).
    public mutating func addPending(_ bytesPerSec: UInt64) {
        pendingBuckets[pendingHead] &+= bytesPerSec
        pendingBytesPerSec &+= bytesPerSec
    }

    /// Called once a second: forgets the oldest second. Returns whether anything changed.
    public mutating func agePending() -> Bool {
        guard pendingBytesPerSec > 0 else { return false }
        pendingHead = (pendingHead + 1) % EdgeState.pendingWindowSeconds
        let expired = pendingBuckets[pendingHead]
        pendingBuckets[pendingHead] = 0
        pendingBytesPerSec &-= expired
        return expired > 0
    }

    /// A report carries the real load: pending is folded into it.
    public mutating func clearPending() {
        pendingBytesPerSec = 0
        for i in 0..<EdgeState.pendingWindowSeconds { pendingBuckets[i] = 0 }
    }
    public var reports: UInt64 = 0
    /// Non-empty when the edge's source (a polled MistServer node) failed: the reason. Excluded meanwhile.
    public var pollError = ""
    /// MistServer `conf_streams`: when non-empty, only these streams (or `name+…` children) may be served.
    public var configStreams: [String] = []
    /// URL template per ``ViewerProtocol`` (by raw value), resolved from `outputs` and
    /// `base_url` whenever either changes — not on every snapshot rebuild.
    public private(set) var resolvedURLs = URLTemplateTable()
    /// Host of `base_url` (node ID when there is none), computed with ``resolvedURLs``.
    public private(set) var publicHost = ""
    /// Recomputes ``resolvedURLs``: the edge's own output for a protocol first
    /// (names compared case-insensitively), else the template derived from `base_url`.
    public mutating func resolveURLs() {
        let base = URLParts.parse(baseURL)
        publicHost = base?.host ?? nodeId
        let lowered = outputs.map { (name: $0.name.lowercased(), template: $0.template) }
        var result: [URLTemplate?] = []
        result.reserveCapacity(ViewerProtocol.allCases.count)
        for proto in ViewerProtocol.allCases {
            var resolved: URLTemplate?
            for name in proto.outputNames {
                if let out = lowered.first(where: { $0.name == name }), let t = URLTemplate.resolve(out.template, baseURL: base) {
                    resolved = t
                    break
                }
            }
            if resolved == nil, let relative = proto.derivedTemplate, base != nil {
                resolved = URLTemplate.derived(relative, baseURL: baseURL)
            }
            result.append(resolved)
        }
        resolvedURLs = URLTemplateTable(result)
    }

    public init(nodeId: String) {
        self.nodeId = nodeId
        nodeIdHash = EdgeState.hash(nodeId)
    }

    static func hash(_ id: String) -> UInt64 {
        var copy = id
        return copy.withUTF8 { ByteKeyTable.hash(UnsafeRawBufferPointer($0)) }
    }

    private mutating func updatePosition() {
        position = GeoPoint.isValid(lat: lat, lon: lon) ? GeoPoint(lat: lat, lon: lon) : nil
    }

    public static func == (a: EdgeState, b: EdgeState) -> Bool {
        a.hasSameDefinition(as: b) && a.pendingBytesPerSec == b.pendingBytesPerSec
    }

    /// Everything `==` compares but the pending bandwidth (the control plane's own estimate,
    /// not something a report or the config file states): a reload keeps a static edge whose
    /// file entry has the same definition as the running one. A config file's edge fields not
    /// compared here (public IP, domain, down bandwidth…) the reload compares itself.
    public func hasSameDefinition(as b: borrowing EdgeState) -> Bool {
        nodeId == b.nodeId && tenant == b.tenant && baseURL == b.baseURL && cpuPermille == b.cpuPermille
            && ramUsedBytes == b.ramUsedBytes && ramMaxBytes == b.ramMaxBytes && upBytesPerSec == b.upBytesPerSec
            && bwLimitBytesPerSec == b.bwLimitBytesPerSec && tags == b.tags && capabilities == b.capabilities
            && outputs.elementsEqual(b.outputs, by: { $0.name == $1.name && $0.template == $1.template })
            && EdgeState.sameBytes(streamIds, b.streamIds) && EdgeState.sameBytes(streamStats, b.streamStats) && mode == b.mode
            && lastReportMs == b.lastReportMs
            && (lat == b.lat || (lat.isNaN && b.lat.isNaN)) && (lon == b.lon || (lon.isNaN && b.lon.isNaN))
            && location == b.location && remoteCluster == b.remoteCluster && remoteBwAvailableBytesPerSec == b.remoteBwAvailableBytesPerSec
    }

    /// Arrays of padding-free plain values compared as memory (`EdgeStreamStats` is 8 + 4 + 4
    /// bytes): a reload compares 10,000 edges × 100 streams, element-wise ≈ 4 ms, this ≈ 1.
    @inline(__always) static func sameBytes<T: BitwiseCopyable>(_ a: [T], _ b: [T]) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }

    public var hasValidGeo: Bool { GeoPoint.isValid(lat: lat, lon: lon) }
}

