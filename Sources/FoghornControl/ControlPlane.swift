public import FoghornConfig
public import FoghornHTTP
public import FoghornSync
import FoghornGeo
public import FoghornModel
public import FoghornTLS
public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// All mutable routing state, owned by the control loop: edges, playback
/// records, weights, enrollment. Every change marks the state dirty; rebuilds
/// are coalesced (at most one per `rebuildDelayMs`) into a new immutable
/// ``RoutingSnapshot`` handed to the data loops through the publisher.
/// Use only on the control loop's thread.
public final class ControlPlane: @unchecked Sendable {
    public private(set) var config: FoghornConfiguration
    public let publisher: SnapshotPublisher
    public let logger: Logger
    public let loop: EventLoop
    public private(set) var edges: [String: EdgeState] = [:] {
        didSet { if edges.count != sortedPositions.count { reindex() } }
    }
    /// Positions in `edges`' iteration order, sorted by node ID (the order snapshots index
    /// edges by): a full build reads the edges through it and maps each position to its slot
    /// without hashing a node ID (10,000 lookups and as many again for the slot map: ≈ 3 ms per
    /// build at 10,000 edges). Recomputed when a key is added or removed — only that reorders a
    /// dictionary (see `slotByOrder`).
    private var sortedPositions: [Int] = []
    /// For each edge in `edges`' iteration order, its index in the last full snapshot (-1: not
    /// in it), so pending-only refreshes and sweeps walk the table without hashing a node ID
    /// per edge (10,000 edges: ≈ 1 ms per refresh, 20 refreshes a second under load). Valid
    /// while `structuralDirty` is false: only inserting or removing a key reorders a
    /// dictionary, and both are structural changes, rebuilt (and re-mapped) in full.
    private var slotByOrder: [Int32] = []
    private var slotsValid: Bool { !structuralDirty && slotByOrder.count == edges.count }
    public private(set) var playback = PlaybackStore()
    public private(set) var weights: ScoringWeights
    public var tokens: EnrollmentTokens
    public let staleness: StalenessPolicy
    public private(set) var geo: (any GeoLookup)?
    public let resolver: ClientAddressResolver
    /// Per data loop, the last shipment of pending-viewer deltas applied.
    private var appliedShipments: [UInt64]
    private var generation: UInt64 = 0
    private var dirty = false
    private var structuralDirty = true
    /// A change only a full build applies (the first snapshot; an edge turning into or from a
    /// peer's, which ``RoutingSnapshot/canRestructure(from:to:)`` declines) since the last
    /// publish. Edges added or removed, peers' summaries, playback records, weights, GeoIP and
    /// reloads are applied incrementally; an incremental build that runs out of spare column
    /// room compacts the columns itself.
    private var fullBuildDue = true
    private var rebuildTimer: LoopTimer?
    private var sweepTimer: LoopTimer?
    /// The longest a change waits for the rest of its burst before it is published.
    public static let rebuildDelayMs: UInt64 = 10
    /// A burst of changes an incremental build or a refresh applies (reports, modes, edges
    /// added or removed, peers' summaries, playback records, weights, GeoIP) ends once this long
    /// passes without another change, and is published then, not `rebuildDelayMs` after its first
    /// change; a steady stream of reports still folds into one publish per `rebuildDelayMs`. A
    /// burst with a change only a full build applies (the first snapshot) waits the full `rebuildDelayMs`: a full build at 10,000 edges × 100
    /// streams costs ≈ 25 ms, so splitting a burst in two costs more than the wait (with the quiet
    /// period applied to those too, perf/report_to_route.py's full-build rounds went p99 61 → 98 ms).
    /// Enrolment + reports at that size (renumbering builds, ≈ 11 ms): p50 33.3 → 24.5 ms with the
    /// quiet period.
    public static let rebuildQuietMs: UInt64 = 2
    /// When the current burst's first change came (valid while the rebuild timer runs).
    private var burstStartMs: UInt64 = 0
    public private(set) var rebuilds: UInt64 = 0
    /// Reloads (SIGHUP) applied and refused.
    public private(set) var reloadsApplied: UInt64 = 0
    public private(set) var reloadsFailed: UInt64 = 0
    /// Snapshots that only refreshed pending bandwidth (no full rebuild).
    public private(set) var pendingRefreshes: UInt64 = 0
    /// Snapshots that applied reports changing only load (no full rebuild; see
    /// ``RoutingSnapshot/isLoadOnlyChange(from:to:)``).
    public private(set) var loadRefreshes: UInt64 = 0
    /// Edges whose reports changed only their load since the last publish.
    private var loadChanged: Set<String> = []
    /// Edges changed in more than load since the last publish — streams started or ended, moved,
    /// drained, re-tagged — but still there: an incremental build applies them
    /// (``RoutingSnapshot/restructured(_:pending:changedEdges:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``).
    private var restructureChanged: Set<String> = []
    /// Peer clusters' edges changed since the last publish (``remoteEdgesChanged()``).
    private var remoteChanged = false
    /// Weights or the GeoIP lookup changed since the last publish (rows and bounds recomputed).
    private var settingsChanged = false
    /// Playback IDs set or removed since the last publish (the snapshot's table is patched).
    private var playbackChanged: Set<String> = []
    /// Snapshots built incrementally (edges or playback records changed) instead of in full.
    public private(set) var incrementalBuilds: UInt64 = 0
    /// Incremental builds that compacted the candidate columns (spare room used up) instead of
    /// falling back to a full build.
    public private(set) var columnCompactions: UInt64 = 0
    public private(set) var evictions: UInt64 = 0
    /// Full builds taken to drop the slots of streams that ended (``emptyStreamSlotFloor``).
    public private(set) var streamSlotCompactions: UInt64 = 0

    /// Incremental builds keep the slot of a stream that ended (empty: no candidates) so that
    /// every other stream keeps its slot; under churn (streams coming and going all day) the
    /// slots would grow without bound and every build copies them. Once at least this many slots
    /// — and at least as many as are live — are empty, the next build is a full one, which lays
    /// out only live streams. Amortised: a full build per `max(4,096, live streams)` streams ended.
    public static let emptyStreamSlotFloor = 4096
    /// The published snapshot's slot count at which empty slots are counted next (O(slots)).
    private var streamSlotCheckAt = ControlPlane.emptyStreamSlotFloor

    /// Gives stream names no edge, peer edge or playback record uses back to
    /// ``StreamNameTable/shared`` (see there): only for the process's one control plane, when
    /// nothing else in the process holds stream IDs (`foghorn serve`; tests that hold IDs of
    /// their own leave it off).
    public var reclaimsStreamNames = false
    /// A configuration is being read on another thread (its IDs are held there): no retiring.
    public var readingConfiguration = false
    /// The control loop's pulse: long activities are marked on it for the watchdog's log line.
    public var heartbeat: LoopHeartbeat?
    /// Values refused from polled, peer and resolver data (``RejectedInputs``).
    public private(set) var rejectedInputs = RejectedInputs()

    /// Counts `n` values refused from `source` (the caller logs them).
    public func countRejectedInput(source: InputSource, _ n: Int = 1) { rejectedInputs.add(source, n) }
    /// Once this many names are interned, the next build is a full one and retires the unused
    /// ones: `max(65,536, in use)` more than after the last retirement.
    public static let nameSweepFloor = 65_536
    private var nameSweepAt = StreamNameTable.shared.interned + ControlPlane.nameSweepFloor
    /// Names retired after the full build of `generation`: freed once no snapshot up to it is held.
    private var retiredNames: (generation: UInt64, names: StreamNameTable.RetiredNames)?
    /// Retirements (full builds that listed the names in use).
    public private(set) var nameSweeps: UInt64 = 0

    public init(config: FoghornConfiguration, loop: EventLoop, logger: Logger, dataLoops: Int, geo: (any GeoLookup)?) throws(ConfigError) {
        self.loop = loop
        self.logger = logger
        self.geo = geo
        weights = ScoringWeights(
            cpu: UInt64(config.weightCpu), ram: UInt64(config.weightRam), bandwidth: UInt64(config.weightBandwidth),
            geo: UInt64(config.weightGeo), streamBonus: UInt64(config.weightStreamBonus))
        staleness = StalenessPolicy(staleAfterMs: UInt64(config.edgeStaleAfterMs), evictAfterMs: UInt64(config.edgeEvictAfterMs))
        let secret = config.clusterSecret.isEmpty ? Crypto.randomBytes(32) : Array(config.clusterSecret.utf8)
        tokens = EnrollmentTokens(secret: secret)
        resolver = ClientAddressResolver(trustedProxies: config.trustedProxies.compactMap(CIDRBlock.parse))
        appliedShipments = [UInt64](repeating: 0, count: dataLoops)
        let statics = try StaticState.parse(config)
        // The parsed trees of static edges/records can be large (MBs); keep only the typed state.
        var trimmed = config
        trimmed.dropStaticState()
        self.config = trimmed
        for var e in statics.edges {
            if e.publicHost.isEmpty { e.resolveURLs() }
            edges[e.nodeId] = e
        }
        playback.reserveCapacity(statics.playback.count)
        for p in statics.playback { playback.set(p, isStatic: true) }
        publisher = SnapshotPublisher(RoutingSnapshot.empty(weights: weights))
        reindex()  // observers do not run during init
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
        markDirty(structural: false)
    }

    /// Runs `action` once the changes made so far are published — at once when none is pending
    /// (nothing is published for it).
    public func whenPublished(_ action: @escaping () -> Void) {
        if dirty { afterPublish.append(action) } else { action() }
    }

    public func isStaticPlayback(_ id: String) -> Bool { playback.isStatic(id) }

    /// Federation (nil until ``start(peerSocket:)``).
    public private(set) var peers: PeerManager?

    /// Starts the timers and publishes the first snapshot. On the control loop.
    /// `peerSocket`: the bound peer listener (when peers are configured).
    public func start(peerSocket: ListeningSocket? = nil, peerTLS: TLSContextPublisher? = nil) {
        let peerManager = PeerManager(plane: self, config: config)
        peers = peerManager
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

    public static func unixSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    // MARK: Mutations (each marks dirty)

    /// `structural: false` when only pending bandwidth changed (a cheap refresh suffices).
    /// Changes are published in bursts: ``rebuildQuietMs`` after the last change, at most
    /// ``rebuildDelayMs`` after the first; a burst with a change only a full build applies at
    /// ``rebuildDelayMs`` after its first change.
    public func markDirty(structural: Bool = true) {
        markDirty(structural: structural, fullBuild: structural)
    }

    /// `fullBuild: false` for a structural change an incremental build can apply: edges added or
    /// removed, peers' edges (``RoutingSnapshot/reindexed(_:localEdges:remoteEdges:changedNodeIds:localPending:remotePending:playback:playbackStreamIds:generation:nowMs:appliedShipments:clock:)``).
    private func markDirty(structural: Bool, fullBuild: Bool) {
        dirty = true
        if structural { structuralDirty = true }
        if fullBuild { fullBuildDue = true }
        guard let timer = rebuildTimer else { return }
        let pendingOnly = !structuralDirty && loadChanged.isEmpty && restructureChanged.isEmpty && playbackChanged.isEmpty && !settingsChanged
        if timer.isActive {
            // Part of a running burst: a pending shipment rides along; anything else moves the
            // publish to `rebuildQuietMs` from now, never past the burst's `rebuildDelayMs`.
            if pendingOnly { return }
            let now = ControlPlane.monotonicMs()
            let end = burstStartMs + ControlPlane.rebuildDelayMs
            let due = fullBuildDue ? end : min(end, now + ControlPlane.rebuildQuietMs)
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
        timer.start(afterMs: fullBuildDue ? ControlPlane.rebuildDelayMs : ControlPlane.rebuildQuietMs)
    }

    /// The peers' edges (``PeerManager``'s remote states) changed: the next publish renumbers
    /// them in incrementally, like edges added or removed, instead of a full build.
    public func remoteEdgesChanged() {
        remoteChanged = true
        markDirty(structural: true, fullBuild: false)
    }

    /// Adds or replaces an edge (enrollment, a polled MistServer node's sample). Replacing one with
    /// a load-only change is published by a load refresh, like a report.
    public func upsertEdge(_ edge: EdgeState) {
        let before = edges[edge.nodeId]
        var edge = edge
        if edge.publicHost.isEmpty { edge.resolveURLs() }  // resolved once here, not by every snapshot build
        edges[edge.nodeId] = edge
        markChanged(edge, before: before)
    }

    private func markChanged(_ edge: EdgeState, before: EdgeState?) {
        if let before, RoutingSnapshot.isLoadOnlyChange(from: before, to: edge) {
            loadChanged.insert(edge.nodeId)
            markDirty(structural: false)
        } else if let before, RoutingSnapshot.canRestructure(from: before, to: edge) {
            restructureChanged.insert(edge.nodeId)
            markDirty(structural: false)
        } else {
            markDirty(structural: true, fullBuild: before != nil || edge.isRemote)  // a new edge: renumbered incrementally
        }
    }

    /// Applies a report. One that changes only the edge's load is published by a load refresh
    /// (O(edges + candidates), a few ms at 10,000 edges × 100 streams), anything else (streams,
    /// position, URLs…) by an incremental build (≈ 1 ms there), both after the usual coalescing
    /// delay (an incremental build that runs out of spare room compacts).
    public func apply(_ report: EdgeReport, to nodeId: String) -> Bool {
        guard let before = edges[nodeId] else { return false }
        var edge = before
        report.apply(to: &edge, nowMs: ControlPlane.monotonicMs())
        edges[nodeId] = edge
        markChanged(edge, before: before)
        return true
    }

    public func setMode(_ mode: EdgeMode, of nodeId: String) -> Bool {
        guard let before = edges[nodeId] else { return false }
        var edge = before
        edge.mode = mode
        edges[nodeId] = edge
        markChanged(edge, before: before)
        return true
    }

    public func removeEdge(_ nodeId: String) -> Bool {
        guard edges.removeValue(forKey: nodeId) != nil else { return false }
        markDirty(structural: true, fullBuild: false)
        return true
    }

    /// Adds or replaces a playback record; published by patching the snapshot's playback
    /// table (``RoutingSnapshot/updatingPlayback(_:playback:playbackStreamIds:positions:generation:nowMs:appliedShipments:clock:)``).
    public func setPlayback(_ record: PlaybackRecord) {
        playback.set(record)
        playbackChanged.insert(record.playbackId)
        markDirty(structural: false)
    }

    public func removePlayback(_ id: String) -> Bool {
        guard playback.remove(id) else { return false }
        playbackChanged.insert(id)
        markDirty(structural: false)
        return true
    }

    /// New scoring weights: published by recomputing every scoring row and the index bounds
    /// (``RoutingSnapshot/init(reconfiguring:weights:geo:pending:generation:nowMs:appliedShipments:clock:)``), not a full build.
    public func setWeights(_ w: ScoringWeights) {
        weights = w
        settingsChanged = true
        markDirty(structural: false)
    }

    /// A new GeoIP lookup (database reloaded): published like new weights.
    public func setGeo(_ lookup: (any GeoLookup)?) {
        geo = lookup
        settingsChanged = true
        markDirty(structural: false)
    }

    /// Folds a data loop's redirects since its last shipment into the edges' pending bandwidth.
    public func receiveShipment(loop index: Int, sequence: UInt64, amounts: [(nodeId: String, bytesPerSec: UInt64)]) {
        for (nodeId, bytes) in amounts {
            // In place through the index: no copy of the edge (a dictionary read would copy it).
            if let i = edges.index(forKey: nodeId) {
                edges.values[i].addPending(bytes)
            } else {
                peers?.addPending(nodeId, bytes)
            }
        }
        if index < appliedShipments.count { appliedShipments[index] = max(appliedShipments[index], sequence) }
        markDirty(structural: false)
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
        let statics = try StaticState.parse(new)
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
        var gone: [String] = []
        for i in edges.indices where edges.values[i].isStatic {
            let id = edges.keys[i]
            if !mistIds.contains(id) && !newStaticIds.contains(id) { gone.append(id) }
        }
        for id in gone { _ = removeEdge(id) }
        for k in statics.edges.indices {
            let i = edges.index(forKey: statics.edges[k].nodeId)
            if let i, ControlPlane.isSameStaticEdge(&edges.values[i], statics.edges[k]) { continue }
            var e = statics.edges[k]
            if e.publicHost.isEmpty { e.resolveURLs() }  // the reload thread resolves them; a config set in code, here
            guard let i else {
                edges[e.nodeId] = e
                markChanged(e, before: nil)
                continue
            }
            let before = edges.values[i]
            if before.pendingBytesPerSec > 0 { e.addPending(before.pendingBytesPerSec) }
            edges.values[i] = e
            markChanged(e, before: before)
        }
        // Static playback records.
        let playbackChanges = playback.replaceStatic(with: statics.playback)
        if !playbackChanges.isEmpty {
            playbackChanged.formUnion(playbackChanges)
            markDirty(structural: false)
        }
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

    /// Whether a static edge re-read from the file (`new`) is exactly the running one but for
    /// the pending bandwidth the running one keeps: then a reload leaves it alone. Resolved
    /// URLs follow from the base URL and outputs, which are compared. `running` is `inout` only
    /// so that a dictionary value is reached through its `_modify` accessor: its getter copies
    /// the edge (≈ 20 retains and releases; 10,000 edges: apply 16.3–20.3 → 14.4–15.7 ms).
    static func isSameStaticEdge(_ running: inout EdgeState, _ new: borrowing EdgeState) -> Bool {
        running.isStatic && running.hasSameDefinition(as: new) && running.publicIP == new.publicIP && running.domain == new.domain
            && running.downBytesPerSec == new.downBytesPerSec && running.configStreams == new.configStreams && running.pollError == new.pollError
    }

    /// Counts a refused reload (unreadable or invalid file, or ``reload(_:)`` threw).
    public func recordReloadFailure() {
        reloadsFailed += 1
    }

    // MARK: Snapshots

    private func reindex() {
        let keys = Array(edges.keys)
        sortedPositions = keys.indices.sorted { keys[$0] < keys[$1] }
    }

    /// Snapshots this loop replaced, kept until no data loop holds them any more: the last
    /// release of a snapshot frees the whole routing state (≈ 2.5 ms at 10,000 edges × 100
    /// streams), and it belongs here, not on a data loop in the middle of a viewer's request.
    private var retired: [RoutingSnapshot] = []
    /// Replaced snapshots still held by a data loop (or just released by all of them).
    public var retiredSnapshotCount: Int { retired.count }

    private func publish(_ snapshot: RoutingSnapshot) {
        let before = publisher.snapshot.columnCompactions
        if snapshot.columnCompactions > before { columnCompactions += UInt64(snapshot.columnCompactions - before) }
        retired.append(publisher.snapshot)
        publisher.publish(snapshot)
        releaseRetired()
    }

    /// Releases, on this loop, each replaced snapshot that no data loop holds any more (loops
    /// only ever let go of old snapshots, so one found unreferenced stays that way). Runs at
    /// each publish and each sweep.
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
        if retiredNames != nil { reclaimNamesIfUnread() }
    }

    /// Enough names interned since the last retirement, none pending, none held by a read.
    private var nameSweepDue: Bool {
        reclaimsStreamNames && retiredNames == nil && !readingConfiguration && StreamNameTable.shared.interned >= nameSweepAt
    }

    /// Right after a full build (every later snapshot derives from it and the state, which hold
    /// only the IDs listed here): retires the names nothing here uses.
    private func retireUnusedNames() {
        let startedNs = ControlPlane.monotonicNs()
        let table = StreamNameTable.shared
        var inUse = [Bool](repeating: false, count: table.count)
        func mark(_ e: borrowing EdgeState) {
            for id in e.streamIds where Int(id) < inUse.count { inUse[Int(id)] = true }
        }
        for i in edges.values.indices { mark(edges.values[i]) }
        if let remote = peers?.remoteStates { for e in remote { mark(e) } }
        for id in playback.streamIds where id >= 0 && Int(id) < inUse.count { inUse[Int(id)] = true }
        let retired = table.retireUnused(inUse: inUse)
        nameSweeps += 1
        let inUseCount = table.interned - retired.ids.count
        nameSweepAt = inUseCount + max(ControlPlane.nameSweepFloor, inUseCount)
        logger.info("stream names retired", metadata: [
            "retired": "\(retired.ids.count)", "in_use": "\(inUseCount)", "retire_ms": "\(ControlPlane.elapsedMs(since: startedNs))",
        ])
        retiredNames = (publisher.snapshot.generation, retired)
        reclaimNamesIfUnread()
    }

    /// Frees the retired names once every snapshot up to the retiring full build is gone (the
    /// published one is newer and no replaced one that old is still held by a data loop).
    private func reclaimNamesIfUnread() {
        guard let (generation, names) = retiredNames, publisher.snapshot.generation > generation,
              !retired.contains(where: { $0.generation <= generation }) else { return }
        retiredNames = nil
        let startedNs = ControlPlane.monotonicNs()
        let freed = StreamNameTable.shared.reclaim(names)
        logger.info("stream names freed", metadata: ["freed": "\(freed)", "free_ms": "\(ControlPlane.elapsedMs(since: startedNs))"])
    }

    /// Milliseconds since `startedNs` (``monotonicNs()``), to two decimals, for log lines.
    private static func elapsedMs(since startedNs: UInt64) -> Double {
        Double((monotonicNs() &- startedNs) / 10_000) / 100
    }

    /// Builds and publishes a snapshot now (tests and the coalescing timer).
    public func rebuildNow() {
        if let heartbeat { return heartbeat.during(.rebuild) { rebuild() } }
        rebuild()
    }

    private func rebuild() {
        dirty = false
        generation += 1
        var previous = publisher.snapshot
        if !fullBuildDue && previous.streams.count >= streamSlotCheckAt {
            let slots = previous.streams.count, empty = slots - previous.liveStreamCount
            if empty >= max(ControlPlane.emptyStreamSlotFloor, slots - empty) {
                fullBuildDue = true
                structuralDirty = true
                streamSlotCompactions += 1
                logger.info("full build: empty stream slots dropped", metadata: ["slots": "\(slots)", "empty": "\(empty)"])
            } else {
                streamSlotCheckAt = slots + max(ControlPlane.emptyStreamSlotFloor, slots / 2)
            }
        }
        if !fullBuildDue && nameSweepDue {
            fullBuildDue = true
            structuralDirty = true
        }
        if settingsChanged && !fullBuildDue {
            // New weights or GeoIP: every row and the bounds again, everything else on top.
            previous = RoutingSnapshot(reconfiguring: previous, weights: weights, geo: geo, pending: pendingBySlot(previous), generation: generation,
                                       nowMs: ControlPlane.monotonicMs(), appliedShipments: appliedShipments, clock: ControlPlane.monotonicNs)
            incrementalBuilds += 1
        }
        settingsChanged = false
        if !playbackChanged.isEmpty && !fullBuildDue {
            // Records set or removed: the playback table patched first, everything else on top.
            var positions = Set<Int>()
            for id in playbackChanged {
                if let p = previous.playbackIndex(id) { positions.insert(p) }
                if let p = playback.index(of: id) { positions.insert(p) }
            }
            if let patched = RoutingSnapshot.updatingPlayback(
                previous, playback: playback.records, playbackStreamIds: playback.streamIds, positions: positions, generation: generation,
                nowMs: ControlPlane.monotonicMs(), appliedShipments: appliedShipments, clock: ControlPlane.monotonicNs) {
                previous = patched
                incrementalBuilds += 1
            } else {
                fullBuildDue = true
                structuralDirty = true
            }
        }
        playbackChanged.removeAll(keepingCapacity: true)
        if !structuralDirty {
            // Changed edges by index in the published snapshot; an edge it does not have (cannot
            // happen without a structural change, but cheap to check) means a full build.
            var changed: [(index: Int, edge: EdgeState)] = []
            changed.reserveCapacity(loadChanged.count + restructureChanged.count)
            var complete = true
            for id in loadChanged.union(restructureChanged) {
                guard let i = previous.edgeIndex(nodeId: id), i < previous.localEdgeCount, let e = edges[id] else { complete = false; break }
                changed.append((i, e))
            }
            if complete && restructureChanged.isEmpty {
                loadChanged.removeAll(keepingCapacity: true)
                let pending = pendingBySlot(previous)
                publish(RoutingSnapshot(
                    refreshing: previous, pending: pending, changedEdges: changed, generation: generation, nowMs: ControlPlane.monotonicMs(),
                    appliedShipments: appliedShipments, clock: ControlPlane.monotonicNs))
                if changed.isEmpty { pendingRefreshes += 1 } else { loadRefreshes += 1 }
                runAfterPublish()
                return
            }
            if complete, let snapshot = RoutingSnapshot.restructured(
                previous, pending: pendingBySlot(previous), changedEdges: changed, playback: playback.records, playbackStreamIds: playback.streamIds,
                generation: generation, nowMs: ControlPlane.monotonicMs(), appliedShipments: appliedShipments, clock: ControlPlane.monotonicNs) {
                loadChanged.removeAll(keepingCapacity: true)
                restructureChanged.removeAll(keepingCapacity: true)
                publish(snapshot)
                incrementalBuilds += 1
                runAfterPublish()
                return
            }
        }
        let positions = Array(edges.indices)  // iteration order; no hashing
        let localEdges = sortedPositions.map { edges.values[positions[$0]] }
        let snapshot: RoutingSnapshot
        var fullBuilt = false
        if !fullBuildDue, let reindexed = RoutingSnapshot.reindexed(
            previous, localEdges: localEdges, remoteEdges: remoteChanged ? peers?.remoteStates ?? [] : nil,
            changedNodeIds: loadChanged.union(restructureChanged), localPending: localEdges.map(\.pendingBytesPerSec),
            remotePending: { [peers] in peers?.pendingOf($0) }, playback: playback.records, playbackStreamIds: playback.streamIds,
            generation: generation, nowMs: ControlPlane.monotonicMs(), appliedShipments: appliedShipments, clock: ControlPlane.monotonicNs) {
            // Edges added or removed, peers' edges changed (and others changed): renumbered incrementally.
            snapshot = reindexed
            incrementalBuilds += 1
        } else {
            snapshot = RoutingSnapshot(RoutingSnapshot.Input(
                generation: generation, nowMs: ControlPlane.monotonicMs(), weights: weights, staleness: staleness,
                edges: localEdges, remoteEdges: peers?.remoteStates ?? [], playback: playback.records, playbackStreamIds: playback.streamIds,
                previous: previous, appliedShipments: appliedShipments, geo: geo, clock: ControlPlane.monotonicNs))
            rebuilds += 1
            streamSlotCheckAt = snapshot.streams.count + max(ControlPlane.emptyStreamSlotFloor, snapshot.streams.count)
            fullBuilt = true
        }
        structuralDirty = false
        fullBuildDue = false
        remoteChanged = false
        loadChanged.removeAll(keepingCapacity: true)
        restructureChanged.removeAll(keepingCapacity: true)
        publish(snapshot)
        if fullBuilt && reclaimsStreamNames {
            // Names looked up before this build and unused at the next retirement go then.
            if nameSweepDue { retireUnusedNames() } else { StreamNameTable.shared.beginEpoch() }
        }
        // The snapshot's local edges are the ones handed over, in that (node-ID) order.
        slotByOrder.removeAll(keepingCapacity: true)
        slotByOrder.append(contentsOf: repeatElement(-1, count: positions.count))
        for (slot, k) in sortedPositions.enumerated() {
            assert(snapshot.nodeIds[slot] == edges.keys[positions[k]], "snapshot slot \(slot) is not the edge handed over there")
            slotByOrder[k] = Int32(slot)
        }
        runAfterPublish()
    }

    /// Each edge's pending bandwidth by `previous`'s edge index (local edges through
    /// `slotByOrder`, remote ones from the peers).
    private func pendingBySlot(_ previous: RoutingSnapshot) -> [UInt64] {
        guard slotsValid else {
            return previous.nodeIds.map { id -> UInt64 in
                if let i = edges.index(forKey: id) { return edges.values[i].pendingBytesPerSec }  // borrowed, not copied
                return peers?.pendingOf(id) ?? 0
            }
        }
        var pending = [UInt64](repeating: 0, count: previous.nodeIds.count)
        var i = edges.startIndex
        var k = 0
        while i != edges.endIndex {
            let slot = Int(slotByOrder[k])
            if slot >= 0 && slot < pending.count { pending[slot] = edges.values[i].pendingBytesPerSec }
            edges.formIndex(after: &i)
            k += 1
        }
        if let peers {
            for j in previous.localEdgeCount..<previous.nodeIds.count { pending[j] = peers.pendingOf(previous.nodeIds[j]) ?? 0 }
        }
        return pending
    }

    private func runAfterPublish() {
        guard !afterPublish.isEmpty else { return }
        let actions = afterPublish
        afterPublish.removeAll()
        for a in actions { a() }
    }

    /// Once a second: evict long-silent edges (a full build); refresh the edges whose health
    /// changed (stale, or fresh again: a load refresh).
    func sweep() {
        releaseRetired()
        playbackResolver?.sweep()
        let now = ControlPlane.monotonicMs()
        let current = publisher.snapshot
        var changed = false
        var pendingAged = false
        var evict: [String] = []
        var healthFlipped: [String] = []
        // By index: ages pending in place (iterating `edges` while mutating it would copy the dictionary).
        let mapped = slotsValid
        var i = edges.startIndex
        var k = 0
        while i != edges.endIndex {
            defer { k += 1 }
            let health = staleness.health(of: edges.values[i], nowMs: now)
            if health == .evict {
                evict.append(edges.keys[i])
            } else {
                let slot = mapped ? (slotByOrder[k] >= 0 ? Int(slotByOrder[k]) : nil) : current.edgeIndex(nodeId: edges.keys[i])
                let wasStale = slot.map { current.exclusion(edge: $0) == .stale } ?? true
                if (health == .stale) != wasStale {
                    // The same edge, stale now or fresh again: a load refresh recomputes its exclusion.
                    if slot != nil { healthFlipped.append(edges.keys[i]) } else { changed = true }
                }
                if edges.values[i].pendingBytesPerSec > 0, edges.values[i].agePending() { pendingAged = true }
            }
            i = edges.index(after: i)
        }
        for id in evict {
            edges.removeValue(forKey: id)
            evictions += 1
            logger.notice("edge evicted after silence", metadata: ["node_id": "\(id)"])
        }
        if peers?.agePending() == true { pendingAged = true }
        for id in healthFlipped { loadChanged.insert(id) }
        if changed || !evict.isEmpty {
            // Edges removed, or one the snapshot does not have yet: renumbered incrementally.
            markDirty(structural: true, fullBuild: false)
        } else if pendingAged || dirty || !healthFlipped.isEmpty {
            markDirty(structural: false)
        }
    }
}
