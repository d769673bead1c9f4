public import FoghornState
public import FoghornModel
import FoghornConfig
import FoghornHTTP
import FoghornTLS
import FoghornJSON
public import FoghornRedis
import Logging

/// A value that belongs to the control loop, carried through another thread that never
/// touches it (a store's writer thread hands it back with its result).
struct LoopBound<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Durable state (docs/DEPLOYMENT.md): what an operator or an edge set is committed to the
/// ``StateStore`` first and applied to routing only once committed, so a 2xx means it is on
/// disk (or in Redis) and a failure changes nothing. ``durable`` mirrors the store.
extension ControlPlane {
    /// Commits `mutations`, then applies them (``durable`` and routing) on the control loop and
    /// calls `done(nil)`; on failure calls `done(error)` and nothing changed. Without a store
    /// (in-process tests) they apply at once.
    public func persist(_ mutations: [StateMutation], then done: @escaping (StateStoreError?) -> Void) {
        guard let store else {
            for case .redeemToken(let id, let maxUses, _) in mutations {
                let t = durable.tokens[id]
                if (t?.uses ?? 0) >= maxUses || t?.revoked == true { return done(.tokenUsedUp) }
            }
            for m in mutations { applyDurable(m) }
            done(nil)
            return
        }
        let loop = self.loop
        // `done` and the plane belong to the control loop; the store's thread only carries them back there.
        let back = LoopBound((plane: self, done: done))
        store.commit(mutations) { result in
            loop.execute {
                let (plane, done) = back.value
                plane.finishCommit(mutations, result, done)
            }
        }
    }

    private func finishCommit(_ mutations: [StateMutation], _ result: Result<Void, StateStoreError>, _ done: (StateStoreError?) -> Void) {
                switch result {
                case .success:
                    stateWritesCommitted += 1
                    for m in mutations { applyDurable(m) }
                    done(nil)
                case .failure(let error):
                    stateWriteFailures += 1
                    logger.error("state store write failed", metadata: ["error": "\(error.message)"])
                    done(error)
                }
    }

    /// A committed mutation (local, or with replicas another replica's) applied to the mirror
    /// and to routing.
    public func applyDurable(_ m: StateMutation) {
        durable.apply(m)
        switch m {
        case .registerEdge(let r):
            if edges[r.nodeId] == nil { upsertEdge(edgeState(registered: r)) }
        case .removeEdge(let id):
            builder.standingModes[id] = nil
            _ = removeEdge(id)
        case .redeemToken(let id, _, _), .tokenUses(let id, _, _), .revokeToken(let id, _):
            if let t = durable.tokens[id] { tokens.restore(tokenId: id, uses: t.uses, expiresAt: t.expiresAt, revoked: t.revoked) }
            let now = ControlPlane.unixSeconds()
            if tokens.pruneIfGrown(nowSeconds: now) { durable.dropExpiredTokens(nowSeconds: now) }
        case .setMode(let id, let mode):
            builder.standingModes[id] = mode == .normal ? nil : mode
            if edges[id] != nil, edges[id]?.mode != mode { _ = setMode(mode, of: id) }
        case .setPlayback(let r):
            if playback[r.playbackId] != r || isStaticPlayback(r.playbackId) { setPlayback(r) }
        case .removePlayback(let id):
            _ = removePlayback(id)
        case .setWeights(let w, _):
            if weights != w { setWeights(w) }
        case .mistNode(let id, let address, let present):
            guard let mist else { break }
            if present, let a = MistNodeAddress.parse(address) { mist.add(a) } else if !present { mist.remove(id) }
        }
    }

    /// The routing edge of a registration: known but `stale` until it reports.
    func edgeState(registered r: EdgeRegistration) -> EdgeState {
        var edge = EdgeState(nodeId: r.nodeId)
        edge.tenant = r.tenant
        edge.publicIP = r.publicIP
        edge.domain = r.domain
        edge.location = r.location
        // Registrations from before enrolment set a default have none: the assigned domain's.
        edge.baseURL = r.baseURL.isEmpty && !r.domain.isEmpty ? EdgeAPI.defaultBaseURL(domain: r.domain) : r.baseURL
        edge.capabilities = r.capabilities
        if let lat = r.lat, let lon = r.lon, GeoPoint.isValid(lat: lat, lon: lon) {
            edge.lat = lat
            edge.lon = lon
        }
        edge.enrolledAtMs = ControlPlane.monotonicMs()
        return edge
    }

    /// A registered edge that was evicted (or is not known since a restart) is back: its
    /// registration becomes a routing edge again. False when it has none.
    public func readmit(_ nodeId: String) -> Bool {
        guard edges[nodeId] == nil, let r = durable.edges[nodeId] else { return false }
        upsertEdge(edgeState(registered: r))
        return true
    }

    /// After a report: a registration whose base URL or capabilities changed is updated in the
    /// store (in the background: the report is not held for it).
    public func noteReported(_ nodeId: String) {
        guard var r = durable.edges[nodeId], let edge = edges[nodeId] else { return }
        guard r.baseURL != edge.baseURL || r.capabilities != edge.capabilities else { return }
        r.baseURL = edge.baseURL
        r.capabilities = edge.capabilities
        durable.edges[nodeId] = r  // one write per change, not one per report while it commits
        persist([.registerEdge(r)]) { _ in }
    }

    /// Loads the store's state into routing (at start, before serving). Records that fail the
    /// same checks as the API's input are skipped and logged (a hand-edited file cannot put a
    /// bad value in a response header).
    public func restore(from store: any StateStore) throws(StateStoreError) {
        let loaded = try store.load()
        self.store = store
        if config.clusterSecret.isEmpty {  // a generated secret outlives the process with the edges it signed
            tokens = EnrollmentTokens(secret: try store.sharedSecret(creatingWith: Crypto.randomBytes(32)))
        }
        var skipped = 0
        let fileWeights = ControlPlane.fileWeights(config)
        for r in loaded.edges.values {
            guard ControlPlane.isValid(.registerEdge(r)) else { skipped += 1; continue }
            applyDurable(.registerEdge(r))
        }
        for (id, t) in loaded.tokens where ControlPlane.isValid(.tokenUses(tokenId: id, uses: t.uses, expiresAt: t.expiresAt)) {
            durable.tokens[id] = t
            tokens.restore(tokenId: id, uses: t.uses, expiresAt: t.expiresAt, revoked: t.revoked)
        }
        for (id, mode) in loaded.modes {
            guard ControlPlane.isValid(.setMode(nodeId: id, mode: mode)) else { skipped += 1; continue }
            applyDurable(.setMode(nodeId: id, mode: mode))
        }
        for r in loaded.playback.values {
            guard ControlPlane.isValid(.setPlayback(r)) else { skipped += 1; continue }
            applyDurable(.setPlayback(r))
        }
        if let w = loaded.weights {
            if w.weights.isValid && w.fileWeights == fileWeights {
                applyDurable(.setWeights(w.weights, fileWeights: w.fileWeights))
            } else {
                durable.weights = w
                logger.notice("runtime weights not restored: the configuration file's weights changed since they were set")
            }
        }
        for (id, n) in loaded.mistNodes {
            guard ControlPlane.isValid(.mistNode(nodeId: id, address: n.address, present: n.present)) else { skipped += 1; continue }
            durable.mistNodes[id] = n  // applied when the poller starts
        }
        if skipped > 0 { logger.warning("state store: records failing validation were skipped", metadata: ["skipped": "\(skipped)"]) }
        logger.info("durable state loaded", metadata: [
            "backend": "\(store.backend)", "location": "\(store.location)", "edges": "\(durable.edges.count)",
            "playback": "\(durable.playback.count)", "modes": "\(durable.modes.count)", "tokens": "\(durable.tokens.count)",
        ])
    }

    /// Everything as the store holds it after an outage: records this replica has that the
    /// store no longer has are removed, the rest applied (each only if it differs).
    public func resync(to state: DurableState) {
        for id in durable.edges.keys where state.edges[id] == nil { applyDurable(.removeEdge(nodeId: id)) }
        for id in durable.playback.keys where state.playback[id] == nil { applyDurable(.removePlayback(playbackId: id)) }
        for id in durable.modes.keys where state.modes[id] == nil { applyDurable(.setMode(nodeId: id, mode: .normal)) }
        for m in state.mutations { applyDurable(m) }
    }

    /// An edge report another replica received (Redis pub/sub): checked as at this replica's
    /// own door, then applied; an edge this replica does not know yet is admitted from its
    /// registration (the changelog may lag the report).
    public func applyForwardedReport(nodeId: String, body: [UInt8]) {
        guard edges[nodeId] != nil || durable.edges[nodeId] != nil else { return }
        guard let json = try? JSONParser.parse(body) else {
            countRejectedInput(source: .replica)
            return
        }
        do throws(EdgeReport.FieldError) {
            let report = try EdgeReport.parse(json, names: builder.names)
            if edges[nodeId] == nil { _ = readmit(nodeId) }
            _ = apply(report, to: nodeId)
        } catch {
            countRejectedInput(source: .replica)
        }
    }

    /// Replicas (Redis): other replicas' commits, resyncs, re-seeds and reports reach this plane;
    /// this replica's reports are published.
    public func connectReplicas(_ redis: RedisStateStore) {
        redis.onRemote = { [unowned self] ms in
            for m in ms {
                if ControlPlane.isValid(m) { applyDurable(m) } else { countRejectedInput(source: .replica) }
            }
        }
        redis.onResync = { [unowned self] state in
            var valid = DurableState()
            for m in state.mutations {
                if ControlPlane.isValid(m) { valid.apply(m) } else { countRejectedInput(source: .replica) }
            }
            resync(to: valid)
        }
        redis.seedSource = { [unowned self] in durable }
        redis.onReport = { [unowned self] node, body in applyForwardedReport(nodeId: node, body: body) }
        reportForwarder = { node, body in redis.publishReport(nodeId: node, body: body) }
        pendingForwarder = { amounts in redis.sharePending(amounts) }
        if let peers, peers.isEnabled {
            // One replica owns the cluster's PeerChannels (a lease in Redis); the others take
            // peers' edges and on-demand answers from it.
            peers.forwardRemote = { cluster, payload in redis.publishPeer(.remote, cluster, payload) }
            peers.forwardQuery = { stream in redis.publishPeer(.query, stream, []) }
            peers.forwardAnswer = { stream, found in redis.publishPeer(.answer, stream, [found ? 1 : 0]) }
            redis.onPeer = { [unowned self] kind, name, body in
                guard let peers = self.peers else { return }
                switch kind {
                case .remote: peers.receiveForwardedRemote(cluster: name, payload: body)
                case .query: peers.answerForwardedQuery(stream: name)
                case .answer: peers.receiveForwardedAnswer(stream: name, found: body.first == 1)
                }
            }
            redis.onOwnership = { [unowned self] owner in self.peers?.setOwner(owner) }
            redis.enablePeeringLease(ms: UInt64(config.peering.deadAfterS) * 1000)
        }
        redis.onPending = { [unowned self] amounts in
            builder.addSharedPending(amounts)
            schedule()
        }
    }

    /// Whether a mutation read back from a store (at start, in a resync, from another replica's
    /// changelog entry) passes the checks the API applies to the same values: a hand-edited
    /// file or a rogue writer in Redis cannot put a control byte into a response header or a
    /// log line.
    public static func isValid(_ m: StateMutation) -> Bool {
        func text(_ s: String, _ max: Int) -> Bool { InputRules.textProblem(s, maxBytes: max) == nil }
        func node(_ id: String) -> Bool { StaticState.isValidNodeId(id) || MistNodeAddress.parse(id)?.nodeId == id }
        func token(_ id: String) -> Bool { id.utf8.count == 16 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } }
        switch m {
        case .registerEdge(let r):
            return StaticState.isValidNodeId(r.nodeId) && text(r.tenant, 128) && text(r.domain, 253) && IPAddress.parse(r.publicIP) != nil
                && text(r.location, 128) && (r.baseURL.isEmpty || InputRules.baseURLProblem(r.baseURL) == nil)
        case .removeEdge(let id): return StaticState.isValidNodeId(id)
        case .redeemToken(let id, let max, _): return token(id) && max >= 1
        case .tokenUses(let id, let uses, _): return token(id) && uses >= 0
        case .revokeToken(let id, _): return token(id)
        case .setMode(let id, _): return node(id)
        case .setPlayback(let r):
            return StaticState.isValidPlaybackId(r.playbackId) && InputRules.streamNameProblem(r.stream) == nil && text(r.tenant, 128) && text(r.cluster, 128)
        case .removePlayback(let id): return StaticState.isValidPlaybackId(id)
        case .setWeights(let w, let f): return w.isValid && f.isValid
        case .mistNode(let id, let address, _): return MistNodeAddress.parse(address)?.nodeId == id
        }
    }

    /// The weights the configuration file sets.
    static func fileWeights(_ c: FoghornConfiguration) -> ScoringWeights {
        ScoringWeights(cpu: UInt64(c.weightCpu), ram: UInt64(c.weightRam), bandwidth: UInt64(c.weightBandwidth),
                       geo: UInt64(c.weightGeo), streamBonus: UInt64(c.weightStreamBonus))
    }

    /// Runtime Mist nodes from the store (once the poller exists).
    func restoreMistNodes() {
        guard let mist else { return }
        for (id, n) in durable.mistNodes.sorted(by: { $0.key < $1.key }) {
            if n.present, let a = MistNodeAddress.parse(n.address) { mist.add(a) } else if !n.present { mist.remove(id) }
        }
    }
}
