public import FoghornHTTP
public import FoghornHTTPCore
public import FoghornModel
import FoghornJSON
#if canImport(Glibc)
import Glibc
#endif

/// One data loop's viewer-routing state: its cached snapshot, its geo cache,
/// its own pending-viewer ledger and counters. Used only on that loop.
public final class ViewerLoop: @unchecked Sendable {
    public let index: Int
    /// The endpoint's settings; a reload replaces them (on this loop) with the live keys'
    /// new values (`sticky_band`, `redirect_status`, `url_stream_name`).
    public var settings: ViewerSettings
    /// Where JSON answers are written before they are copied into the response (reused: no
    /// allocation per answer once it has grown to their size).
    let jsonScratch = ByteBuffer(capacity: 8192)
    /// `settings.allowsAnyOrigin`, decided once (it scans the allow-list's strings).
    let allowsAnyOrigin: Bool
    let reader: SnapshotReader
    let geoCache = GeoCache()
    /// Outcomes (by ``RoutingOutcome``) then exclusions (by ``Exclusion`` raw value).
    public let counters = RelaxedCounters(count: RoutingOutcome.allCases.count + 16)
    /// Single-address forwarding headers sent twice by a trusted proxy (ignored): 0 `CF-Connecting-IP`, 1 `X-Real-IP`.
    public let forwardingDuplicates = RelaxedCounters(count: 2)
    let url = ByteBuffer(capacity: 1024)
    private var requestCounter: UInt64 = 0
    /// The decision of the request being answered (for the access log): node index and score.
    public var lastDecision: (edge: Int, score: UInt64)?
    /// The error code of the last error answer not yet logged (the access log reads and clears it).
    public var lastErrorCode: String?
    /// The request ID of the request being answered, when generated here (0 when echoed).
    public var lastGeneratedRequestId: (UInt64, UInt64) = (0, 0)

    /// Viewers parked on this loop at most (resolver and peers together).
    public static let maxParked = 4096
    var parkedCount: Int { resolverLot.count + peerLot.count }

    // Upstream resolver (when configured): viewers parked by playback ID.
    /// Asks the control loop to resolve an ID; it calls ``resolved(_:_:)`` back on this loop.
    public var requestResolution: (@Sendable (String) -> Void)?
    public var resolverTimeoutMs: UInt64 = 500
    public enum ResolveOutcomeLite: Sendable { case found, notFound, unavailable }
    let resolverLot = ParkingLot<ResolveOutcomeLite>()

    /// Whether another viewer may wait for the resolver on this loop.
    var canPark: Bool { parkedCount < ViewerLoop.maxParked && requestResolution != nil }

    /// Parks a viewer until `id` is resolved (one lookup per ID per loop).
    func park(_ id: String, _ handle: HTTPResumeHandle) {
        guard let request = requestResolution else { return handle.resume() }
        resolverLot.park(id, handle) { request($0) }
    }

    /// On this loop: the lookup for `id` ended; resume its viewers.
    public func resolved(_ id: String, _ outcome: ResolveOutcomeLite) {
        resolverLot.finish(id, outcome) { refresh() }
    }

    // Federation (when on-demand peers are configured): viewers parked by stream name
    // while the control loop asks the peers; "not here" remembered per loop.
    /// Asks the control loop to query the on-demand peers; it calls ``peerQueryDone(_:found:)`` back on this loop.
    public var requestPeerQuery: (@Sendable (String) -> Void)?
    public var peerQueryDeadlineMs: UInt64 = 250
    public var peerNegativeTtlMs: UInt64 = 3000
    let peerLot = ParkingLot<Bool>()
    private var peerNegative: [String: UInt64] = [:]
    static let maxPeerNegative = 65_536

    var canParkForPeers: Bool { parkedCount < ViewerLoop.maxParked && requestPeerQuery != nil }

    /// Parks a viewer of `stream` until the peers answered (one query per stream per loop).
    func parkForPeers(_ stream: String, _ handle: HTTPResumeHandle) {
        guard let request = requestPeerQuery else { return handle.resume() }
        peerLot.park(stream, handle) { request($0) }
    }

    /// Whether the peers said recently that nobody has `stream`.
    func peerNegativeHit(_ stream: String) -> Bool {
        guard let expiry = peerNegative[stream] else { return false }
        if ViewerLoop.monotonicMs() < expiry { return true }
        peerNegative.removeValue(forKey: stream)
        return false
    }

    /// On this loop: the peer query for `stream` ended; resume its viewers.
    public func peerQueryDone(_ stream: String, found: Bool) {
        peerLot.finish(stream, found) {
            if !found && peerNegativeTtlMs > 0 {
                if peerNegative.count >= ViewerLoop.maxPeerNegative { peerNegative.removeAll() }
                peerNegative[stream] = ViewerLoop.monotonicMs() + peerNegativeTtlMs
            }
            refresh()
        }
    }

    static func monotonicMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
    private let requestPrefix: UInt64

    // Pending-viewer ledger, by edge index of `ledgerGeneration`'s snapshot.
    private var local: UnsafeMutableBufferPointer<UInt64>
    private var unshipped: UnsafeMutableBufferPointer<UInt64>
    private var ledgerSnapshot: RoutingSnapshot
    private var inFlight: [(sequence: UInt64, structure: UInt64, indices: [Int32], amounts: [(nodeId: String, bytesPerSec: UInt64)])] = []
    private var sequence: UInt64 = 0
    private var hasUnshipped = false
    /// Called on this loop with a shipment for the control loop.
    private let ship: @Sendable (Int, UInt64, [(nodeId: String, bytesPerSec: UInt64)]) -> Void
    private var shipTimer: LoopTimer?

    public init(index: Int, settings: ViewerSettings, publisher: SnapshotPublisher, seed: UInt64,
                ship: @escaping @Sendable (Int, UInt64, [(nodeId: String, bytesPerSec: UInt64)]) -> Void) {
        self.index = index
        self.settings = settings
        allowsAnyOrigin = settings.allowsAnyOrigin
        reader = SnapshotReader(publisher)
        requestPrefix = seed
        self.ship = ship
        ledgerSnapshot = reader.cached
        local = .allocate(capacity: max(ledgerSnapshot.edgeCount, 1))
        local.initialize(repeating: 0)
        unshipped = .allocate(capacity: max(ledgerSnapshot.edgeCount, 1))
        unshipped.initialize(repeating: 0)
    }

    deinit {
        local.deallocate()
        unshipped.deallocate()
    }

    /// Starts the shipping timer on `loop` (call on that loop).
    public func start(on loop: EventLoop) {
        shipTimer = LoopTimer(loop: loop) { [unowned self] in shipPending() }
        shipTimer?.start(afterMs: settings.shipIntervalMs, repeatMs: settings.shipIntervalMs)
    }

    public func stop() { shipTimer?.close() }

    /// The current snapshot; when it changed, the ledger is carried over by node ID.
    @inline(__always) func snapshot() -> RoutingSnapshot {
        refresh()
        return reader.cached
    }

    /// Adopts a newer snapshot if one was published (then carries the ledger over).
    /// Callers read ``reader``'s `cached` without retaining it.
    @inline(__always) public func refresh() {
        if reader.refresh() { adopt(reader.cached) }
    }

    /// The snapshot the loop holds; valid until the next ``refresh()``.
    @inline(__always) public var current: RoutingSnapshot { reader.cached }

    private func adopt(_ s: RoutingSnapshot) {
        // Shipments the control loop has folded in are in the snapshot now.
        let applied = index < s.appliedShipments.count ? s.appliedShipments[index] : 0
        inFlight.removeAll { $0.sequence <= applied }
        if s.structureToken == ledgerSnapshot.structureToken {
            // A pending-only refresh (every ~50 ms under load): same edges, same indices —
            // no allocation, no node-ID lookups.
            let n = s.edgeCount
            local.baseAddress!.update(from: unshipped.baseAddress!, count: n)
            for shipment in inFlight {
                if shipment.structure == s.structureToken {
                    for (k, i) in shipment.indices.enumerated() { local[Int(i)] &+= shipment.amounts[k].bytesPerSec }
                } else {
                    for (node, bytes) in shipment.amounts { if let i = s.edgeIndex(nodeId: node) { local[i] &+= bytes } }
                }
            }
            ledgerSnapshot = s
            notePendingExhaustion(s)
            return
        }
        var carried: [String: UInt64] = [:]
        for i in 0..<ledgerSnapshot.edgeCount where unshipped[i] > 0 { carried[ledgerSnapshot.nodeIds[i], default: 0] += unshipped[i] }
        local.deallocate()
        unshipped.deallocate()
        local = .allocate(capacity: max(s.edgeCount, 1))
        local.initialize(repeating: 0)
        unshipped = .allocate(capacity: max(s.edgeCount, 1))
        unshipped.initialize(repeating: 0)
        for (node, bytes) in carried {
            if let i = s.edgeIndex(nodeId: node) { unshipped[i] += bytes; local[i] += bytes }
        }
        for shipment in inFlight {
            for (node, bytes) in shipment.amounts { if let i = s.edgeIndex(nodeId: node) { local[i] += bytes } }
        }
        ledgerSnapshot = s
        notePendingExhaustion(s)
    }

    /// Whether this loop's own pending redirects push an edge of `s` to its limit
    /// (then scoring takes the linear path, which sees and counts that exclusion).
    private func notePendingExhaustion(_ s: RoutingSnapshot) {
        pendingMayExclude = false
        for i in 0..<s.edgeCount where local[i] > 0 && s.pendingExhausts(edge: i, pending: local[i]) {
            pendingMayExclude = true
            return
        }
    }

    @inline(__always) func addPending(edge: Int, bytesPerSec: UInt64) {
        local[edge] &+= bytesPerSec
        if !pendingMayExclude && ledgerSnapshot.pendingExhausts(edge: edge, pending: local[edge]) { pendingMayExclude = true }
        unshipped[edge] &+= bytesPerSec
        hasUnshipped = true
    }

    var localPending: UnsafePointer<UInt64> { UnsafePointer(local.baseAddress!) }
    /// True while this loop's own pending redirects exhaust some edge's bandwidth.
    private(set) var pendingMayExclude = false

    /// Every ≤ 50 ms: hand this loop's new redirects to the control loop.
    func shipPending() {
        _ = snapshot()
        guard hasUnshipped else { return }
        var amounts: [(nodeId: String, bytesPerSec: UInt64)] = []
        var indices: [Int32] = []
        for i in 0..<ledgerSnapshot.edgeCount where unshipped[i] > 0 {
            amounts.append((ledgerSnapshot.nodeIds[i], unshipped[i]))
            indices.append(Int32(i))
            unshipped[i] = 0
        }
        hasUnshipped = false
        sequence += 1
        inFlight.append((sequence, ledgerSnapshot.structureToken, indices, amounts))
        ship(index, sequence, amounts)
    }

    @inline(__always) public func count(_ outcome: RoutingOutcome) { counters.add(outcome.rawValue) }

    func countExclusions(_ top: TopCandidates) {
        for reason in Exclusion.allCases where top.excluded[Int(reason.rawValue)] > 0 {
            counters.add(RoutingOutcome.allCases.count + Int(reason.rawValue), UInt64(top.excluded[Int(reason.rawValue)]))
        }
    }

    public func outcomeCount(_ o: RoutingOutcome) -> UInt64 { counters.load(o.rawValue) }
    public func exclusionCount(_ e: Exclusion) -> UInt64 { counters.load(RoutingOutcome.allCases.count + Int(e.rawValue)) }

    /// Writes `X-Request-ID`: the client's (if 1–128 visible ASCII bytes) or a new one.
    public func writeRequestID(_ req: HTTPRequest, _ w: inout HTTPResponseWriter) {
        lastGeneratedRequestId = (0, 0)
        if let r = req.header("x-request-id"), r.count > 0, r.count <= 128 {
            let bytes = req.bytes(r)
            if bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                w.header("X-Request-ID", bytes)
                return
            }
        }
        requestCounter &+= 1
        lastGeneratedRequestId = (requestPrefix, requestCounter)
        // "X-Request-ID: " + 32 hex digits + CRLF, formatted in place with one append.
        var line: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)  // 56 bytes
        let prefix = requestPrefix, counter = requestCounter
        withUnsafeMutableBytes(of: &line) { out in
            let head: StaticString = "X-Request-ID: "
            let digits: StaticString = "0123456789abcdef"
            let d = digits.utf8Start
            var o = 0
            for k in 0..<head.utf8CodeUnitCount { out[o] = head.utf8Start[k]; o += 1 }
            for half in 0..<2 {
                let value = half == 0 ? prefix : counter
                var shift: UInt64 = 60
                for _ in 0..<16 {
                    out[o] = d[Int((value >> shift) & 15)]
                    o += 1
                    shift &-= 4
                }
            }
            out[o] = 13; out[o + 1] = 10
            w.buffer.append(UnsafeRawBufferPointer(rebasing: out[0..<(o + 2)]))
        }
    }

    /// `Access-Control-Allow-Origin` for an allow-list (the `*` case is in the common headers).
    func writeCORS(_ req: HTTPRequest, _ w: inout HTTPResponseWriter) {
        guard !allowsAnyOrigin, let origin = req.header("origin") else { return }
        let bytes = req.bytes(origin)
        for allowed in settings.allowedOrigins where allowed.utf8.count == bytes.count && allowed.utf8.elementsEqual(bytes) {
            w.header("Access-Control-Allow-Origin", bytes)
            return
        }
    }

    /// The last peer address parsed (connections from one proxy or load balancer repeat it).
    private var peerCache: (text: String, ip: IPAddress?) = ("", nil)

    /// The connection's peer as an address, parsed once per distinct text.
    @inline(__always) func peerIP(_ req: HTTPRequest) -> IPAddress? {
        if req.peerAddress == peerCache.text { return peerCache.ip }
        let ip = IPAddress.parse(req.peerAddress)
        peerCache = (req.peerAddress, ip)
        return ip
    }

    /// The viewer's address: the peer, or what a trusted proxy says.
    public func clientAddress(_ req: HTTPRequest) -> IPAddress? {
        guard let peer = peerIP(req) else { return nil }
        guard settings.resolver.isTrusted(peer) else { return peer }
        let lines = req.forwardingLines()
        return settings.resolver.resolve(peer: peer, lines: { name, n in
            let range: ByteRange?
            switch name {
            case .cfConnectingIP: range = n >= lines.cfCount ? nil : (n == 0 ? lines.cf.0 : lines.cf.1)
            case .realIP: range = n >= lines.realCount ? nil : (n == 0 ? lines.real.0 : lines.real.1)
            case .forwardedFor:
                switch n {
                case _ where n >= lines.xffCount: range = nil
                case 0: range = lines.xff.0
                case 1: range = lines.xff.1
                case 2: range = lines.xff.2
                case 3: range = lines.xff.3
                default: range = req.header("x-forwarded-for", occurrence: n)  // more than four lines: rare
                }
            }
            return range.map { req.bytes($0) }
        }, duplicate: { [forwardingDuplicates] name in forwardingDuplicates.add(name == .cfConnectingIP ? 0 : 1) })
    }

    /// `https` when a trusted proxy says `X-Forwarded-Proto: https`.
    func forwardedProtoIsHTTPS(_ req: HTTPRequest) -> Bool {
        guard let peer = peerIP(req), settings.resolver.isTrusted(peer), let v = req.header("x-forwarded-proto") else { return false }
        let b = req.bytes(v)
        return b.count == 5 && b[0] | 0x20 == 0x68 && b[4] | 0x20 == 0x73
    }
}

