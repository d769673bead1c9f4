import FoghornConfig
public import FoghornHTTP
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

    unowned let plane: ControlPlane
    /// Time from a viewer's miss to the query's outcome (found on a peer, or not), this replica's queries.
    public let queryDurations = LatencyHistogram(labels: ["found", "not_found"])
    let local: String
    let settings: PeeringSettings
    let logger: Logger
    /// When refused peer edges were last logged, per peer cluster.
    var refusalLoggedMs: [String: UInt64] = [:]
    var peers: [String: Peer] = [:]
    var order: [String] = []
    var server: TCPServer?
    var handshaking: [ObjectIdentifier: PeerChannel] = [:]
    /// Channels closed recently (kept alive until the next tick: their callbacks may still be unwinding).
    var retired: [PeerChannel] = []
    var queries: [String: Query] = [:]
    var queryIds: [UInt64: (peer: String, stream: String, sentMs: UInt64)] = [:]
    var nextQueryId: UInt64 = 1
    var negative: [String: UInt64] = [:]
    var timer: LoopTimer?
    var rng = UInt64(truncatingIfNeeded: ControlPlane.monotonicNs()) | 1
    var stopped = false
    var lastAdvertiseMs: UInt64 = 0
    var lastQueryPurgeMs: UInt64 = 0
    var remoteDirty = false
    /// With replicas (Redis): whether this replica owns the cluster's PeerChannels (a lease in
    /// Redis, ``setOwner(_:)``). A follower dials nothing and refuses inbound channels; it takes
    /// peers' edges and on-demand answers from the owner through Redis. Without replicas: always.
    public internal(set) var isOwner = true
    /// Owner → followers: one peer cluster's edges (an encoded `edgeSummary`), after each change.
    public var forwardRemote: ((String, [UInt8]) -> Void)?
    /// Follower → owner: a viewer miss for a stream.
    public var forwardQuery: ((String) -> Void)?
    /// Owner → followers: the outcome of a forwarded miss (sent after the edges it found).
    public var forwardAnswer: ((String, Bool) -> Void)?

    // Counters (metrics).
    public internal(set) var channelErrors: [String: UInt64] = [:]
    public internal(set) var queryOutcomes: [String: UInt64] = [:]
    public internal(set) var inbound: [String: UInt64] = [:]
    public internal(set) var served: [String: UInt64] = [:]
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

    /// Ownership of the cluster's PeerChannels moved (replicas): an owner dials its always-on
    /// peers; a replica that lost it closes every channel at once, so two replicas never hold
    /// one to the same peer for longer than a lease's overlap.
    public func setOwner(_ owner: Bool) {
        guard owner != isOwner else { return }
        isOwner = owner
        logger.notice(owner ? "this replica owns the cluster's peer channels" : "this replica no longer owns the cluster's peer channels")
        if owner {
            for name in order where peers[name]!.isAlways { dial(peers[name]!) }
            return
        }
        for c in handshaking.values { c.close(goodbye: "not_owner") }
        handshaking.removeAll()
        for p in peers.values {
            p.dialing?.close("not_owner")
            p.dialing = nil
            if let c = p.channel {
                c.close(goodbye: "not_owner")
                retired.append(c)
            }
            p.channel = nil
            setState(p, .idle)
        }
    }

    // MARK: Channel lifecycle

    func setState(_ p: Peer, _ s: State) {
        guard p.state != s else { return }
        p.state = s
        p.sinceMs = ControlPlane.monotonicMs()
        p.sinceUnix = ControlPlane.unixSeconds()
    }

    func countError(_ p: Peer?, _ reason: String) {
        channelErrors[reason, default: 0] += 1
        if let p {
            p.errors[reason, default: 0] += 1
            p.lastError = reason
        }
    }

    /// Opens a channel to `p` unless one is up or being opened (or another replica owns them).
    func dial(_ p: Peer) {
        guard !stopped, isOwner, p.channel == nil, p.dialing == nil else { return }
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

    func makeChannel(_ stream: any ByteStream, _ direction: PeerChannel.Direction, expected: String?) -> PeerChannel {
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

    func accepted(_ tcp: TCPStream) {
        guard !stopped else { return tcp.close("shutdown") }
        guard isOwner else {
            inbound["refused", default: 0] += 1
            return tcp.close("not_owner")  // the peer redials (its address may lead to the owner)
        }
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

    func ready(_ c: PeerChannel) {
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

    func channelClosed(_ c: PeerChannel, _ reason: String, _ counted: Bool) {
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
    func connectionLost(_ p: Peer) {
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
    func failQueued(_ p: Peer) {
        let queued = p.queuedQueries
        p.queuedQueries = []
        for q in queued {
            queryIds.removeValue(forKey: q.id)
            peerAnswered(p.config.cluster, stream: q.stream, found: false, outcome: "peer_down")
        }
    }

    // MARK: Ticks (every 100 ms)

    func tick() {
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
    func expire(_ p: Peer, now: UInt64) {
        guard !p.edges.isEmpty else { return }
        let bound = UInt64(p.state == .connected ? settings.summaryTtlS : settings.maxStaleS) * 1000
        let before = p.edges.count
        p.edges = p.edges.filter { now &- $0.value.updatedMs <= bound }
        if p.edges.count != before {
            remoteDirty = true
            if p.edges.isEmpty { p.subscribedByUs.removeAll() }
        }
    }

    func armGraceIfIdle(_ p: Peer, now: UInt64) {
        if p.isAlways || p.hasStreams || !queries.values.allSatisfy({ !$0.outstanding.contains(p.config.cluster) }) {
            p.graceDeadlineMs = nil
        } else if p.graceDeadlineMs == nil {
            p.graceDeadlineMs = now + UInt64(settings.closeGraceS) * 1000
        }
    }

}
