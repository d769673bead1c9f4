public import FoghornConfig
public import FoghornHTTP
public import FoghornSync
public import FoghornState
import FoghornRedis
import FoghornGeo
public import FoghornModel
public import FoghornTLS
public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The control loop's side of routing: the ``SnapshotBuilder`` that owns the routing state,
/// the timers that coalesce its changes into publishes (at most one per `rebuildDelayMs`),
/// the publisher the data loops read, the I/O sources that feed it (MistServer polling,
/// peers, the playback resolver) and configuration reloads (``ControlPlane/reload(_:)``).
/// Use only on the control loop's thread.
public final class ControlPlane: @unchecked Sendable {
    public private(set) var config: FoghornConfiguration
    public let publisher: SnapshotPublisher
    public let logger: Logger
    public let loop: EventLoop
    /// The routing state and the choice of build.
    public let builder: SnapshotBuilder
    public var tokens: EnrollmentTokens
    public let resolver: ClientAddressResolver
    public var edges: [String: EdgeState] { builder.edges }
    public var playback: PlaybackStore { builder.playback }
    public var weights: ScoringWeights { builder.weights }
    public var geo: (any GeoLookup)? { builder.geo }
    public var staleness: StalenessPolicy { builder.staleness }
    /// What has been built, by kind.
    public var builds: BuildCounts { builder.counts }
    private var generation: UInt64 = 0
    private var rebuildTimer: LoopTimer?
    private var sweepTimer: LoopTimer?
    /// The longest a change waits for the rest of its burst before it is published.
    public static let rebuildDelayMs: UInt64 = 10
    /// A burst of changes an incremental build or a refresh applies ends once this long passes
    /// without another change, and is published then, not `rebuildDelayMs` after its first
    /// change; a steady stream of reports still folds into one publish per `rebuildDelayMs`. A
    /// burst with a change only a full build applies waits the full `rebuildDelayMs`: splitting
    /// a 25 ms full build's burst in two costs more than the wait (docs/PERFORMANCE.md).
    public static let rebuildQuietMs: UInt64 = 2
    /// When the current burst's first change came (valid while the rebuild timer runs).
    private var burstStartMs: UInt64 = 0
    /// Reloads (SIGHUP) applied and refused.
    public private(set) var reloadsApplied: UInt64 = 0
    public private(set) var reloadsFailed: UInt64 = 0
    /// The control loop's pulse: long activities are marked on it for the watchdog's log line.
    public var heartbeat: LoopHeartbeat?
    /// Where durable state is committed (nil: nowhere — in-process tests); see ``persist(_:then:)``.
    public internal(set) var store: (any StateStore)?
    /// The store's content as this process knows it: registrations (evicted edges included),
    /// token uses, modes, playback records, weights and Mist nodes set at runtime.
    public internal(set) var durable = DurableState()
    /// Shares this replica's redirects (pending bandwidth by edge) with the other replicas (set with Redis).
    public var pendingForwarder: (([(nodeId: String, bytesPerSec: UInt64)]) -> Void)?
    /// Publishes an edge report this replica received to the other replicas (set with Redis).
    public var reportForwarder: ((String, [UInt8]) -> Void)?
    /// `tls.edge_certificate`, loaded (handed to enrolling edges); set at start and on SIGHUP.
    public var edgeCertificate: EdgeCertificate?
    /// Durable writes committed.
    public internal(set) var stateWritesCommitted: UInt64 = 0
    /// Commits the store refused (each answered 503 `STATE_UNAVAILABLE`).
    public internal(set) var stateWriteFailures: UInt64 = 0
    /// Values refused from polled, peer and resolver data (``RejectedInputs``).
    public private(set) var rejectedInputs = RejectedInputs()

    /// Counts `n` values refused from `source` (the caller logs them).
    public func countRejectedInput(source: InputSource, _ n: Int = 1) { rejectedInputs.add(source, n) }

    /// Stream names are interned in the configuration's table (``FoghornConfiguration/streamNames``);
    /// `retiresNames`: this plane is the only holder of its IDs (``SnapshotBuilder/retiresNames``).
    public init(config: FoghornConfiguration, loop: EventLoop, logger: Logger, dataLoops: Int, geo: (any GeoLookup)?,
                retiresNames: Bool = true) throws(ConfigError) {
        let names = config.streamNames
        self.loop = loop
        self.logger = logger
        let weights = ScoringWeights(
            cpu: UInt64(config.weightCpu), ram: UInt64(config.weightRam), bandwidth: UInt64(config.weightBandwidth),
            geo: UInt64(config.weightGeo), streamBonus: UInt64(config.weightStreamBonus))
        let staleness = StalenessPolicy(staleAfterMs: UInt64(config.edgeStaleAfterMs), evictAfterMs: UInt64(config.edgeEvictAfterMs))
        let secret = config.clusterSecret.isEmpty ? Crypto.randomBytes(32) : Array(config.clusterSecret.utf8)
        tokens = EnrollmentTokens(secret: secret)
        resolver = ClientAddressResolver(trustedProxies: config.trustedProxies.compactMap(CIDRBlock.parse))
        let statics = try StaticState.parse(config)
        // The parsed trees of static edges/records can be large (MBs); keep only the typed state.
        var trimmed = config
        trimmed.dropStaticState()
        self.config = trimmed
        builder = SnapshotBuilder(weights: weights, staleness: staleness, geo: geo, names: names, dataLoops: dataLoops,
                                  retiresNames: retiresNames, clock: ControlPlane.monotonicNs)
        builder.declare(edges: statics.edges, playback: statics.playback)
        publisher = SnapshotPublisher(builder.latest)
        builder.onNamesRetired = { [logger] retired, inUse, ms in
            logger.info("stream names retired", metadata: ["retired": "\(retired)", "in_use": "\(inUse)", "retire_ms": "\(ms)"])
        }
        builder.onFullBuildReason = { [logger] reason, slots, empty in
            logger.info("full build: \(reason)", metadata: ["slots": "\(slots)", "empty": "\(empty)"])
        }
    }

    /// Directly polled MistServer nodes (nil when none are configured and none were added).
    public private(set) var mist: MistPoller!
    /// The upstream playback resolver, when `resolver_url` is set.
    public private(set) var playbackResolver: PlaybackResolver?
    private var afterPublish: [() -> Void] = []

    /// Runs `action` right after the next snapshot is published (so data loops see the change),
    /// publishing one if nothing is pending (``whenPublished(_:)`` does not).
    public func afterNextPublish(_ action: @escaping () -> Void) {
        afterPublish.append(action)
        builder.markDirty()
        schedule()
    }

    /// Runs `action` once the changes made so far are published — at once when none is pending
    /// (nothing is published for it).
    public func whenPublished(_ action: @escaping () -> Void) {
        if builder.isDirty { afterPublish.append(action) } else { action() }
    }

    public func isStaticPlayback(_ id: String) -> Bool { playback.isStatic(id) }

    /// Federation (nil until ``start(peerSocket:)``).
    public private(set) var peers: PeerManager?

    /// Starts the timers and publishes the first snapshot. On the control loop.
    /// `peerSocket`: the bound peer listener (when peers are configured).
    public func start(peerSocket: ListeningSocket? = nil, peerTLS: TLSContextPublisher? = nil) {
        let peerManager = PeerManager(plane: self, config: config)
        peers = peerManager
        // With replicas another replica may own the peer channels: wait for the lease.
        if store is RedisStateStore { peerManager.isOwner = false }
        if let peerTLS, config.peering.tlsListen { peerManager.serverTLS = TLSContextReader(peerTLS) }
        peerManager.start(listening: peerSocket)
        if let address = ResolverAddress.parse(config.resolverUrl) {
            playbackResolver = PlaybackResolver(plane: self, address: address, config: FoghornConfigurationLike(
                caFile: config.resolverCaFile, timeoutMs: config.resolverTimeoutMs, ttlS: config.resolverTtlS, staleS: config.resolverStaleS,
                negativeTtlS: config.resolverNegativeTtlS))
        }
        mist = MistPoller(plane: self, passphrase: config.mistPassphrase, intervalS: config.mistPollIntervalS)
        for text in config.mistNodes {
            if let address = MistNodeAddress.parse(text) { mist.add(address) }
        }
        restoreMistNodes()
        mist.start()
        rebuildTimer = LoopTimer(loop: loop) { [unowned self] in rebuildNow() }
        sweepTimer = LoopTimer(loop: loop) { [unowned self] in sweep() }
        sweepTimer?.start(afterMs: 1000, repeatMs: 1000)
        rebuildNow()
    }

    public func stop() {
        peers?.stop()
        playbackResolver?.stop()
        mist?.stop()
        rebuildTimer?.close()
        sweepTimer?.close()
    }

    public static func monotonicMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    public static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func unixMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public static func unixSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    // MARK: Mutations (each schedules a publish)

    /// Schedules the publish of what changed in the builder. Changes are published in bursts:
    /// ``rebuildQuietMs`` after the last change, at most ``rebuildDelayMs`` after the first; a
    /// burst with a change only a full build applies at ``rebuildDelayMs`` after its first.
    func schedule() {
        guard let timer = rebuildTimer, builder.isDirty else { return }
        let pendingOnly = builder.onlyPendingChanged
        if timer.isActive {
            // Part of a running burst: a pending shipment rides along; anything else moves the
            // publish to `rebuildQuietMs` from now, never past the burst's `rebuildDelayMs`.
            if pendingOnly { return }
            let now = ControlPlane.monotonicMs()
            let end = burstStartMs + ControlPlane.rebuildDelayMs
            let due = builder.fullBuildDue ? end : min(end, now + ControlPlane.rebuildQuietMs)
            timer.start(afterMs: due > now ? due - now : 0)
            return
        }
        if pendingOnly {
            // Pending-only (a loop's shipment): the refresh is O(edges), so publish it now rather
            // than waking the loop again later — one wakeup per shipment, not two.
            rebuildNow()
            return
        }
        burstStartMs = ControlPlane.monotonicMs()
        timer.start(afterMs: builder.fullBuildDue ? ControlPlane.rebuildDelayMs : ControlPlane.rebuildQuietMs)
    }

    /// Peers' edges from now on (``PeerManager``): renumbered in by the next publish.
    public func setRemoteEdges(_ entries: [(edge: EdgeState, updatedMs: UInt64)]) {
        builder.setRemoteEdges(entries)
        schedule()
    }

    /// Adds or replaces an edge (enrollment, a polled MistServer node's sample).
    public func upsertEdge(_ edge: EdgeState) {
        builder.upsertEdge(edge)
        schedule()
    }

    /// Applies a report: a load refresh when it changes only load, an incremental build otherwise.
    public func apply(_ report: EdgeReport, to nodeId: String) -> Bool {
        defer { schedule() }
        let applied = builder.apply(report, to: nodeId, nowMs: ControlPlane.monotonicMs())
        if applied, let totals = report.streamByteTotals {
            reportedStreamBytes[nodeId] = totals.isEmpty ? nil : Dictionary(totals.map { ($0.name, ($0.up, $0.down)) }, uniquingKeysWith: { a, _ in a })
        }
        return applied
    }

    /// Edges' last reported cumulative stream bytes (`bytes_up`/`bytes_down`), by node and stream.
    private var reportedStreamBytes: [String: [String: (up: UInt64, down: UInt64)]] = [:]

    /// Stream `name`'s cumulative bytes (up, down) on node `id`: a polled MistServer node's
    /// `bw`, else what the edge last reported; nil when neither is known.
    public func streamBytes(node id: String, stream name: String) -> (up: UInt64, down: UInt64)? {
        if let polled = mist.streamBytes(node: id, stream: name) { return polled }
        guard edges[id] != nil else { return nil }
        return reportedStreamBytes[id]?[name]
    }

    public func setMode(_ mode: EdgeMode, of nodeId: String) -> Bool {
        defer { schedule() }
        return builder.setMode(mode, of: nodeId)
    }

    public func removeEdge(_ nodeId: String) -> Bool {
        defer { schedule() }
        reportedStreamBytes[nodeId] = nil
        return builder.removeEdge(nodeId)
    }

    /// Adds or replaces a playback record (a playback patch).
    public func setPlayback(_ record: PlaybackRecord) {
        builder.setPlayback(record)
        schedule()
    }

    public func removePlayback(_ id: String) -> Bool {
        defer { schedule() }
        return builder.removePlayback(id)
    }

    /// New scoring weights (a reweighting, not a full build).
    public func setWeights(_ w: ScoringWeights) {
        builder.setWeights(w)
        schedule()
    }

    /// A new GeoIP lookup (database reloaded): published like new weights.
    public func setGeo(_ lookup: (any GeoLookup)?) {
        builder.setGeo(lookup)
        schedule()
    }

    /// Folds a data loop's redirects since its last shipment into the edges' pending bandwidth.
    public func receiveShipment(loop index: Int, sequence: UInt64, amounts: [(nodeId: String, bytesPerSec: UInt64)]) {
        builder.receiveShipment(loop: index, sequence: sequence, amounts: amounts)
        pendingForwarder?(amounts)
        schedule()
    }

    // MARK: Reload


    /// Takes over a re-read configuration (SIGHUP): static edges and playback records,
    /// weights (when the file changed them), the GeoIP database, the polled Mist nodes.
    /// Everything is validated before anything changes; on error the old state stays.
    /// Returns the keys that changed but need a restart.
    ///
    /// Only what differs from the running state is applied, each change the way a runtime one
    /// is: an edge declared anew is renumbered in, one gone renumbered out, a changed one
    /// refreshed or restructured like a report; changed playback records patch the playback
    /// table; new weights or another GeoIP database recompute the scoring rows. An unchanged
    /// file publishes nothing, and no reload takes a full build (≈ 45 ms at 10,000 edges × 100
    /// streams, against a few ms for these).
    public func reload(_ new: FoghornConfiguration) throws(ConfigError) -> [String] {
        var statics = try StaticState.parse(new, into: builder.names)
        if !builder.standingModes.isEmpty {  // an operator's mode outlives the file's
            var index: [String: Int] = [:]
            for (k, e) in statics.edges.enumerated() where builder.standingModes[e.nodeId] != nil { index[e.nodeId] = k }
            for (id, k) in index { statics.edges[k].mode = builder.standingModes[id]! }
        }
        var newGeo = geo
        if new.geoipDb != config.geoipDb || (!new.geoipDb.isEmpty && geo == nil) {
            if new.geoipDb.isEmpty {
                newGeo = nil
            } else {
                do throws(MMDBGeoDatabase.OpenError) {
                    newGeo = try MMDBGeoDatabase(path: new.geoipDb)
                } catch {
                    throw ConfigError(key: "geoip_db", problem: error.description, source: "reload")
                }
            }
        } else if !new.geoipDb.isEmpty, let db = try? MMDBGeoDatabase(path: new.geoipDb) {
            // Same path: the file may have been replaced; an unchanged one keeps the running lookup.
            if let running = geo as? MMDBGeoDatabase, running.isSameDatabase(as: db) {} else { newGeo = db }
        }
        // Static edges: replace the config-declared ones (not Mist-polled, not enrolled).
        let mistIds = Set(mist?.nodes.keys.map { $0 } ?? [])
        let newStaticIds = Set(statics.edges.map(\.nodeId))
        defer { schedule() }
        builder.removeStaticEdges { id in !mistIds.contains(id) && !newStaticIds.contains(id) }
        builder.redeclareStaticEdges(statics.edges)
        // Static playback records.
        builder.replaceStaticPlayback(with: statics.playback)
        // Weights only when the file's weights changed (runtime PUT /v1/weights otherwise stands).
        let oldFileWeights = [config.weightCpu, config.weightRam, config.weightBandwidth, config.weightGeo, config.weightStreamBonus]
        let newFileWeights = [new.weightCpu, new.weightRam, new.weightBandwidth, new.weightGeo, new.weightStreamBonus]
        if oldFileWeights != newFileWeights {
            setWeights(ScoringWeights(cpu: UInt64(new.weightCpu), ram: UInt64(new.weightRam), bandwidth: UInt64(new.weightBandwidth),
                                      geo: UInt64(new.weightGeo), streamBonus: UInt64(new.weightStreamBonus)))
        }
        if newGeo !== geo { setGeo(newGeo) }
        // Mist nodes.
        if let mist {
            let wanted = Dictionary(new.mistNodes.compactMap(MistNodeAddress.parse).map { ($0.nodeId, $0) }, uniquingKeysWith: { a, _ in a })
            let configured = Set(config.mistNodes.compactMap(MistNodeAddress.parse).map(\.nodeId))
            for id in configured where wanted[id] == nil { mist.remove(id) }
            for (_, address) in wanted { mist.add(address) }
        }
        let (restart, trimmed) = ControlPlane.takeOver(new, running: config)
        config = trimmed
        reloadsApplied += 1
        return restart
    }

    /// The configuration a reload runs with: `new` for every live key (``ConfigKeys/reloadClasses``),
    /// the running value for every restart-only key or field — so `/debug/config` and later
    /// reloads tell the truth — and the names of the restart-only ones that changed (`mist.passphrase`
    /// for a field). Static edges and records are dropped (they live in the plane).
    public static func takeOver(_ new: FoghornConfiguration, running: FoghornConfiguration) -> (restart: [String], config: FoghornConfiguration) {
        var restart: [String] = []
        var taken = new
        taken.streamNames = running.streamNames  // its static edges were interned in the running table
        taken.dropStaticState()
        for key in ConfigKeys.all {
            switch key.reload {
            case .live:
                continue
            case .restart:
                guard !key.fields.same(running, new) else { continue }
                restart.append(key.name)
                key.fields.copy(&taken, running)
            case .partly(let restartOnly):
                for (field, fields) in restartOnly where !fields.same(running, new) {
                    restart.append(key.name + "." + field)
                    fields.copy(&taken, running)
                }
            }
        }
        return (restart, taken)
    }


    /// Counts a refused reload (unreadable or invalid file, or ``reload(_:)`` threw).
    public func recordReloadFailure() {
        reloadsFailed += 1
    }

    // MARK: Publishing

    /// Snapshots this loop replaced, kept until no data loop holds them any more: the last
    /// release of a snapshot frees the whole routing state (≈ 2.5 ms at 10,000 edges × 100
    /// streams), and it belongs here, not on a data loop in the middle of a viewer's request.
    private var retired: [RoutingSnapshot] = []
    /// Replaced snapshots still held by a data loop (or just released by all of them).
    public var retiredSnapshotCount: Int { retired.count }

    /// Releases, on this loop, each replaced snapshot that no data loop holds any more (loops
    /// only ever let go of old snapshots, so one found unreferenced stays that way), then frees
    /// retired stream names nothing can read any more. Runs at each publish and each sweep.
    public func releaseRetired() {
        var i = 0
        while i < retired.count {
            if isKnownUniquelyReferenced(&retired[i]) {
                retired.swapAt(i, retired.count - 1)
                retired.removeLast()
            } else {
                i += 1
            }
        }
        let oldest = retired.reduce(publisher.snapshot.generation) { min($0, $1.generation) }
        let startedNs = ControlPlane.monotonicNs()
        if let freed = builder.reclaimNames(oldestReadGeneration: oldest) {
            logger.info("stream names freed", metadata: ["freed": "\(freed)", "free_ms": "\(ControlPlane.elapsedMs(since: startedNs))"])
        }
    }

    /// Milliseconds since `startedNs` (``monotonicNs()``), to two decimals, for log lines.
    static func elapsedMs(since startedNs: UInt64) -> Double {
        Double((monotonicNs() &- startedNs) / 10_000) / 100
    }

    /// Builds and publishes a snapshot now (tests and the coalescing timer).
    public func rebuildNow() {
        if let heartbeat { return heartbeat.during(.rebuild) { rebuild() } }
        rebuild()
    }

    private func rebuild() {
        generation += 1
        let (snapshot, _) = builder.next(generation: generation, nowMs: ControlPlane.monotonicMs())
        // The snapshot just replaced is freed at the next publish or sweep, not now: freed here,
        // its memory went back right before the next build, whose large copies then faulted in
        // fresh pages instead (docs/PERFORMANCE.md, "Measurements behind constants").
        let replaced = publisher.snapshot
        retired.append(replaced)
        publisher.publish(snapshot)
        releaseRetired()
        withExtendedLifetime(replaced) {}
        guard !afterPublish.isEmpty else { return }
        let actions = afterPublish
        afterPublish.removeAll()
        for a in actions { a() }
    }

    /// Once a second: evict long-silent edges, refresh the edges whose health changed, age
    /// pending bandwidth (``SnapshotBuilder/sweep(nowMs:)``).
    func sweep() {
        releaseRetired()
        playbackResolver?.sweep()
        for id in builder.sweep(nowMs: ControlPlane.monotonicMs()) {
            reportedStreamBytes[id] = nil
            logger.notice("edge evicted after silence", metadata: ["node_id": "\(id)"])
        }
        schedule()
    }
}
