import FoghornConfig
import FoghornHTTP
import FoghornJSON
import FoghornModel
import FoghornPeering
import FoghornTLS
import Logging

/// Federation (docs/PEERING.md): one PeerChannel per configured peer cluster.
///
/// - `always` peers are dialled at start and kept up (heartbeats, capped
///   exponential backoff with jitter); both sides push their routable edges
///   every `summary_interval_s` and advertise / end streams as they change.
/// - `on-demand` peers are asked on a viewer miss: one single-flight query per
///   stream (across every data loop) with a deadline per peer; a peer that has
///   the stream keeps a stream-scoped channel that pushes that stream's edges
///   until it ends; with no shared stream left the channel closes after
///   `close_grace_s`. "Not here" is cached for `negative_ttl_s`.
/// - Clusters not listed are never dialled; their inbound channels are refused.
///
/// Remote edges join the routing snapshot (scored with the remote formula) while
/// fresh (`summary_ttl_s`), or — while their peer is unreachable — up to
/// `max_stale_s`, then are dropped. Control loop only.
public final class PeerManager: @unchecked Sendable {
    public enum State: String, Sendable, CaseIterable { case idle, connecting, connected, backoff }

    /// Everything about one configured peer.
    final class Peer {
        let config: PeerConfig
        var state = State.idle
        var sinceMs: UInt64
        var sinceUnix: Int64
        var channel: PeerChannel?
        var dialing: TCPStream?
        var attempts = 0
        var nextDialMs: UInt64 = 0
        var rttMs: Double?
        var errors: [String: UInt64] = [:]
        var lastError = ""
        var connects: UInt64 = 0
        /// Remote edges by their own node ID, with when each was last refreshed.
        var edges: [String: (edge: PeerEdge, updatedMs: UInt64)] = [:]
        /// Streams we asked this (on-demand) peer for and it has.
        var subscribedByUs: Set<String> = []
        /// Streams this peer asked us for and we have (pushed to it, ended when gone).
        var subscribedByThem: Set<String> = []
        /// Streams last advertised to an always-on peer.
        var advertised: Set<String> = []
        var graceDeadlineMs: UInt64?
        var lastSummarySentMs: UInt64 = 0
        var lastHeartbeatSentMs: UInt64 = 0
        var heartbeatSeq: UInt64 = 0
        var heartbeatSentNs: [UInt64: UInt64] = [:]
        /// Queries waiting for the channel to become ready.
        var queuedQueries: [(id: UInt64, stream: String)] = []
        var queriesSent: UInt64 = 0

        init(_ config: PeerConfig) {
            self.config = config
            sinceMs = ControlPlane.monotonicMs()
            sinceUnix = ControlPlane.unixSeconds()
        }

        var isAlways: Bool { config.mode == .always }
        var hasStreams: Bool { !subscribedByUs.isEmpty || !subscribedByThem.isEmpty }
    }

    /// One single-flight lookup of a stream across the on-demand peers.
    final class Query {
        let stream: String
        var waiters: [(Bool) -> Void] = []
        var outstanding: Set<String> = []
        var found = false
        var completed = false
        var timer: LoopTimer?
        init(stream: String) { self.stream = stream }
    }

    unowned let plane: ControlPlane
    let local: String
    let settings: PeeringSettings
    let logger: Logger
    /// When refused peer edges were last logged, per peer cluster.
    private var refusalLoggedMs: [String: UInt64] = [:]
    private(set) var peers: [String: Peer] = [:]
    private var order: [String] = []
    private var server: TCPServer?
    private var handshaking: [ObjectIdentifier: PeerChannel] = [:]
    /// Channels closed recently (kept alive until the next tick: their callbacks may still be unwinding).
    private var retired: [PeerChannel] = []
    private var queries: [String: Query] = [:]
    private var queryIds: [UInt64: (peer: String, stream: String, sentMs: UInt64)] = [:]
    private var nextQueryId: UInt64 = 1
    private var negative: [String: UInt64] = [:]
    private var timer: LoopTimer?
    private var rng = UInt64(truncatingIfNeeded: ControlPlane.monotonicNs()) | 1
    private var stopped = false
    private var lastAdvertiseMs: UInt64 = 0
    private var lastQueryPurgeMs: UInt64 = 0
    private var remoteDirty = false

    // Counters (metrics).
    public private(set) var channelErrors: [String: UInt64] = [:]
    public private(set) var queryOutcomes: [String: UInt64] = [:]
    public private(set) var inbound: [String: UInt64] = [:]
    public private(set) var served: [String: UInt64] = [:]
    public static let queryOutcomeLabels = ["found", "not_found", "timeout", "peer_down", "negative_hit", "joined"]
    public static let inboundLabels = ["accepted", "refused"]
    public static let servedLabels = ["found", "not_found"]
    public static let errorLabels = PeerProtocolError.reasons + [
        "unlisted_cluster", "auth_failed", "wrong_cluster", "unexpected_message", "handshake_timeout", "heartbeat_timeout",
        "connect_failed", "connect_timeout", "resolve_failed", "read_error", "write_error", "send_queue_full",
        TLSStream.handshakeFailed, "goodbye_unlisted_cluster", "goodbye_auth_failed", "goodbye_wrong_cluster", "goodbye_bad_version", "goodbye_malformed",
    ]

    init(plane: ControlPlane, config: FoghornConfiguration) {
        self.plane = plane
        local = config.clusterId
        settings = config.peering
        logger = plane.logger
        for p in config.peers where p.cluster != config.clusterId {
            peers[p.cluster] = Peer(p)
            order.append(p.cluster)
        }
    }

    public var isEnabled: Bool { !peers.isEmpty }
    public var hasOnDemandPeers: Bool { peers.values.contains { !$0.isAlways } }

    /// The server certificates for an inbound TLS peer listener (peering.tls).
    var serverTLS: TLSContextReader?

    /// Starts listening on `socket` (when given) and dials the always-on peers.
    func start(listening socket: ListeningSocket?) {
        if let socket {
            do {
                server = try TCPServer(socket: socket, loop: plane.loop) { [unowned self] s in accepted(s) }
            } catch {
                logger.error("peer listener failed", metadata: ["error": "\(error)"])
            }
        }
        timer = LoopTimer(loop: plane.loop) { [unowned self] in tick() }
        timer?.start(afterMs: 100, repeatMs: 100)
        for name in order where peers[name]!.isAlways { dial(peers[name]!) }
    }

    func stop() {
        stopped = true
        timer?.close()
        server?.close()
        for q in queries.values { q.timer?.close() }
        for c in handshaking.values { c.close(goodbye: "shutdown") }
        handshaking.removeAll()
        for p in peers.values {
            p.dialing?.close("shutdown")
            p.dialing = nil
            p.channel?.close(goodbye: "shutdown")
            p.channel = nil
        }
    }

    // MARK: Channel lifecycle

    private func setState(_ p: Peer, _ s: State) {
        guard p.state != s else { return }
        p.state = s
        p.sinceMs = ControlPlane.monotonicMs()
        p.sinceUnix = ControlPlane.unixSeconds()
    }

    private func countError(_ p: Peer?, _ reason: String) {
        channelErrors[reason, default: 0] += 1
        if let p {
            p.errors[reason, default: 0] += 1
            p.lastError = reason
        }
    }

    /// Opens a channel to `p` unless one is up or being opened.
    private func dial(_ p: Peer) {
        guard !stopped, p.channel == nil, p.dialing == nil else { return }
        setState(p, .connecting)
        p.dialing = TCPStream.connect(on: plane.loop, host: p.config.host, port: p.config.port, timeoutMs: 3000) { [unowned self] result in
            p.dialing = nil
            switch result {
            case .failure(let e):
                countError(p, e.reason)
                connectionLost(p)
            case .success(let tcp):
                var stream: any ByteStream = tcp
                if p.config.tls {
                    guard let session = TLSSession(client: p.config.host, caFile: settings.tlsCaFile.isEmpty ? nil : settings.tlsCaFile) else {
                        tcp.close("tls_setup")
                        countError(p, TLSStream.handshakeFailed)
                        return connectionLost(p)
                    }
                    stream = TLSStream(tcp: tcp, session: session)
                }
                let channel = makeChannel(stream, .outbound, expected: p.config.cluster)
                p.channel = channel
                channel.start()
            }
        }
    }

    private func makeChannel(_ stream: any ByteStream, _ direction: PeerChannel.Direction, expected: String?) -> PeerChannel {
        let channel = PeerChannel(stream: stream, direction: direction, localCluster: local, expectedPeer: expected,
                                  maxFrameBytes: settings.maxFrameBytes) { [unowned self] cluster in peers[cluster]?.config.secret }
        channel.onReady = { [unowned self] c in ready(c) }
        channel.onMessage = { [unowned self] c, m in received(m, on: c) }
        channel.onRefusedEdges = { [unowned self, unowned channel] frame, reasons in
            plane.countRejectedInput(source: .peer, reasons.count)
            // At most one line per peer per 10 s: a peer repeating a bad edge in every frame is counted, not logged each time.
            let peer = channel.peerCluster ?? "?", now = ControlPlane.monotonicMs()
            if let last = refusalLoggedMs[peer], now < last + 10_000 { return }
            refusalLoggedMs[peer] = now
            logger.warning("peer edges refused", metadata: [
                "peer": "\(channel.peerCluster ?? "?")", "frame": "\(frame)", "refused": "\(reasons.count)", "first": "\(reasons[0])",
            ])
        }
        channel.onClose = { [unowned self] c, reason, counted in channelClosed(c, reason, counted) }
        return channel
    }

    private func accepted(_ tcp: TCPStream) {
        guard !stopped else { return tcp.close("shutdown") }
        var stream: any ByteStream = tcp
        if let tls = serverTLS {
            // The peer listener speaks TLS only (peering.tls): plaintext peers fail the handshake.
            guard let session = TLSSession(server: tls.context) else { return tcp.close("tls_setup") }
            stream = TLSStream(tcp: tcp, session: session)
        }
        let channel = makeChannel(stream, .inbound, expected: nil)
        handshaking[ObjectIdentifier(channel)] = channel
        channel.start()
    }

    private func ready(_ c: PeerChannel) {
        guard let name = c.peerCluster, let p = peers[name] else { return c.close(goodbye: "unlisted_cluster") }
        if c.direction == .inbound {
            handshaking.removeValue(forKey: ObjectIdentifier(c))
            inbound["accepted", default: 0] += 1
            // Both sides may dial at once: the channel dialled by the lower cluster ID wins
            // (both sides apply the same rule, so they keep the same connection).
            let peerIsLower = name < local
            if let existing = p.channel, existing !== c {
                if existing.direction == .inbound || peerIsLower {
                    p.channel = nil
                    existing.close(goodbye: "duplicate")
                } else {
                    return c.close(goodbye: "duplicate")
                }
            } else if p.dialing != nil && !peerIsLower {
                return c.close(goodbye: "duplicate")
            }
            p.dialing?.close("duplicate")
            p.dialing = nil
            p.channel = c
        }
        guard p.channel === c else { return c.close(goodbye: "duplicate") }
        setState(p, .connected)
        p.attempts = 0
        p.connects += 1
        let now = ControlPlane.monotonicMs()
        p.lastHeartbeatSentMs = now
        p.advertised = []
        p.subscribedByThem = []
        logger.info("peer channel up", metadata: ["peer": "\(name)", "direction": "\(c.direction.rawValue)"])
        if p.isAlways { pushSummary(p, now: now) }
        // Re-establish stream subscriptions (after a reconnect) and send queries that waited for the channel.
        for stream in p.subscribedByUs where !p.queuedQueries.contains(where: { $0.stream == stream }) {
            sendQuery(p, stream: stream, id: allocateQueryId(peer: name, stream: stream))
        }
        let queued = p.queuedQueries
        p.queuedQueries = []
        for q in queued { c.send(.queryStream(id: q.id, stream: q.stream)); p.queriesSent += 1 }
        armGraceIfIdle(p, now: now)
    }

    private func channelClosed(_ c: PeerChannel, _ reason: String, _ counted: Bool) {
        retired.append(c)
        handshaking.removeValue(forKey: ObjectIdentifier(c))
        let p = c.peerCluster.flatMap { peers[$0] }
        if c.direction == .inbound && !c.wasReady && counted { inbound["refused", default: 0] += 1 }
        if counted { countError(p, reason) }
        guard let p, p.channel === c else { return }
        p.channel = nil
        logger.info("peer channel closed", metadata: ["peer": "\(p.config.cluster)", "reason": "\(reason)"])
        if reason.hasPrefix("goodbye_idle") && !p.isAlways {
            // The peer's grace close: no stream involves it any more.
            setState(p, .idle)
            failQueued(p)
            return
        }
        connectionLost(p)
    }

    /// After a failed dial or a lost channel: always-on peers (and on-demand peers with shared
    /// streams) retry with capped exponential backoff and jitter; others go idle.
    private func connectionLost(_ p: Peer) {
        failQueued(p)
        guard !stopped else { return }
        // Always-on peers (and on-demand peers with shared streams) are redialled when this
        // expires; for other on-demand peers it is the breaker: queries skip them until then.
        p.attempts += 1
        let base = min(UInt64(500) << UInt64(min(p.attempts - 1, 20)), UInt64(settings.backoffMaxS) * 1000)
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        let jitter = Double(rng >> 11) / Double(1 << 53) * 0.4 - 0.2
        p.nextDialMs = ControlPlane.monotonicMs() + UInt64(Double(base) * (1 + jitter))
        setState(p, .backoff)
        remoteDirty = true
    }

    /// Queries that waited for a channel that did not come up.
    private func failQueued(_ p: Peer) {
        let queued = p.queuedQueries
        p.queuedQueries = []
        for q in queued {
            queryIds.removeValue(forKey: q.id)
            peerAnswered(p.config.cluster, stream: q.stream, found: false, outcome: "peer_down")
        }
    }

    // MARK: Ticks (every 100 ms)

    private func tick() {
        retired.removeAll()
        let now = ControlPlane.monotonicMs()
        for name in order {
            let p = peers[name]!
            switch p.state {
            case .backoff where now >= p.nextDialMs && (p.isAlways || !p.subscribedByUs.isEmpty):
                dial(p)
            case .connected:
                guard let c = p.channel else { break }
                if now &- c.lastReceivedMs > UInt64(settings.deadAfterS) * 1000 {
                    countError(p, "heartbeat_timeout")
                    c.fail("heartbeat_timeout")
                    continue
                }
                if now &- p.lastHeartbeatSentMs >= UInt64(settings.heartbeatIntervalS) * 1000 {
                    p.lastHeartbeatSentMs = now
                    p.heartbeatSeq += 1
                    p.heartbeatSentNs[p.heartbeatSeq] = ControlPlane.monotonicNs()
                    if p.heartbeatSentNs.count > 8 { p.heartbeatSentNs.removeValue(forKey: p.heartbeatSentNs.keys.min()!) }
                    c.send(.heartbeat(seq: p.heartbeatSeq, reply: false))
                }
                if now &- p.lastSummarySentMs >= UInt64(settings.summaryIntervalS) * 1000 {
                    pushSummary(p, now: now)
                }
                if let deadline = p.graceDeadlineMs, now >= deadline, !p.isAlways, !p.hasStreams {
                    p.graceDeadlineMs = nil
                    logger.info("closing idle peer channel", metadata: ["peer": "\(name)"])
                    let c = p.channel
                    p.channel = nil
                    setState(p, .idle)
                    c?.close(goodbye: "idle")
                    if let c { retired.append(c) }
                }
            default:
                break
            }
            expire(p, now: now)
        }
        if now &- lastAdvertiseMs >= 1000 {
            lastAdvertiseMs = now
            advertiseChanges(now: now)
        }
        for (stream, expiry) in negative where now >= expiry { negative.removeValue(forKey: stream) }
        // Answers that never came: forget them after a minute (late answers within it still count).
        if queryIds.count > 0 && now &- lastQueryPurgeMs >= 10_000 {
            lastQueryPurgeMs = now
            queryIds = queryIds.filter { now &- $0.value.sentMs < 60_000 }
        }
        if remoteDirty { publishRemoteEdges() }
    }

    /// Drops remote data past its TTL (connected) or past the stale-if-error bound (peer unreachable).
    private func expire(_ p: Peer, now: UInt64) {
        guard !p.edges.isEmpty else { return }
        let bound = UInt64(p.state == .connected ? settings.summaryTtlS : settings.maxStaleS) * 1000
        let before = p.edges.count
        p.edges = p.edges.filter { now &- $0.value.updatedMs <= bound }
        if p.edges.count != before {
            remoteDirty = true
            if p.edges.isEmpty { p.subscribedByUs.removeAll() }
        }
    }

    private func armGraceIfIdle(_ p: Peer, now: UInt64) {
        if p.isAlways || p.hasStreams || !queries.values.allSatisfy({ !$0.outstanding.contains(p.config.cluster) }) {
            p.graceDeadlineMs = nil
        } else if p.graceDeadlineMs == nil {
            p.graceDeadlineMs = now + UInt64(settings.closeGraceS) * 1000
        }
    }

    // MARK: What we send

    /// Local edges that may serve viewers, as peers see them.
    private func routableLocalEdges() -> [EdgeState] {
        let now = ControlPlane.monotonicMs()
        return plane.edges.values.filter { e in
            e.mode == .normal && e.pollError.isEmpty && e.capabilities.contains(.edge) && e.ramMaxBytes > 0 && e.bwLimitBytesPerSec > 0
                && plane.staleness.health(of: e, nowMs: now) == .fresh
        }.sorted { $0.nodeId < $1.nodeId }
    }

    /// The edges with inputs for `stream` (its name resolved once, not per edge).
    private static func withInputs(_ edges: [EdgeState], for stream: String) -> [EdgeState] {
        guard let id = StreamNameTable.shared.existingId(for: stream) else { return [] }
        return edges.filter { ($0.stats(forId: id)?.inputs ?? 0) > 0 }
    }

    /// Streams live here (some routable edge has inputs for it).
    private func liveStreams(_ edges: [EdgeState]) -> Set<String> {
        var out: Set<String> = []
        for e in edges { e.forEachStream { name, s in if s.inputs > 0 { out.insert(name) } } }
        return out
    }

    private func pushSummary(_ p: Peer, now: UInt64) {
        guard let c = p.channel, c.phase == .ready else { return }
        p.lastSummarySentMs = now
        let edges = routableLocalEdges()
        if p.isAlways {
            c.send(.edgeSummary(streams: nil, edges: edges.map { PeerEdge($0) }))
            p.advertised = liveStreams(edges)
        } else if !p.subscribedByThem.isEmpty {
            let wanted = p.subscribedByThem
            let ids = wanted.compactMap { StreamNameTable.shared.existingId(for: $0) }
            let list = edges.filter { e in ids.contains { (e.stats(forId: $0)?.inputs ?? 0) > 0 } }
            c.send(.edgeSummary(streams: wanted.sorted(), edges: list.map { PeerEdge($0, only: wanted) }))
        }
    }

    /// Once a second: new local streams are advertised to always-on peers at once; streams
    /// that ended are announced to every peer that had them.
    private func advertiseChanges(now: UInt64) {
        guard peers.values.contains(where: { $0.state == .connected }) else { return }
        let edges = routableLocalEdges()
        let live = liveStreams(edges)
        for name in order {
            let p = peers[name]!
            guard p.state == .connected, let c = p.channel else { continue }
            if p.isAlways {
                for stream in live.subtracting(p.advertised).sorted() {
                    let carrying = PeerManager.withInputs(edges, for: stream)
                    c.send(.streamAdvertisement(stream: stream, edges: carrying.map { PeerEdge($0, only: [stream]) }))
                }
                for stream in p.advertised.subtracting(live).sorted() { c.send(.streamEnded(stream: stream)) }
                p.advertised = live
            }
            for stream in p.subscribedByThem.subtracting(live).sorted() {
                c.send(.streamEnded(stream: stream))
                p.subscribedByThem.remove(stream)
            }
            armGraceIfIdle(p, now: now)
        }
    }

    // MARK: What we receive

    private func received(_ m: PeerMessage, on c: PeerChannel) {
        guard let name = c.peerCluster, let p = peers[name], p.channel === c else { return }
        let now = ControlPlane.monotonicMs()
        switch m {
        case .edgeSummary(nil, let edges):
            var fresh: [String: (edge: PeerEdge, updatedMs: UInt64)] = [:]
            for e in edges { fresh[e.nodeId] = (e, now) }
            p.edges = fresh
            remoteDirty = true
        case .edgeSummary(let streams?, let edges):
            merge(p, streams: Set(streams), edges: edges, now: now)
        case .streamAdvertisement(let stream, let edges):
            merge(p, streams: [stream], edges: edges, now: now)
        case .streamEnded(let stream):
            merge(p, streams: [stream], edges: [], now: now)
            p.subscribedByUs.remove(stream)
            armGraceIfIdle(p, now: now)
        case .queryStream(let id, let stream):
            answer(p, c, id: id, stream: stream, now: now)
        case .queryAnswer(let id, let stream, let found, let edges):
            guard let q = queryIds.removeValue(forKey: id), q.peer == name, q.stream == stream else { return }
            let has = found && edges.contains { $0.carries(stream) }
            if has {
                merge(p, streams: [stream], edges: edges, now: now)
                p.subscribedByUs.insert(stream)
            }
            armGraceIfIdle(p, now: now)
            peerAnswered(name, stream: stream, found: has, outcome: has ? "found" : "not_found")
        case .heartbeat(let seq, false):
            c.send(.heartbeat(seq: seq, reply: true))
        case .heartbeat(let seq, true):
            if let sent = p.heartbeatSentNs.removeValue(forKey: seq) {
                p.rttMs = Double(ControlPlane.monotonicNs() &- sent) / 1e6
            }
        case .hello, .auth, .ready, .goodbye:
            break  // handled by the channel
        }
    }

    /// Replaces what `p` said about `streams` with `edges` (each carrying some of them).
    private func merge(_ p: Peer, streams: Set<String>, edges: [PeerEdge], now: UInt64) {
        for (id, var entry) in p.edges where entry.edge.streams.contains(where: { streams.contains($0.name) }) {
            entry.edge.streams.removeAll { streams.contains($0.name) }
            p.edges[id] = entry.edge.streams.isEmpty ? nil : entry
        }
        for e in edges {
            var incoming = e
            incoming.streams.removeAll { !streams.contains($0.name) }
            if var existing = p.edges[e.nodeId]?.edge {
                let others = existing.streams
                existing = incoming
                existing.streams = others + incoming.streams
                p.edges[e.nodeId] = (existing, now)
            } else if !incoming.streams.isEmpty {
                p.edges[e.nodeId] = (incoming, now)
            }
        }
        remoteDirty = true
    }

    private func answer(_ p: Peer, _ c: PeerChannel, id: UInt64, stream: String, now: UInt64) {
        let carrying = PeerManager.withInputs(routableLocalEdges(), for: stream)
        let found = !carrying.isEmpty
        served[found ? "found" : "not_found", default: 0] += 1
        if found { p.subscribedByThem.insert(stream) }
        c.send(.queryAnswer(id: id, stream: stream, found: found, edges: carrying.map { PeerEdge($0, only: [stream]) }))
        armGraceIfIdle(p, now: now)
    }

    /// Hands every peer's edges (in configured order, by node ID) to the plane: renumbered into
    /// the next snapshot.
    private func publishRemoteEdges() {
        remoteDirty = false
        var entries: [(edge: EdgeState, updatedMs: UInt64)] = []
        for name in order {
            guard let p = peers[name] else { continue }
            for (_, entry) in p.edges.sorted(by: { $0.key < $1.key }) { entries.append((entry.edge.edgeState(cluster: name), entry.updatedMs)) }
        }
        plane.setRemoteEdges(entries)
    }

    // MARK: Viewer misses

    /// A viewer asked for `stream`, which no local or cached remote edge carries: ask the
    /// on-demand peers (single-flight per stream, deadline per peer). `completion(found)` runs on
    /// the control loop — after the snapshot with the new edges is published when found.
    public func query(stream: String, _ completion: @escaping (Bool) -> Void) {
        let now = ControlPlane.monotonicMs()
        if let expiry = negative[stream], now < expiry {
            queryOutcomes["negative_hit", default: 0] += 1
            return completion(false)
        }
        if let q = queries[stream], !(q.completed && !q.found) {
            queryOutcomes["joined", default: 0] += 1
            q.waiters.append(completion)
            return
        }
        // A miss that crossed the answer: its loop looked before the snapshot with the peer's
        // edges was published and asked after the query was done. The stream routes now: answer
        // from the snapshot, do not ask the peers again (seen under ASan with 1,000 viewers).
        let published = plane.publisher.snapshot
        if let s = published.streamIndex(named: stream), !published.isOffline(stream: s) {
            queryOutcomes["joined", default: 0] += 1
            return completion(true)
        }
        let q = Query(stream: stream)
        q.waiters.append(completion)
        queries[stream] = q
        for name in order {
            let p = peers[name]!
            guard !p.isAlways else { continue }
            if p.state == .backoff && now < p.nextDialMs && p.channel == nil {
                queryOutcomes["peer_down", default: 0] += 1  // breaker open: do not wait on a dead peer
                continue
            }
            q.outstanding.insert(name)
            let id = allocateQueryId(peer: name, stream: stream)
            sendQuery(p, stream: stream, id: id)
        }
        if q.outstanding.isEmpty { return finish(q) }
        q.timer = LoopTimer(loop: plane.loop) { [unowned self, unowned q] in
            queryOutcomes["timeout", default: 0] += UInt64(q.outstanding.count)
            q.outstanding.removeAll()
            finish(q)
        }
        q.timer?.start(afterMs: UInt64(settings.queryDeadlineMs))
    }

    private func allocateQueryId(peer: String, stream: String) -> UInt64 {
        let id = nextQueryId
        nextQueryId += 1
        queryIds[id] = (peer, stream, ControlPlane.monotonicMs())
        return id
    }

    private func sendQuery(_ p: Peer, stream: String, id: UInt64) {
        p.graceDeadlineMs = nil
        if let c = p.channel, c.phase == .ready {
            c.send(.queryStream(id: id, stream: stream))
            p.queriesSent += 1
        } else {
            p.queuedQueries.append((id, stream))
            if p.channel == nil && p.dialing == nil { dial(p) }
        }
    }

    /// One peer's answer (or failure) for a query of `stream`.
    private func peerAnswered(_ peer: String, stream: String, found: Bool, outcome: String) {
        queryOutcomes[outcome, default: 0] += 1
        guard let q = queries[stream], !q.completed else {
            if found {
                // A late positive answer still adds the edges (renumbered in, like any peer change).
                publishRemoteEdges()
            }
            return
        }
        q.outstanding.remove(peer)
        if found { q.found = true }
        if q.found || q.outstanding.isEmpty { finish(q) }
    }

    private func finish(_ q: Query) {
        guard !q.completed else { return }
        q.completed = true
        q.timer?.close()
        q.timer = nil
        if q.found {
            publishRemoteEdges()
            // Viewers arriving until the snapshot is out join this query (no second query).
            plane.afterNextPublish { [unowned self] in
                if queries[q.stream] === q { queries.removeValue(forKey: q.stream) }
                for w in q.waiters { w(true) }
                q.waiters = []
            }
        } else {
            queries.removeValue(forKey: q.stream)
            let waiters = q.waiters
            if settings.negativeTtlS > 0 { negative[q.stream] = ControlPlane.monotonicMs() + UInt64(settings.negativeTtlS) * 1000 }
            for w in waiters { w(false) }
        }
        let now = ControlPlane.monotonicMs()
        for p in peers.values where p.state == .connected { armGraceIfIdle(p, now: now) }
    }

    // MARK: Ops

    /// `GET /debug/peers`.
    func debugJSON() -> JSONValue {
        let now = ControlPlane.monotonicMs()
        var list: [JSONValue] = []
        for name in order {
            let p = peers[name]!
            var streams: Set<String> = []
            for (_, entry) in p.edges { for s in entry.edge.streams where s.inputs > 0 { streams.insert(s.name) } }
            let lastReceived = p.channel.map { now &- $0.lastReceivedMs }
            var fields: [(key: String, value: JSONValue)] = [
                ("cluster", .string(name)), ("mode", .string(p.config.mode.rawValue)), ("address", .string(p.config.address)),
                ("state", .string(p.state.rawValue)), ("since", .int(p.sinceUnix)), ("state_for_ms", .int(Int64(now &- p.sinceMs))),
                ("rtt_ms", p.rttMs.map { .double(($0 * 1000).rounded() / 1000) } ?? .null),
                ("direction", p.channel.map { .string($0.direction.rawValue) } ?? .null),
                ("last_message", p.channel.map { c in .object([("type", .string(c.lastMessageType)), ("ago_ms", .int(Int64(lastReceived ?? 0)))]) } ?? .null),
                ("streams", .array(streams.sorted().map(JSONValue.string))),
                ("streams_requested_by_peer", .array(p.subscribedByThem.sorted().map(JSONValue.string))),
                ("remote_edges", .int(Int64(p.edges.count))),
                ("connects", .int(Int64(p.connects))),
                ("backoff", p.state == .backoff ? .object([("attempts", .int(Int64(p.attempts))), ("next_attempt_in_ms", .int(Int64(p.nextDialMs > now ? p.nextDialMs - now : 0)))]) : .null),
                ("errors", .object(p.errors.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.int(Int64($0.value))) })),
                ("last_error", .string(p.lastError)),
            ]
            if let g = p.graceDeadlineMs { fields.append(("closes_in_ms", .int(Int64(g > now ? g - now : 0)))) }
            list.append(.object(fields))
        }
        return .object([("cluster", .string(local)), ("peers", .array(list))])
    }

    public func count(_ state: State) -> Int { peers.values.filter { $0.state == state }.count }
    public var remoteEdgeCount: Int { peers.values.reduce(0) { $0 + $1.edges.count } }
}

