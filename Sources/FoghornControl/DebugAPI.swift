import FoghornHTTPCore
import FoghornJSON
import FoghornModel
import FoghornRedis
import FoghornState
import FoghornConfig
import FoghornOps

/// `/debug/score`, `/debug/edges`, `/debug/snapshot`, `/nodes/overview`.
enum DebugAPI {
    static func register(on router: HTTPRouter, plane: ControlPlane) {
        router.add("debug_score", [.get, .head], InternalPaths.debugScore) { req, w in
            let snapshot = plane.publisher.snapshot
            guard let id = req.queryParameter("playback"), !id.isEmpty else {
                return w.error(.badRequest, code: "MISSING_VIEW_KEY", message: "query parameter playback is required")
            }
            guard let p = snapshot.playbackIndex(id) else {
                return w.error(.notFound, code: "VIEW_KEY_NOT_FOUND", message: "no playback record \(id)")
            }
            var viewer: GeoPoint?
            var viewerSource = "none"
            var ipText = ""
            if let ip = req.queryParameter("ip") {
                guard let addr = IPAddress.parse(ip) else { return InternalAPI.invalid(&w, "ip", "not an IP address") }
                ipText = addr.description
                viewer = snapshot.geo?.position(of: addr)
                viewerSource = viewer == nil ? (snapshot.geo == nil ? "no_geoip_db" : "ip_unknown_or_private") : "geoip"
            } else if let latText = req.queryParameter("lat"), let lonText = req.queryParameter("lon") {
                guard let lat = Double(latText), let lon = Double(lonText), GeoPoint.isValid(lat: lat, lon: lon) else {
                    return InternalAPI.invalid(&w, "lat", "lat/lon must be valid coordinates")
                }
                viewer = GeoPoint(lat: lat, lon: lon)
                viewerSource = "query"
            }
            var tags = CompiledTagAdjustment.none
            if let text = req.queryParameter("tag_adjust") {
                do throws(TagAdjustment.ParseError) {
                    tags = snapshot.compile(try TagAdjustment.parse(text))
                } catch {
                    return w.error(.badRequest, code: "INVALID_TAG_ADJUST", message: "tag_adjust must be a JSON object of \"tag,tag\": integer")
                }
            }
            var proto: ViewerProtocol?
            if let protoText = req.queryParameter("proto") {
                guard let v = ViewerProtocol.normalize(protoText) else {
                    return w.error(.badRequest, code: "PROTOCOL_NOT_AVAILABLE", message: "unknown protocol \(protoText)")
                }
                proto = v
            }
            let record = snapshot.playback[p]
            var j = JSONWriter(capacity: 4096)
            j.objectStart()
            j.field("generation", snapshot.generation)
            j.field("playback", id)
            j.field("stream", record.stream)
            j.field("tenant", record.tenant)
            j.key("viewer"); j.objectStart()
            j.field("source", viewerSource)
            if !ipText.isEmpty { j.field("ip", ipText) }
            if let v = viewer { j.field("lat", v.lat); j.field("lon", v.lon) }
            j.objectEnd()
            j.key("weights"); InternalAPI.writeWeights(&j, snapshot.weights)
            guard let s = snapshot.streamOf(playback: p) else {
                j.key("winner"); j.null()
                j.field("outcome", "STREAM_OFFLINE")
                j.field("reason", "no edge reports stream \(record.stream)")
                j.key("candidates"); j.arrayStart(); j.arrayEnd()
                j.objectEnd()
                return w.json(.ok, j)
            }
            let request = ScoringRequest(
                stream: s, tenant: snapshot.tenantOf(playback: p), viewer: viewer, tags: tags,
                stickyBand: UInt64(plane.config.stickyBand), clientHash: IPAddress.parse(ipText)?.networkHash ?? 0)
            let (candidates, ranking) = Scorer.explain(snapshot, request)
            if let winner = ranking.first {
                j.field("winner", snapshot.nodeIds[winner])
                j.field("outcome", "ROUTED")
                let best = candidates.first { $0.edge == winner }!
                var reason = "highest score \(best.total)"
                if ranking.count > 1, let second = candidates.first(where: { $0.edge == ranking[1] }) {
                    reason += second.total == best.total ? " (tie with \(second.nodeId), lower node ID wins)" : ", ahead of \(second.nodeId) by \(best.total - second.total)"
                }
                if request.stickyBand > 0 { reason += "; sticky band \(request.stickyBand) applied for this client network" }
                if let proto, snapshot.url(edge: winner, proto: proto) == nil { reason += "; but it has no \(proto.name) output (PROTOCOL_NOT_AVAILABLE)" }
                j.field("reason", reason)
            } else if snapshot.isOffline(stream: s) {
                // What /play answers here: 404 STREAM_OFFLINE (the same rule, RoutingSnapshot.isOffline).
                j.key("winner"); j.null()
                j.field("outcome", "STREAM_OFFLINE")
                j.field("reason", "no edge carrying stream \(record.stream) has an input")
            } else {
                j.key("winner"); j.null()
                j.field("outcome", "NO_EDGE_AVAILABLE")
                j.field("reason", "every edge carrying the stream is excluded")
            }
            j.key("ranking"); j.arrayStart(); for r in ranking { j.string(snapshot.nodeIds[r]) }; j.arrayEnd()
            j.key("candidates"); j.arrayStart()
            for c in candidates {
                j.objectStart()
                j.field("node_id", c.nodeId)
                if !c.cluster.isEmpty {
                    j.field("cluster", c.cluster)
                    j.field("cross_cluster_penalty", c.crossClusterPenalty)
                }
                j.field("total", c.total)
                j.field("cpu", c.cpu)
                j.field("ram", c.ram)
                j.field("bandwidth", c.bandwidth)
                j.field("geo", c.geo)
                j.field("stream_bonus", c.streamBonus)
                j.field("tag_adjustment", c.tagAdjustment)
                j.field("inputs", c.inputs)
                j.field("used_bytes_per_sec", c.usedBytesPerSec)
                j.field("pending_bytes_per_sec", c.pendingBytesPerSec)
                if let km = c.geoDistanceKm { j.field("geo_distance_km", (km * 10).rounded() / 10) } else { j.key("geo_distance_km"); j.null() }
                if let e = c.exclusion { j.field("excluded", e.reason) } else { j.key("excluded"); j.null() }
                j.objectEnd()
            }
            j.arrayEnd()
            j.field("edges_without_stream", snapshot.edgeCount - candidates.count)
            j.objectEnd()
            w.json(.ok, j)
        }

        router.add("debug_peers", [.get, .head], InternalPaths.debugPeers) { _, w in
            var j = JSONWriter(capacity: 4096)
            if let peers = plane.peers {
                j.value(peers.debugJSON())
            } else {
                j.value(.object([("cluster", .string(plane.config.clusterId)), ("peers", .array([]))]))
            }
            w.json(.ok, j)
        }
        router.add("debug_edges", [.get, .head], InternalPaths.debugEdges) { _, w in
            let snapshot = plane.publisher.snapshot
            var j = JSONWriter(capacity: 4096)
            j.objectStart()
            j.field("generation", snapshot.generation)
            j.key("edges"); j.arrayStart()
            for edge in plane.edges.values.sorted(by: { $0.nodeId < $1.nodeId }) {
                InternalAPI.writeEdge(&j, edge, plane)
            }
            j.arrayEnd()
            j.objectEnd()
            w.json(.ok, j)
        }

        router.add("debug_snapshot", [.get, .head], InternalPaths.debugSnapshot) { _, w in
            let s = plane.publisher.snapshot
            let now = ControlPlane.monotonicMs()
            var j = JSONWriter()
            j.objectStart()
            j.field("generation", s.generation)
            j.field("age_ms", now >= s.builtAtMs ? now - s.builtAtMs : 0)
            j.field("build_time_us", s.buildDurationNs / 1000)
            j.field("edges", s.edgeCount)
            j.field("routable_edges", s.routableEdgeCount)
            j.field("streams", s.liveStreamCount)
            j.field("stream_slots", s.streams.count)
            j.field("playback_records", s.playback.count)
            j.field("tenants", s.tenants.count)
            j.field("rebuilds", plane.builds.full)
            j.field("pending_refreshes", plane.builds.pendingRefreshes)
            j.field("load_refreshes", plane.builds.loadRefreshes)
            j.field("incremental_builds", plane.builds.incremental)
            j.field("column_compactions", plane.builds.columnCompactions)
            j.field("stream_slot_compactions", plane.builds.streamSlotCompactions)
            j.field("stream_name_sweeps", plane.builds.nameSweeps)
            j.field("evictions", plane.builds.evictions)
            j.field("retired_snapshots", plane.retiredSnapshotCount)
            j.field("geoip", s.geo?.describe ?? "")
            j.objectEnd()
            w.json(.ok, j)
        }

        router.add("debug_state", [.get, .head], InternalPaths.debugState) { _, w in
            var j = JSONWriter()
            j.objectStart()
            j.field("backend", plane.store?.backend ?? "none")
            j.field("location", plane.store?.location ?? "")
            j.field("writes_committed", plane.stateWritesCommitted)
            j.field("writes_failed", plane.stateWriteFailures)
            let d = plane.durable
            j.key("records")
            j.objectStart()
            j.field("edges", d.edges.count)
            j.field("playback", d.playback.count)
            j.field("modes", d.modes.count)
            j.field("tokens", d.tokens.count)
            j.field("mist_nodes", d.mistNodes.count)
            j.objectEnd()
            if let redis = plane.store as? RedisStateStore {
                j.field("replica_id", redis.replicaId)
                j.field("available", redis.isAvailable)
                j.field("last_applied_id", redis.lastAppliedId)
                j.field("head_id", redis.headId)
                j.field("lag_ms", redis.lagMs)
                j.field("reconnects", redis.reconnects)
                j.field("resyncs", redis.resyncs)
                j.field("reseeds", redis.reseeds)
                j.field("changelog_gaps", redis.gaps)
                j.field("remote_entries_applied", redis.remoteEntriesApplied)
                j.field("reports_published", redis.reportsPublished)
                j.field("reports_received", redis.reportsReceived)
                j.field("owns_peer_channels", plane.peers?.isEnabled == true ? redis.ownsPeering : false)
                j.field("peer_ownership_changes", redis.ownershipChanges)
                j.field("pending_shared", redis.pendingShared)
                j.field("pending_received", redis.pendingReceived)
            }
            j.objectEnd()
            w.json(.ok, j)
        }

        router.add("debug_config", [.get, .head], InternalPaths.debugConfig) { _, w in
            var j = JSONWriter(capacity: 2048)
            j.objectStart()
            for key in ConfigKeys.all {
                j.key(key.name)
                j.value(key.read(plane.config))
            }
            j.objectEnd()
            w.json(.ok, j)
        }

        router.add("nodes_overview", [.get, .head], InternalPaths.nodesOverview) { req, w in nodesOverview(req, &w, plane) }
    }

    /// Foghorn's `GET /nodes/overview[?cap=&offset=&limit=&include_stale=&full=]`: a JSON list,
    /// one object per local node in node-ID order (Foghorn's field names, plus our `state` and
    /// `base_url`). Nodes failing their poll are left out, stale ones unless `include_stale=true`;
    /// `cap` keeps nodes with every listed capability; `offset`/`limit` page the list;
    /// `full=true` wraps it as `{nodes, node_count}`.
    static func nodesOverview(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ plane: ControlPlane) {
        var required: EdgeCapabilities = []
        if let cap = req.queryParameter("cap") {
            do throws(EdgeCapabilities.UnknownCapability) { required = try EdgeCapabilities.required(by: cap) } catch {
                return w.error(.badRequest, code: "INVALID_CAPABILITY", message: error.message)
            }
        }
        /// A whole number in 0…1,000,000, `absent` when not given; nil when malformed.
        func paging(_ name: String, absent: Int) -> Int? {
            guard let text = req.queryParameter(name), !text.isEmpty else { return absent }
            return Int(text).flatMap { (0...1_000_000).contains($0) ? $0 : nil }
        }
        guard let offset = paging("offset", absent: 0), let limit = paging("limit", absent: Int.max) else {
            return w.error(.badRequest, code: "INVALID_PARAMETER", message: "offset and limit are whole numbers from 0 to 1000000")
        }
        func flag(_ name: String) -> Bool { req.queryParameter(name).map { $0 == "true" || $0 == "1" } ?? false }
        let includeStale = flag("include_stale")
        let now = ControlPlane.monotonicMs()
        let nowUnixMs = ControlPlane.unixMs()
        let snapshot = plane.publisher.snapshot
        var listed = plane.edges.values.filter { e in
            guard !e.isRemote, e.pollError.isEmpty, e.capabilities.isSuperset(of: required) else { return false }
            return includeStale || plane.staleness.health(of: e, nowMs: now) == .fresh
        }
        listed.sort { $0.nodeId < $1.nodeId }
        let total = listed.count
        let page = listed.dropFirst(offset).prefix(limit)
        var j = JSONWriter(capacity: 4096)
        let full = flag("full")
        if full { j.objectStart(); j.key("nodes") }
        j.arrayStart()
        for e in page {
            let stale = plane.staleness.health(of: e, nowMs: now) != .fresh
            let state = InternalAPI.edgeState(e, plane, now)
            let pending = snapshot.edgeIndex(nodeId: e.nodeId).map { snapshot.pending[$0] } ?? e.pendingBytesPerSec
            j.objectStart()
            j.field("node_id", e.nodeId)
            j.field("host", e.publicHost)
            j.field("base_url", e.baseURL)
            j.key("roles"); j.arrayStart(); j.arrayEnd()
            j.field("operational_mode", e.mode.rawValue)
            j.field("state", state)
            j.field("cap_edge", e.capabilities.contains(.edge))
            j.field("cap_ingest", e.capabilities.contains(.ingest))
            j.field("cap_storage", e.capabilities.contains(.storage))
            j.field("cap_processing", e.capabilities.contains(.processing))
            if let p = e.position { j.field("geo_latitude", p.lat); j.field("geo_longitude", p.lon) }
            j.field("location_name", e.location)
            j.field("is_active", state == "routable")
            j.field("is_stale", stale)
            if let last = e.lastReportMs {
                j.field("last_update", JSONLogHandler.timestamp(unixMs: nowUnixMs - Int64(now >= last ? now - last : 0)))
            }
            j.field("cpu_tenths", e.cpuPermille)
            j.field("cpu_percent", Double(e.cpuPermille) / 10)
            j.field("ram_max", e.ramMaxBytes)
            j.field("ram_current", e.ramUsedBytes)
            j.field("ram_percent", e.ramMaxBytes == 0 ? 0 : (Double(e.ramUsedBytes) * 1000 / Double(e.ramMaxBytes)).rounded() / 10)
            j.field("up_speed", e.upBytesPerSec)
            j.field("down_speed", e.downBytesPerSec)
            j.field("bw_limit", e.bwLimitBytesPerSec)
            let used = e.upBytesPerSec &+ pending
            j.field("avail_bandwidth", e.bwLimitBytesPerSec > used ? e.bwLimitBytesPerSec - used : 0)
            j.field("add_bandwidth", pending)
            j.key("tags"); j.arrayStart(); for t in e.tags { j.string(t) }; j.arrayEnd()
            j.key("config_streams"); j.arrayStart(); for s in e.configStreams { j.string(s) }; j.arrayEnd()
            j.key("streams"); j.arrayStart()
            e.forEachStream(in: plane.builder.names) { name, st in
                j.objectStart()
                j.field("name", name)
                j.field("viewers", st.viewers)
                j.field("total", st.viewers)
                j.field("inputs", st.inputs)
                j.field("bandwidth", st.upBytesPerSec)
                let bytes = plane.streamBytes(node: e.nodeId, stream: name)
                j.field("bytes_up", bytes?.up ?? 0)
                j.field("bytes_down", bytes?.down ?? 0)
                j.field("replicated", st.replicated)
                j.objectEnd()
            }
            j.arrayEnd()
            j.objectEnd()
        }
        j.arrayEnd()
        if full { j.field("node_count", total); j.objectEnd() }
        w.json(.ok, j)
    }
}
