public import FoghornModel

/// What a peer says about one of its edges: enough to score it and to build
/// the viewer's URL (base URL + output templates), nothing else.
public struct PeerEdge: Sendable, Equatable {
    public struct Output: Sendable, Equatable {
        public var name: String
        public var template: String
        public init(name: String, template: String) {
            self.name = name
            self.template = template
        }
    }

    public struct Stream: Sendable, Equatable {
        public var name: String
        public var inputs: UInt32
        public var viewers: UInt32
        public init(name: String, inputs: UInt32, viewers: UInt32) {
            self.name = name
            self.inputs = inputs
            self.viewers = viewers
        }
    }

    public var nodeId: String
    public var baseURL: String
    public var outputs: [Output]
    public var lat: Double?
    public var lon: Double?
    public var cpuPermille: UInt64
    public var ramUsedBytes: UInt64
    public var ramMaxBytes: UInt64
    /// Limit − (up + pending), never negative.
    public var bwAvailableBytesPerSec: UInt64
    public var streams: [Stream]

    public init(nodeId: String, baseURL: String = "", outputs: [Output] = [], lat: Double? = nil, lon: Double? = nil,
                cpuPermille: UInt64 = 0, ramUsedBytes: UInt64 = 0, ramMaxBytes: UInt64 = 0, bwAvailableBytesPerSec: UInt64 = 0,
                streams: [Stream] = []) {
        self.nodeId = nodeId
        self.baseURL = baseURL
        self.outputs = outputs
        self.lat = lat
        self.lon = lon
        self.cpuPermille = cpuPermille
        self.ramUsedBytes = ramUsedBytes
        self.ramMaxBytes = ramMaxBytes
        self.bwAvailableBytesPerSec = bwAvailableBytesPerSec
        self.streams = streams
    }

    /// A local edge as peers see it (stream names from `names`); `only` keeps just those streams (nil: all).
    public init(_ e: EdgeState, only: Set<String>? = nil, names: StreamNameTable) {
        nodeId = e.nodeId
        baseURL = e.baseURL
        outputs = e.outputs.map { Output(name: $0.name, template: $0.template) }
        if e.hasValidGeo {
            lat = e.lat
            lon = e.lon
        }
        cpuPermille = e.cpuPermille
        ramUsedBytes = e.ramUsedBytes
        ramMaxBytes = e.ramMaxBytes
        let used = e.upBytesPerSec &+ e.pendingBytesPerSec
        bwAvailableBytesPerSec = e.bwLimitBytesPerSec > used ? e.bwLimitBytesPerSec - used : 0
        streams = e.streamList(in: names).filter { only?.contains($0.name) ?? true }
            .map { Stream(name: $0.0, inputs: $0.1.inputs, viewers: $0.1.viewers) }  // already sorted by name
    }

    /// The edge as a remote scoring candidate of cluster `cluster` (see ``EdgeState/remoteCluster``),
    /// its streams interned in `names`.
    public func edgeState(cluster: String, names: StreamNameTable) -> EdgeState {
        var e = EdgeState(nodeId: PeerEdge.qualifiedId(nodeId, cluster: cluster))
        e.remoteCluster = cluster
        e.remoteNodeId = nodeId
        e.baseURL = baseURL
        e.outputs = outputs.map { (name: $0.name, template: $0.template) }
        if let lat, let lon {
            e.lat = lat
            e.lon = lon
        }
        e.cpuPermille = cpuPermille
        e.ramUsedBytes = ramUsedBytes
        e.ramMaxBytes = ramMaxBytes
        e.remoteBwAvailableBytesPerSec = bwAvailableBytesPerSec
        e.isStatic = true  // freshness of remote data is the peer cache's business
        var streams: [String: EdgeStreamStats] = [:]
        for s in self.streams { streams[s.name] = EdgeStreamStats(inputs: s.inputs, viewers: s.viewers) }
        e.setStreams(streams, in: names)
        e.resolveURLs()
        return e
    }

    /// How a remote edge is named in snapshots, `/debug` and `X-Foghorn-Edge`: `<node>@<cluster>`.
    public static func qualifiedId(_ nodeId: String, cluster: String) -> String { nodeId + "@" + cluster }

    public func carries(_ stream: String) -> Bool { streams.contains { $0.name == stream && $0.inputs > 0 } }
}
