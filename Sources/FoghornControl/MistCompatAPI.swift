import FoghornConfig
import FoghornHTTPCore
import FoghornJSON
import FoghornModel
import FoghornState

/// MistUtilLoad's admin and status queries on the internal listener (path `/`),
/// same keys, order and answer shapes: `weights`, `lstserver`, `source`,
/// `ingest`, `streamstats`, `viewers`, `stream`, `addserver`, `delserver`,
/// `host`. Changing queries (`weights` with fields, `addserver`, `delserver`)
/// are taken from loopback peers (MistUtilLoad's `-L`) or with the admin
/// token. Plus `POST /v1/mist/nodes` and `DELETE /v1/mist/nodes/<node>`.
enum MistCompatAPI {
    static func register(on router: HTTPRouter, plane: ControlPlane) {
        router.add("mist_root", [.get, .head], "/") { req, w in handleRoot(req, &w, plane) }

        router.add("mist_source_by_node", [.get, .head], "/source/by-node/*") { req, w in handleSourceByNode(req, &w, plane) }

        router.add("mist_nodes", [.post], "/v1/mist/nodes") { req, w in
            guard InternalAPI.requireAdmin(req, &w, plane) else { return }
            guard let body = InternalAPI.parseBody(req, &w) else { return }
            guard InternalAPI.checkFields(body, ["node"], &w) else { return }
            guard let text = body["node"]?.stringValue, let address = MistNodeAddress.parse(text) else {
                return InternalAPI.invalid(&w, "node", "must be host[:port][/bandwidth MiB]")
            }
            func answer(_ w: inout HTTPResponseWriter, added: Bool) {
                var j = JSONWriter()
                j.objectStart()
                j.field("node_id", address.nodeId)
                j.field("added", added)
                j.objectEnd()
                w.json(added ? .created : .ok, j)
            }
            guard plane.mist.nodes[address.nodeId] == nil else { return answer(&w, added: false) }
            DurableAnswer.commit(plane, &w, [.mistNode(nodeId: address.nodeId, address: address.text, present: true)]) { w in answer(&w, added: true) }
        }
        router.add("mist_node", [.delete, .get], "/v1/mist/nodes/*") { req, w in
            let id = String(req.pathString.dropFirst("/v1/mist/nodes/".count))
            if req.method == .get {
                guard let status = plane.mist.nodes[id] else { return w.error(.notFound, code: "EDGE_NOT_FOUND", message: "no Mist node \(id)") }
                var j = JSONWriter()
                writeStatus(&j, id, status)
                return w.json(.ok, j)
            }
            guard InternalAPI.requireAdmin(req, &w, plane) else { return }
            guard let status = plane.mist.nodes[id] else { return w.error(.notFound, code: "EDGE_NOT_FOUND", message: "no Mist node \(id)") }
            DurableAnswer.commit(plane, &w, [.mistNode(nodeId: id, address: status.address.text, present: false)]) { w in
                w.head(.noContent)
                w.emptyBody()
            }
        }
    }

    static func writeStatus(_ j: inout JSONWriter, _ id: String, _ s: MistPoller.NodeStatus) {
        j.objectStart()
        j.field("node_id", id)
        j.field("host", s.address.host)
        j.field("port", Int(s.address.port))
        j.field("state", s.state)
        j.field("last_error", s.lastError)
        j.field("polls", s.polls)
        j.field("failures", s.failures)
        j.objectEnd()
    }

    /// MistUtilLoad's state strings.
    static func stateString(_ s: MistPoller.NodeStatus) -> String {
        switch s.state {
        case "online": return "Monitored (online)"
        case "error": return "Monitored (error)"
        default: return "Starting monitoring"
        }
    }

    /// This cluster's edges a viewer count includes: fresh, polled fine, not in maintenance.
    static func countedEdges(_ plane: ControlPlane) -> [EdgeState] {
        let now = ControlPlane.monotonicMs()
        return plane.edges.values.filter { e in
            !e.isRemote && e.mode != .maintenance && e.pollError.isEmpty && plane.staleness.health(of: e, nowMs: now) == .fresh
        }
    }

    static func weightsAnswer(_ w: inout HTTPResponseWriter, _ current: ScoringWeights) {
        var j = JSONWriter()
        j.objectStart()
        j.field("cpu", current.cpu); j.field("ram", current.ram); j.field("bw", current.bandwidth)
        j.field("geo", current.geo); j.field("bonus", current.streamBonus)
        j.objectEnd()
        text(&w, j.string)
    }

    static func text(_ w: inout HTTPResponseWriter, _ body: String, _ status: HTTPStatus = .ok) {
        w.head(status)
        w.body(body, contentType: "text/plain; charset=utf-8")
    }

    static func mayChange(_ req: HTTPRequest, _ plane: ControlPlane) -> Bool {
        if let ip = IPAddress.parse(req.peerAddress), ip.isV4 ? (ip.v4 >> 24) == 127 : (ip.high == 0 && ip.low == 1) { return true }
        return InternalAPI.isAdmin(req, plane)
    }

    /// `dtsc://<host>` of the best node with a live, non-replicated input for `stream` other
    /// than the requester's host; `redirect=1` (Foghorn's) → 302 to it; none → the fallback.
    static func sourceAnswer(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ snapshot: RoutingSnapshot, stream: String, requesterHost: String?,
                             viewer: GeoPoint?, tags: CompiledTagAdjustment, fallback: String) {
        guard let required = requiredCapabilities(req, &w) else { return }
        guard let best = MistCompatScorer.best(snapshot, stream: stream, mode: .source(requesterHost: requesterHost), viewer: viewer, tags: tags,
                                               capabilities: required) else {
            return text(&w, fallback)
        }
        let url = "dtsc://" + MistCompatScorer.hostOf(snapshot.edges[best.edge])
        if req.queryParameter("redirect") == "1", InputRules.forbiddenURLByte(url) == nil {
            w.head(.found)
            w.header("Location", string: url)
            w.body(url, contentType: "text/plain; charset=utf-8")
            return
        }
        text(&w, url)
    }

    /// `cap=`'s capabilities (none when absent); nil after answering 400 `INVALID_CAPABILITY`.
    static func requiredCapabilities(_ req: HTTPRequest, _ w: inout HTTPResponseWriter) -> EdgeCapabilities? {
        guard let cap = req.queryParameter("cap") else { return [] }
        do throws(EdgeCapabilities.UnknownCapability) { return try EdgeCapabilities.required(by: cap) } catch {
            w.error(.badRequest, code: "INVALID_CAPABILITY", message: error.message)
            return nil
        }
    }

    /// Foghorn's `/source/by-node/<node>[/…]?source=<stream>`: `?source=` for the node named in
    /// the path (its host is skipped) rather than the caller's address.
    static func handleSourceByNode(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ plane: ControlPlane) {
        let rest = req.pathString.dropFirst("/source/by-node/".count)
        let node = String(rest.prefix { $0 != "/" })
        guard !node.isEmpty else { return w.error(.badRequest, code: "MISSING_NODE_ID", message: "the path is /source/by-node/<node>?source=<stream>") }
        guard let stream = req.queryParameterKeepingPlus("source"), !stream.isEmpty else {
            return w.error(.badRequest, code: "MISSING_SOURCE", message: "Missing source: /source/by-node/<node>?source=<stream>")
        }
        let snapshot = plane.publisher.snapshot
        let requester = snapshot.edgeIndex(nodeId: node).map { MistCompatScorer.hostOf(snapshot.edges[$0]) } ?? node
        sourceAnswer(req, &w, snapshot, stream: stream, requesterHost: requester, viewer: position(req), tags: tags(req, snapshot),
                     fallback: fallback(req, plane))
    }

    /// The request's position: `X-Latitude`/`X-Longitude`, else `CF-IPLatitude`/`CF-IPLongitude`
    /// (headers win, as in MistUtilLoad and Foghorn; this listener is the operators'), else the
    /// query's `lat`/`lon`.
    static func position(_ req: HTTPRequest) -> GeoPoint? {
        let pairs: [(lat: Double?, lon: Double?)] = [
            (req.headerString("x-latitude").flatMap(Double.init), req.headerString("x-longitude").flatMap(Double.init)),
            (req.headerString("cf-iplatitude").flatMap(Double.init), req.headerString("cf-iplongitude").flatMap(Double.init)),
            (req.queryParameter("lat").flatMap(Double.init), req.queryParameter("lon").flatMap(Double.init)),
        ]
        for case let (lat?, lon?) in pairs where GeoPoint.isValid(lat: lat, lon: lon) { return GeoPoint(lat: lat, lon: lon) }
        return nil
    }

    /// `X-Tag-Adjust` or `tag_adjust`, compiled; none when absent or malformed (MistUtilLoad ignores it then).
    static func tags(_ req: HTTPRequest, _ snapshot: RoutingSnapshot) -> CompiledTagAdjustment {
        guard let t = req.headerString("x-tag-adjust") ?? req.queryParameter("tag_adjust"), let adj = try? TagAdjustment.parse(t) else { return .none }
        return snapshot.compile(adj)
    }

    /// The `fallback` query value, else the configured one.
    static func fallback(_ req: HTTPRequest, _ plane: ControlPlane) -> String {
        req.queryParameterKeepingPlus("fallback").flatMap { $0.isEmpty ? nil : $0 } ?? plane.config.mistFallback
    }

    static func handleRoot(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ plane: ControlPlane) {
        let snapshot = plane.publisher.snapshot
        func q(_ k: String) -> String? { req.queryParameterKeepingPlus(k).flatMap { $0.isEmpty ? nil : $0 } }
        let fallback = MistCompatAPI.fallback(req, plane)
        let viewer = position(req)
        let tags = MistCompatAPI.tags(req, snapshot)

        if let weights = q("weights") {
            var current = plane.weights
            if let value = try? JSONParser.parse(weights), case .object(let members) = value, !members.isEmpty {
                guard mayChange(req, plane) else { return text(&w, "Forbidden", .forbidden) }
                for (key, v) in members {
                    guard let n = v.intValue, n >= 0, UInt64(n) <= ScoringWeights.maxWeight else { continue }
                    switch key {
                    case "cpu": current.cpu = UInt64(n)
                    case "ram": current.ram = UInt64(n)
                    case "bw": current.bandwidth = UInt64(n)
                    case "geo": current.geo = UInt64(n)
                    case "bonus": current.streamBonus = UInt64(n)
                    default: break
                    }
                }
                let set = current
                return DurableAnswer.commit(plane, &w, [.setWeights(set, fileWeights: ControlPlane.fileWeights(plane.config))]) { w in
                    weightsAnswer(&w, set)
                }
            }
            return weightsAnswer(&w, current)
        }
        if q("lstserver") != nil {
            // Every node the balancer routes to: polled Mist nodes with their poll state, edges
            // that report (or are configured) as online while fresh, `Offline` when stale or out.
            var states: [String: String] = [:]
            let now = ControlPlane.monotonicMs()
            for edge in plane.edges.values where !edge.isRemote {
                let state = InternalAPI.edgeState(edge, plane, now)
                states[edge.nodeId] = state == "stale" || state == "maintenance" ? "Offline" : "Monitored (online)"
            }
            for (id, status) in plane.mist.nodes { states[id] = stateString(status) }
            var j = JSONWriter()
            j.objectStart()
            for id in states.keys.sorted() { j.field(id, states[id]!) }
            j.objectEnd()
            return text(&w, j.string)
        }
        if let stream = q("source") {
            // The caller is the node asking (MistUtilLoad: its address is never its own source).
            let requester = IPAddress.parse(req.peerAddress)?.description
            return sourceAnswer(req, &w, snapshot, stream: stream, requesterHost: requester, viewer: viewer, tags: tags, fallback: fallback)
        }
        if let ingest = q("ingest") {
            guard let pct = UInt64(ingest) else { return text(&w, fallback) }
            guard let required = requiredCapabilities(req, &w) else { return }
            guard let best = MistCompatScorer.best(snapshot, stream: nil, mode: .ingest(cpuPercent: pct), viewer: viewer, tags: tags,
                                                   capabilities: required) else {
                return text(&w, fallback)
            }
            return text(&w, MistCompatScorer.hostOf(snapshot.edges[best.edge]))
        }
        if let name = q("streamstats") {
            var j = JSONWriter()
            j.objectStart()
            // MistUtilLoad's [viewers, bytes/s per viewer, bytes up, bytes down]: the byte counts
            // are the nodes' cumulative totals (a polled node's `bw`, a reporting edge's
            // `bytes_up`/`bytes_down`), the rate is up bytes/s over viewers.
            for (si, entry) in snapshot.streams.enumerated() where entry.candidateCount > 0 {
                let stream = snapshot.streamName(si)
                guard name == "*" || stream == name || stream.hasPrefix(name + "+") else { continue }
                var rate: UInt64 = 0, up: UInt64 = 0, down: UInt64 = 0
                for e in snapshot.candidates(of: si).edges where !snapshot.edges[Int(e)].isRemote {
                    let edge = snapshot.edges[Int(e)]
                    rate &+= edge.stats(forId: entry.streamId)?.upBytesPerSec ?? 0
                    if let bytes = plane.streamBytes(node: edge.nodeId, stream: stream) { up &+= bytes.up; down &+= bytes.down }
                }
                j.key(stream)
                j.arrayStart()
                j.int(entry.totalViewers)
                j.int(entry.totalViewers > 0 ? rate / entry.totalViewers : 0)
                j.int(up)
                j.int(down)
                j.arrayEnd()
            }
            j.objectEnd()
            return text(&w, j.string)
        }
        if q("viewers") != nil {
            // Viewers on nodes MistUtilLoad would count (online): not on edges in maintenance,
            // stale or failing their poll.
            var totals: [String: UInt64] = [:]
            for edge in countedEdges(plane) {
                edge.forEachStream(in: plane.builder.names) { name, stats in totals[name, default: 0] += UInt64(stats.viewers) }
            }
            var j = JSONWriter()
            j.objectStart()
            for name in totals.keys.sorted() { j.field(name, totals[name]!) }
            j.objectEnd()
            return text(&w, j.string)
        }
        if let name = q("stream") {
            var total: UInt64 = 0
            for edge in countedEdges(plane) { total += UInt64(edge.stats(for: name, in: plane.builder.names)?.viewers ?? 0) }
            return text(&w, String(total))
        }
        if let add = q("addserver") {
            guard mayChange(req, plane) else { return text(&w, "Forbidden", .forbidden) }
            guard let address = MistNodeAddress.parse(add) else { return text(&w, "Invalid server address", .badRequest) }
            guard plane.mist.nodes[address.nodeId] == nil else { return text(&w, "Server \(address.nodeId) already monitored - ignoring request") }
            return DurableAnswer.commit(plane, &w, [.mistNode(nodeId: address.nodeId, address: address.text, present: true)]) { w in
                var j = JSONWriter()
                j.objectStart()
                j.field(address.nodeId, "Starting monitoring")
                j.objectEnd()
                text(&w, j.string)
            }
        }
        if let del = q("delserver") {
            guard mayChange(req, plane) else { return text(&w, "Forbidden", .forbidden) }
            let id = MistNodeAddress.parse(del)?.nodeId ?? del
            guard let status = plane.mist.nodes[id] else { return text(&w, "Server not monitored - could not delete from monitored server list!") }
            return DurableAnswer.commit(plane, &w, [.mistNode(nodeId: id, address: status.address.text, present: false)]) { w in
                text(&w, stateString(status))
            }
        }
        // `?host=<host>`: that node's bare state object (MistUtilLoad's shape; `{}` when unknown);
        // nothing: every node's, by name.
        let only = q("host")
        var j = JSONWriter(capacity: 2048)
        if only == nil { j.objectStart() }
        var written = 0
        for (i, edge) in snapshot.edges.enumerated() where only == nil || edge.nodeId == only || MistCompatScorer.hostOf(edge) == only {
            if only != nil && written > 0 { break }
            written += 1
            if only == nil { j.key(edge.nodeId) }
            j.objectStart()
            j.field("cpu", Int(edge.cpuPermille / 10))
            j.field("ram", edge.ramMaxBytes > 0 ? Int(edge.ramUsedBytes * 100 / edge.ramMaxBytes) : 0)
            j.field("up", edge.upBytesPerSec)
            j.field("up_add", snapshot.pending[i])  // redirects' bandwidth as folded from every loop (MistUtilLoad's addBandwidth)
            j.field("down", edge.downBytesPerSec)
            j.field("streams", edge.streamCount)
            j.field("viewers", edge.streamStats.reduce(UInt64(0)) { $0 + UInt64($1.viewers) })
            j.field("bwlimit", edge.bwLimitBytesPerSec)
            if let p = snapshot.geoPoint(edge: i) {
                j.key("geo"); j.objectStart(); j.field("lat", p.lat); j.field("lon", p.lon); j.field("loc", edge.location); j.objectEnd()
            }
            if !edge.tags.isEmpty { j.key("tags"); j.arrayStart(); for t in edge.tags { j.string(t) }; j.arrayEnd() }
            let weights = snapshot.weights
            let used = edge.upBytesPerSec &+ snapshot.pending[i]
            j.key("score"); j.objectStart()
            j.field("cpu", weights.cpuScore(permille: edge.cpuPermille))
            j.field("ram", weights.ramScore(used: edge.ramUsedBytes, max: edge.ramMaxBytes))
            j.field("bw", edge.bwLimitBytesPerSec > used ? weights.bandwidthScore(used: used, limit: edge.bwLimitBytesPerSec) : 0)
            j.objectEnd()
            if let status = plane.mist.nodes[edge.nodeId] { j.field("state", stateString(status)) }
            j.objectEnd()
        }
        if only == nil {
            j.objectEnd()
        } else if written == 0 {
            j.objectStart(); j.objectEnd()
        }
        text(&w, j.string)
    }
}
