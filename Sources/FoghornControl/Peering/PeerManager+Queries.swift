import FoghornConfig
import FoghornHTTP
import FoghornJSON
import FoghornModel
import FoghornPeering
import FoghornTLS
import Logging

/// Viewer misses: one single-flight query per stream across the on-demand peers, a deadline per
/// peer, "not here" cached for `negative_ttl_s`.
extension PeerManager {
    /// One single-flight lookup of a stream across the on-demand peers.
    final class Query {
        let stream: String
        var waiters: [(Bool) -> Void] = []
        var outstanding: Set<String> = []
        var found = false
        var completed = false
        var timer: LoopTimer?
        let startedNs = LatencyHistogram.nowNs()
        init(stream: String) { self.stream = stream }
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
        if !isOwner, let forwardQuery {
            // A follower: the owner asks (single-flight across the cluster) and answers through
            // Redis after forwarding the edges it found; no answer within the deadline: not found.
            forwardQuery(stream)
            q.timer = LoopTimer(loop: plane.loop) { [unowned self, unowned q] in
                queryOutcomes["timeout", default: 0] += 1
                finish(q)
            }
            q.timer?.start(afterMs: UInt64(settings.queryDeadlineMs) + 100)
            return
        }
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

    /// The owner: a follower's viewer missed `stream`; ask as for a miss here and tell the
    /// followers the outcome (after the edges, which ``publishRemoteEdges()`` forwards first).
    public func answerForwardedQuery(stream: String) {
        guard isOwner else { return }
        // From Redis: checked at the door like a viewer's stream name before it reaches a peer or a log.
        guard InputRules.streamNameProblem(stream) == nil else { return plane.countRejectedInput(source: .replica) }
        query(stream: stream) { [weak self] found in self?.forwardAnswer?(stream, found) }
    }

    /// A follower: the owner's outcome for a miss it forwarded.
    public func receiveForwardedAnswer(stream: String, found: Bool) {
        guard let q = queries[stream], !q.completed else { return }
        queryOutcomes[found ? "found" : "not_found", default: 0] += 1
        q.found = found
        finish(q)
    }

    func allocateQueryId(peer: String, stream: String) -> UInt64 {
        let id = nextQueryId
        nextQueryId += 1
        queryIds[id] = (peer, stream, ControlPlane.monotonicMs())
        return id
    }

    func sendQuery(_ p: Peer, stream: String, id: UInt64) {
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
    func peerAnswered(_ peer: String, stream: String, found: Bool, outcome: String) {
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

    func finish(_ q: Query) {
        guard !q.completed else { return }
        q.completed = true
        queryDurations.record(label: q.found ? 0 : 1, ns: LatencyHistogram.nowNs() &- q.startedNs)
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
}
