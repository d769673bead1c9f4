import FoghornControl
import FoghornHTTP
import FoghornHTTPCore
import FoghornModel
import FoghornOps
import FoghornRouting
import FoghornState
import FoghornRedis

/// The server's metrics beyond the listeners' own, registered once at start.
enum ServerMetrics {
    /// Registers the routing, snapshot, control-plane, peering, Mist, resolver and TLS metrics
    /// (docs/OPERATIONS.md lists each). The closures run at scrape time on the control loop,
    /// which owns the plane; per-loop counters are relaxed atomics (``RelaxedCounters``).
    static func register(on metrics: MetricsRegistry, plane: ControlPlane, viewerLoops: [ViewerLoop], tls: TLSManager?,
                         tlsCounters: @escaping @Sendable () -> [RelaxedCounters]) {
        let loops = viewerLoops
        metrics.registerFamily(
            MetricNames.routingDecisions, help: "Viewer routing answers, by outcome.", label: "outcome",
            values: RoutingOutcome.allCases.map(\.label)
        ) { i in loops.reduce(0) { $0 + $1.outcomeCount(RoutingOutcome.allCases[i]) } }
        metrics.registerFamily(
            MetricNames.routingExclusions, help: "Candidate edges excluded while routing, by reason.", label: "reason",
            values: Exclusion.allCases.map(\.reason)
        ) { i in loops.reduce(0) { $0 + $1.exclusionCount(Exclusion.allCases[i]) } }
        metrics.registerFamily(
            MetricNames.forwardingHeaderDuplicates, help: "Requests from trusted proxies with CF-Connecting-IP or X-Real-IP on several lines (ignored as ambiguous).",
            label: "header", values: ["cf-connecting-ip", "x-real-ip"]
        ) { i in loops.reduce(0) { $0 + $1.forwardingDuplicates.load(i) } }
        metrics.registerGauge(MetricNames.processCPUSeconds, help: "User and system CPU time spent, in seconds.", type: "counter") { ProcessStats.read().cpuSeconds }
        metrics.registerGauge(MetricNames.processResidentMemory, help: "Resident memory size in bytes.") { ProcessStats.read().residentBytes }
        metrics.registerGauge(MetricNames.processVirtualMemory, help: "Virtual memory size in bytes.") { ProcessStats.read().virtualBytes }
        metrics.registerGauge(MetricNames.processOpenFds, help: "Open file descriptors.") { ProcessStats.read().openFds }
        metrics.registerGauge(MetricNames.processMaxFds, help: "Maximum open file descriptors (the soft RLIMIT_NOFILE).") { ProcessStats.read().maxFds }
        let started = metrics.startTimeSeconds
        metrics.registerGauge(MetricNames.processStartTime, help: "Start time of the process since the Unix epoch, in seconds.") { started }
        // One pass over the edges per scrape (control loop), every state listed even at 0.
        metrics.registerDynamicFamily(MetricNames.edgesByState, help: "Edges known to this Foghorn by state (/v1/edges): routable, no_metrics, stale, draining, maintenance, poll_failed, starting; peers' edges are not counted.", label: "state") {
            var counts: [String: Int] = [:]
            let now = ControlPlane.monotonicMs()
            for e in plane.edges.values where !e.isRemote { counts[InternalAPI.edgeStateName(e, plane, now), default: 0] += 1 }
            return ["routable", "no_metrics", "stale", "draining", "maintenance", "poll_failed", "starting"].map { ($0, Double(counts[$0] ?? 0)) }
        }
        let publisher = plane.publisher
        metrics.registerGauge(MetricNames.snapshotGeneration, help: "Generation of the published routing snapshot.") {
            Double(publisher.generation)
        }
        metrics.registerGauge(MetricNames.snapshotBuildSeconds, help: "Build time of the published routing snapshot.") {
            Double(publisher.snapshot.buildDurationNs) / 1e9
        }
        metrics.registerGauge(MetricNames.snapshotEdges, help: "Edges in the published routing snapshot.") {
            Double(publisher.snapshot.edgeCount)
        }
        // Read at scrape time on the control loop, which owns the poller.
        let labels = MistPoller.outcomeLabels
        metrics.registerFamily(MetricNames.mistPolls, help: "Polls of MistServer nodes, by outcome.", label: "outcome", values: labels) { i in
            plane.mist?.outcomes[labels[i]] ?? 0
        }
        metrics.registerFamily(MetricNames.configReloads, help: "Configuration reloads (SIGHUP), by result.", label: "result", values: ["applied", "failed"]) { i in
            i == 0 ? plane.reloadsApplied : plane.reloadsFailed
        }
        metrics.registerFamily(MetricNames.stateWrites, help: "Durable state writes (admin and edge changes), by result; a failed one was answered 503 STATE_UNAVAILABLE.",
                               label: "result", values: ["committed", "failed"]) { i in
            i == 0 ? plane.stateWritesCommitted : plane.stateWriteFailures
        }
        metrics.registerFamily(MetricNames.stateRecords, help: "Durable records held, by kind (edges: registrations, evicted ones included).", type: "gauge",
                               label: "kind", values: ["edges", "playback", "modes", "tokens", "mist_nodes"]) { i in
            let d = plane.durable
            return UInt64([d.edges.count, d.playback.count, d.modes.count, d.tokens.count, d.mistNodes.count][i])
        }
        if let redis = plane.store as? RedisStateStore {
            metrics.registerGauge(MetricNames.stateAvailable, help: "1 while Redis takes commits (connected and caught up); 0: admin writes answer 503, routing goes on from memory.") {
                redis.isAvailable ? 1 : 0
            }
            metrics.registerGauge(MetricNames.stateLag, help: "How far this replica's applied changelog trails the newest entry, in the entries' clock.") {
                Double(redis.lagMs)
            }
            metrics.registerFamily(MetricNames.stateEvents, help: "Redis state store events, by kind.", label: "event",
                                   values: ["reconnect", "resync", "reseed", "remote_entry_applied", "report_published", "report_received",
                                           "pending_shared", "pending_received", "changelog_gap", "peer_ownership_change"]) { i in
                [redis.reconnects, redis.resyncs, redis.reseeds, redis.remoteEntriesApplied, redis.reportsPublished, redis.reportsReceived,
                 redis.pendingShared, redis.pendingReceived, redis.gaps, redis.ownershipChanges][i]
            }
            metrics.registerGauge(MetricNames.statePeerOwner, help: "1 while this replica owns the cluster's PeerChannels (the lease in Redis).") {
                redis.ownsPeering ? 1 : 0
            }
        }
        metrics.registerFamily(MetricNames.snapshotBuilds, help: "Routing snapshots published, by how they were built.", label: "kind",
                               values: ["full", "incremental", "load_refresh", "pending_refresh"]) { i in
            [plane.builds.full, plane.builds.incremental, plane.builds.loadRefreshes, plane.builds.pendingRefreshes][i]
        }
        metrics.registerGauge(MetricNames.snapshotStreamSlotCompactions,
                              help: "Full builds taken to drop the slots of streams that ended (empty slots outnumbered live ones).",
                              type: "counter") { Double(plane.builds.streamSlotCompactions) }
        metrics.registerGauge(MetricNames.streamNameSweeps, help: "Full builds after which unused stream names were retired.", type: "counter") {
            Double(plane.builds.nameSweeps)
        }
        metrics.registerGauge(MetricNames.streamNames, help: "Stream names interned (edges', peers' and playback records' streams, and ended ones not yet given back).") {
            Double(plane.builder.names.interned)
        }
        metrics.registerGauge(MetricNames.streamNamesReclaimed, help: "Stream names no state used any more, given back for reuse.", type: "counter") {
            Double(plane.builder.names.reclaimedTotal)
        }
        metrics.registerGauge(MetricNames.snapshotColumnCompactions,
                              help: "Incremental builds that compacted the candidate columns (spare room used up) instead of a full build.",
                              type: "counter") { Double(plane.builds.columnCompactions) }
        metrics.registerGauge(MetricNames.unsafeHeaderValues, help: "Header values with CR, LF or NUL refused by the response writer (answered 500 instead).",
                              type: "counter") { Double(HTTPResponseWriter.unsafeHeaderValues) }
        let inputSources = InputSource.allCases
        metrics.registerFamily(MetricNames.inputRejections, help: "Values refused from polled MistServer documents, peer frames and resolver answers, by source.",
                               label: "source", values: inputSources.map(\.rawValue)) { i in plane.rejectedInputs[inputSources[i]] }
        let resolverLabels = PlaybackResolver.outcomeLabels
        metrics.registerFamily(MetricNames.resolverLookups, help: "Playback resolver lookups, by outcome.", label: "outcome", values: resolverLabels) { i in
            plane.playbackResolver?.counts[resolverLabels[i]] ?? 0
        }
        let peerStates = PeerManager.State.allCases
        metrics.registerFamily(MetricNames.peerChannels, help: "Configured peer clusters, by channel state.", type: "gauge", label: "state", values: peerStates.map(\.rawValue)) { i in
            UInt64(plane.peers?.count(peerStates[i]) ?? 0)
        }
        let peerErrors = PeerManager.errorLabels
        metrics.registerFamily(MetricNames.peerChannelErrors, help: "PeerChannels closed or refused for an error, by reason.", label: "reason", values: peerErrors) { i in
            plane.peers?.channelErrors[peerErrors[i]] ?? 0
        }
        let queryLabels = PeerManager.queryOutcomeLabels
        metrics.registerFamily(MetricNames.peerQueries, help: "Stream queries to on-demand peers, by outcome (per peer; joined = a viewer joined a query in flight, or was answered from the snapshot that query published).", label: "outcome", values: queryLabels) { i in
            plane.peers?.queryOutcomes[queryLabels[i]] ?? 0
        }
        let servedLabels = PeerManager.servedLabels
        metrics.registerFamily(MetricNames.peerQueriesServed, help: "Stream queries answered for peers, by result.", label: "result", values: servedLabels) { i in
            plane.peers?.served[servedLabels[i]] ?? 0
        }
        let inboundLabels = PeerManager.inboundLabels
        metrics.registerFamily(MetricNames.peerInbound, help: "Inbound PeerChannels, accepted or refused (unlisted cluster, bad proof, garbage).", label: "result", values: inboundLabels) { i in
            plane.peers?.inbound[inboundLabels[i]] ?? 0
        }
        metrics.registerGauge(MetricNames.peerRemoteEdges, help: "Edges of peer clusters currently cached.") {
            Double(plane.peers?.remoteEdgeCount ?? 0)
        }
        if let tls {
            metrics.registerDynamicFamily(MetricNames.tlsCertificateExpiry, help: "notAfter of each loaded certificate, Unix seconds.", label: "certificate") {
                tls.expiries
            }
            metrics.registerFamily(MetricNames.tlsReloads, help: "Certificate reloads (SIGHUP or changed files), by result.", label: "result", values: ["applied", "failed"]) { i in
                i == 0 ? tls.applied : tls.failed
            }
            metrics.registerFamily(MetricNames.tlsHandshakes, help: "TLS handshakes on the HTTPS listener, by result (resumed ⊂ completed).", label: "result", values: ["completed", "resumed", "failed"]) { i in
                tlsCounters().reduce(0) { $0 + $1.load(i) }
            }
        }
        metrics.registerGauge(MetricNames.resolverConnections, help: "Connections opened to the playback resolver (keep-alive reuse keeps this low).", type: "counter") {
            Double(plane.playbackResolver?.connectionsOpened ?? 0)
        }
        let states = ["starting", "online", "error"]
        metrics.registerFamily(MetricNames.mistNodes, help: "Polled MistServer nodes, by state.", type: "gauge", label: "state", values: states) { i in
            UInt64(plane.mist?.nodes.values.filter { $0.state == states[i] }.count ?? 0)
        }
    }
}
