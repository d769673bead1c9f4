import FoghornTLS
import Logging
public import FoghornHTTPCore
import FoghornJSON
public import FoghornModel
import FoghornConfig
import FoghornGeo
import FoghornState

/// Endpoint paths of the internal API, declared once.
public enum InternalPaths {
    public static let enrollmentTokens = "/v1/enrollment-tokens"
    public static let enroll = "/v1/edges/enroll"
    public static let edges = "/v1/edges"
    public static let playback = "/v1/playback/"
    public static let weights = "/v1/weights"
    public static let debugScore = "/debug/score"
    public static let debugEdges = "/debug/edges"
    public static let debugPeers = "/debug/peers"
    public static let debugSnapshot = "/debug/snapshot"
    public static let nodesOverview = "/nodes/overview"
    public static let geoipReload = "/v1/geoip/reload"
    public static let debugConfig = "/debug/config"
    public static let debugState = "/debug/state"
}

/// The edge API, admin API and debug endpoints on the internal listener.
/// Reads are open (the listener is internal); every mutation needs the admin
/// bearer token (or, for an edge's own report, its edge credential), and with
/// no admin token configured every admin mutation is refused.
public enum InternalAPI {
    public static func register(on router: HTTPRouter, plane: ControlPlane) {
        router.add("enrollment_tokens", [.post], InternalPaths.enrollmentTokens) { req, w in
            guard requireAdmin(req, &w, plane) else { return }
            guard let body = parseBody(req, &w) else { return }
            guard checkFields(body, ["tenant", "expires_in_s", "max_uses"], &w) else { return }
            let tenant = body["tenant"]?.stringValue ?? ""
            let expires = body["expires_in_s"]?.intValue ?? 3600
            let maxUses = body["max_uses"]?.intValue ?? 1
            guard expires >= 1, expires <= EnrollmentTokens.maxLifetimeSeconds else {
                return invalid(&w, "expires_in_s", "must be an integer in 1...2592000")
            }
            guard maxUses >= 1, maxUses <= 100_000 else { return invalid(&w, "max_uses", "must be an integer in 1...100000") }
            if body["tenant"] != nil && body["tenant"]?.stringValue == nil { return invalid(&w, "tenant", "must be a string") }
            let issued = plane.tokens.issue(tenant: tenant, expiresInSeconds: expires, maxUses: Int(maxUses), nowSeconds: ControlPlane.unixSeconds())
            var j = JSONWriter()
            j.objectStart()
            j.field("token_id", issued.claims.id)
            j.field("enrollment_token", issued.token)
            j.field("expires_at", issued.claims.expiresAt)
            j.field("max_uses", issued.claims.maxUses)
            j.objectEnd()
            w.json(.created, j)
        }

        router.add("enrollment_token", [.delete], InternalPaths.enrollmentTokens + "/*") { req, w in
            guard requireAdmin(req, &w, plane) else { return }
            let id = String(req.pathString.dropFirst(InternalPaths.enrollmentTokens.count + 1))
            guard id.utf8.count == 16, id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                return w.error(.badRequest, code: "INVALID_TOKEN_ID", message: "token ID must be the 16 hex digits POST /v1/enrollment-tokens answered")
            }
            // Tokens live at most 30 days: the revocation is kept that long.
            let until = ControlPlane.unixSeconds() + EnrollmentTokens.maxLifetimeSeconds
            DurableAnswer.commit(plane, &w, [.revokeToken(tokenId: id, expiresAt: until)]) { w in
                w.head(.noContent)
                w.emptyBody()
            }
        }

        router.add("edges_enroll", [.post], InternalPaths.enroll) { req, w in
            EdgeAPI.enroll(req, &w, plane, limiter: nil)
        }

        router.add("edges_list", [.get, .head], InternalPaths.edges) { _, w in
            var j = JSONWriter()
            j.objectStart()
            j.key("edges")
            j.arrayStart()
            for edge in plane.edges.values.sorted(by: { $0.nodeId < $1.nodeId }) { writeEdge(&j, edge, plane) }
            j.arrayEnd()
            j.objectEnd()
            w.json(.ok, j)
        }

        router.add("edges_item", [.get, .head, .post, .put, .delete], InternalPaths.edges + "/*") { req, w in
            let parts = req.pathString.split(separator: "/", omittingEmptySubsequences: false)
            // ["", "v1", "edges", id, action?]
            guard parts.count >= 4, parts.count <= 5, !parts[3].isEmpty else {
                return w.error(.notFound, code: "NOT_FOUND", message: "no route for this path")
            }
            let nodeId = String(parts[3])
            let action = parts.count == 5 ? String(parts[4]) : ""
            switch (req.method, action) {
            case (.post, "report"):
                EdgeAPI.report(req, &w, plane, nodeId: nodeId, limiter: nil)
            case (.put, "mode"):
                guard requireAdmin(req, &w, plane) else { return }
                guard plane.edges[nodeId] != nil else { return edgeNotFound(&w, nodeId) }
                guard let body = parseBody(req, &w) else { return }
                guard checkFields(body, ["mode"], &w) else { return }
                // "" is normal, as Foghorn takes it.
                guard let text = body["mode"]?.stringValue, let mode = EdgeMode(rawValue: text.isEmpty ? "normal" : text) else {
                    return invalid(&w, "mode", "must be normal, draining or maintenance (or \"\" for normal)")
                }
                DurableAnswer.commit(plane, &w, [.setMode(nodeId: nodeId, mode: mode)]) { w in
                    var j = JSONWriter()
                    if let edge = plane.edges[nodeId] { writeEdge(&j, edge, plane) } else {
                        j.objectStart(); j.field("node_id", nodeId); j.field("mode", mode.rawValue); j.objectEnd()
                    }
                    w.json(.ok, j)
                }
            case (.get, ""), (.head, ""):
                guard let edge = plane.edges[nodeId] else { return edgeNotFound(&w, nodeId) }
                var j = JSONWriter()
                writeEdge(&j, edge, plane)
                w.json(.ok, j)
            case (.delete, ""):
                guard requireAdmin(req, &w, plane) else { return }
                if plane.durable.edges[nodeId] != nil {  // a registration: gone for good, its credential with it
                    return DurableAnswer.commit(plane, &w, [.removeEdge(nodeId: nodeId)]) { w in
                        w.head(.noContent)
                        w.emptyBody()
                    }
                }
                guard plane.removeEdge(nodeId) else { return edgeNotFound(&w, nodeId) }
                w.head(.noContent)
                w.emptyBody()
            default:
                w.head(.methodNotAllowed)
                w.header("Allow", action == "report" ? "POST" : action == "mode" ? "PUT" : "GET, HEAD, DELETE")
                w.error(.methodNotAllowed, code: "METHOD_NOT_ALLOWED", message: "method not allowed on this path")
            }
        }

        router.add("playback", [.get, .head, .put, .delete], InternalPaths.playback + "*") { req, w in
            let id = String(req.pathString.dropFirst(InternalPaths.playback.count))
            guard StaticState.isValidPlaybackId(id) else {
                return w.error(.badRequest, code: "INVALID_VIEW_KEY", message: "playback ID must be 1-128 characters of [A-Za-z0-9_+-]")
            }
            switch req.method {
            case .put:
                guard requireAdmin(req, &w, plane) else { return }
                guard let body = parseBody(req, &w) else { return }
                guard checkFields(body, ["stream", "tenant", "cluster"], &w) else { return }
                guard let stream = body["stream"]?.stringValue else {
                    return invalid(&w, "stream", "required: the internal stream name (1-256 bytes)")
                }
                if let problem = InputRules.streamNameProblem(stream) { return invalid(&w, "stream", problem) }
                for key in ["tenant", "cluster"] where body[key] != nil {
                    guard let text = body[key]?.stringValue else { return invalid(&w, key, "must be a string") }
                    if let problem = InputRules.textProblem(text, maxBytes: 128) { return invalid(&w, key, problem) }
                }
                let existed = plane.playback[id] != nil
                let record = PlaybackRecord(playbackId: id, stream: stream, tenant: body["tenant"]?.stringValue ?? "", cluster: body["cluster"]?.stringValue ?? "")
                DurableAnswer.commit(plane, &w, [.setPlayback(record)]) { w in
                    var j = JSONWriter()
                    writePlayback(&j, record)
                    w.json(existed ? .ok : .created, j)
                }
            case .delete:
                guard requireAdmin(req, &w, plane) else { return }
                guard plane.playback[id] != nil else { return playbackNotFound(&w, id) }
                DurableAnswer.commit(plane, &w, [.removePlayback(playbackId: id)]) { w in
                    w.head(.noContent)
                    w.emptyBody()
                }
            default:
                guard let record = plane.playback[id] else { return playbackNotFound(&w, id) }
                var j = JSONWriter()
                writePlayback(&j, record)
                w.json(.ok, j)
            }
        }

        router.add("weights", [.get, .head, .put], InternalPaths.weights) { req, w in
            if req.method == .put {
                guard requireAdmin(req, &w, plane) else { return }
                guard let body = parseBody(req, &w) else { return }
                guard checkFields(body, ["cpu", "ram", "bandwidth", "geo", "stream_bonus"], &w) else { return }
                var weights = plane.weights
                for (key, path) in [("cpu", \ScoringWeights.cpu), ("ram", \.ram), ("bandwidth", \.bandwidth), ("geo", \.geo), ("stream_bonus", \.streamBonus)] {
                    guard let v = body[key] else { continue }
                    guard let i = v.intValue, i >= 0, UInt64(i) <= ScoringWeights.maxWeight else {
                        return invalid(&w, key, "must be an integer in 0...\(ScoringWeights.maxWeight)")
                    }
                    weights[keyPath: path] = UInt64(i)
                }
                return DurableAnswer.commit(plane, &w, [.setWeights(weights, fileWeights: ControlPlane.fileWeights(plane.config))]) { w in
                    var j = JSONWriter()
                    writeWeights(&j, plane.weights)
                    w.json(.ok, j)
                }
            }
            var j = JSONWriter()
            writeWeights(&j, plane.weights)
            w.json(.ok, j)
        }

        router.add("geoip_reload", [.post], InternalPaths.geoipReload) { req, w in
            guard requireAdmin(req, &w, plane) else { return }
            var path = plane.config.geoipDb
            if !req.body.isEmpty {
                guard let body = parseBody(req, &w) else { return }
                guard checkFields(body, ["path"], &w) else { return }
                if let p = body["path"] {
                    guard let text = p.stringValue, !text.isEmpty else { return invalid(&w, "path", "must be a non-empty string") }
                    path = text
                }
            }
            guard !path.isEmpty else {
                return w.error(.badRequest, code: "GEOIP_NOT_CONFIGURED", message: "no geoip_db configured and no path given")
            }
            do throws(MMDBGeoDatabase.OpenError) {
                let db = try MMDBGeoDatabase(path: path)
                plane.setGeo(db)
                plane.logger.notice("GeoIP database reloaded", metadata: ["path": "\(path)"])
                var j = JSONWriter()
                j.objectStart()
                j.field("geoip", db.describe)
                j.objectEnd()
                w.json(.ok, j)
            } catch {
                // The old database stays in use.
                w.error(.unprocessableContent, code: "GEOIP_RELOAD_FAILED", message: error.description)
            }
        }

        DebugAPI.register(on: router, plane: plane)
        StatusPage.register(on: router)
        registerFoghornNodeAliases(on: router, plane: plane)
        MistCompatAPI.register(on: router, plane: plane)
    }

    /// FrameWorks Foghorn's node endpoints, as aliases of ours (same auth): `PUT /nodes/<id>/mode`
    /// (`{"mode", "set_by"?}`, `""` = normal) and `GET /nodes/<id>/drain-status`, both answering
    /// `{node_id, operational_mode, active_viewers}`. Registered after `/nodes/overview`.
    static func registerFoghornNodeAliases(on router: HTTPRouter, plane: ControlPlane) {
        func status(_ j: inout JSONWriter, _ id: String, _ mode: EdgeMode) {
            let viewers = plane.edges[id].map { e in e.streamStats.reduce(UInt64(0)) { $0 + UInt64($1.viewers) } } ?? 0
            j.objectStart()
            j.field("node_id", id)
            j.field("operational_mode", mode.rawValue)
            j.field("active_viewers", viewers)
            j.objectEnd()
        }
        router.add("foghorn_nodes", [.get, .head, .put], "/nodes/*") { req, w in
            let parts = req.pathString.split(separator: "/", omittingEmptySubsequences: false)
            // ["", "nodes", id, action]
            guard parts.count == 4, !parts[2].isEmpty else { return w.error(.notFound, code: "NOT_FOUND", message: "no route for this path") }
            let id = String(parts[2])
            switch (req.method, parts[3]) {
            case (.get, "drain-status"), (.head, "drain-status"):
                guard let edge = plane.edges[id] else { return w.error(.notFound, code: "EDGE_NOT_FOUND", message: "node not found") }
                var j = JSONWriter()
                status(&j, id, edge.mode)
                w.json(.ok, j)
            case (.put, "mode"):
                guard requireAdmin(req, &w, plane) else { return }
                guard plane.edges[id] != nil else { return w.error(.notFound, code: "EDGE_NOT_FOUND", message: "node not found") }
                guard let body = parseBody(req, &w) else { return }
                guard checkFields(body, ["mode", "set_by"], &w) else { return }
                guard let text = body["mode"]?.stringValue, let mode = EdgeMode(rawValue: text.isEmpty ? "normal" : text) else {
                    return invalid(&w, "mode", "must be normal, draining or maintenance (or \"\" for normal)")
                }
                if let by = body["set_by"], by.stringValue == nil { return invalid(&w, "set_by", "must be a string") }
                DurableAnswer.commit(plane, &w, [.setMode(nodeId: id, mode: mode)]) { w in
                    var j = JSONWriter()
                    status(&j, id, mode)
                    w.json(.ok, j)
                }
            default:
                w.error(.notFound, code: "NOT_FOUND", message: "Foghorn's node routes here: PUT /nodes/<id>/mode, GET /nodes/<id>/drain-status, GET /nodes/overview")
            }
        }
    }

    // MARK: Helpers

    static func bearer(_ req: HTTPRequest) -> String? {
        guard let value = req.headerString("authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1])
    }

    static func isAdmin(_ req: HTTPRequest, _ plane: ControlPlane) -> Bool {
        guard !plane.config.internalToken.isEmpty, let token = bearer(req) else { return false }
        return Crypto.constantTimeEqual(Array(token.utf8), Array(plane.config.internalToken.utf8))
    }

    /// Routes `internal_auth: all` leaves open: probes, enrolment and reports (credentials of
    /// their own, checked by their handlers) and the MistUtilLoad API (MistServer sends no token).
    /// `ui`: the status page holds no data (what it fetches is gated).
    static let openRoutes: Set<String> = ["livez", "readyz", "health", "version", "edges_enroll", "mist_root", "ui"]

    /// Puts `internal_auth` in front of every route of the internal listener's `router`: with
    /// `all` (read from the running configuration, so a reload applies it), a request to any
    /// route but ``openRoutes`` and edge reports needs the admin token — 401 `UNAUTHORIZED`
    /// without it, 403 `ADMIN_TOKEN_NOT_CONFIGURED` when none is set. With `mutations` the
    /// handlers decide alone (mutations need the token, reads are open).
    public static func gate(_ router: HTTPRouter, plane: ControlPlane) {
        router.wrapHandlers { name, handler in
            if openRoutes.contains(name) { return handler }
            return { req, w in
                if plane.config.effectiveInternalAuth == .all && !isEdgeReport(name, req) {
                    guard requireAdmin(req, &w, plane) else { return }
                }
                handler(req, &w)
            }
        }
    }

    /// `POST /v1/edges/<id>/report`: authorized by the edge's own credential in its handler.
    static func isEdgeReport(_ route: String, _ req: HTTPRequest) -> Bool {
        route == "edges_item" && req.method == .post && req.pathString.hasSuffix("/report")
    }

    /// ``requireAdmin(_:_:_:)`` for routes registered outside this module (`/-/reload`).
    public static func requireAdminToken(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ plane: ControlPlane) -> Bool {
        requireAdmin(req, &w, plane)
    }

    static func requireAdmin(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ plane: ControlPlane) -> Bool {
        if plane.config.internalToken.isEmpty {
            w.error(.forbidden, code: "ADMIN_TOKEN_NOT_CONFIGURED", message: "refused: no internal_token is configured")
            return false
        }
        if isAdmin(req, plane) { return true }
        w.head(.unauthorized)
        w.header("WWW-Authenticate", "Bearer")
        w.error(.unauthorized, code: "UNAUTHORIZED", message: bearer(req) == nil ? "missing bearer token" : "invalid bearer token")
        return false
    }

    static func authorizeEdge(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ plane: ControlPlane, nodeId: String) -> Bool {
        if isAdmin(req, plane) { return true }
        if let token = bearer(req), plane.tokens.verifyEdgeCredential(token, nodeId: nodeId) { return true }
        w.head(.unauthorized)
        w.header("WWW-Authenticate", "Bearer")
        w.error(.unauthorized, code: "UNAUTHORIZED", message: "a report needs this edge's edge_token (or the admin token)")
        return false
    }

    static func parseBody(_ req: HTTPRequest, _ w: inout HTTPResponseWriter) -> JSONValue? {
        if req.body.isEmpty {
            w.error(.badRequest, code: "INVALID_JSON", message: "request body must be a JSON object")
            return nil
        }
        do {
            let value = try JSONParser.parse(req.body)
            guard case .object = value else {
                w.error(.badRequest, code: "INVALID_JSON", message: "request body must be a JSON object")
                return nil
            }
            return value
        } catch {
            w.error(.badRequest, code: "INVALID_JSON", message: error.description)
            return nil
        }
    }

    static func checkFields(_ body: JSONValue, _ allowed: Set<String>, _ w: inout HTTPResponseWriter) -> Bool {
        for (key, _) in body.objectValue ?? [] where !allowed.contains(key) {
            invalid(&w, key, "unknown field")
            return false
        }
        return true
    }

    static func invalid(_ w: inout HTTPResponseWriter, _ field: String, _ problem: String) {
        w.head(.badRequest)
        var j = JSONWriter()
        j.objectStart()
        j.field("error", "invalid_field")
        j.field("message", "\(field): \(problem)")
        j.field("code", "INVALID_FIELD")
        j.field("field", field)
        j.objectEnd()
        w.body(j.bytes, contentType: "application/json")
    }

    static func edgeNotFound(_ w: inout HTTPResponseWriter, _ id: String) {
        w.error(.notFound, code: "EDGE_NOT_FOUND", message: "no edge \(id)")
    }

    static func playbackNotFound(_ w: inout HTTPResponseWriter, _ id: String) {
        w.error(.notFound, code: "VIEW_KEY_NOT_FOUND", message: "no playback record \(id)")
    }

    static func writePlayback(_ j: inout JSONWriter, _ r: PlaybackRecord) {
        j.objectStart()
        j.field("id", r.playbackId)
        j.field("stream", r.stream)
        j.field("tenant", r.tenant)
        j.field("cluster", r.cluster)
        j.objectEnd()
    }

    static func writeWeights(_ j: inout JSONWriter, _ w: ScoringWeights) {
        j.objectStart()
        j.field("cpu", w.cpu)
        j.field("ram", w.ram)
        j.field("bandwidth", w.bandwidth)
        j.field("geo", w.geo)
        j.field("stream_bonus", w.streamBonus)
        j.objectEnd()
    }

    static func writeEdge(_ j: inout JSONWriter, _ e: EdgeState, _ plane: ControlPlane) {
        let now = ControlPlane.monotonicMs()
        j.objectStart()
        j.field("node_id", e.nodeId)
        j.field("state", edgeState(e, plane, now))
        let warnings = EdgeWarnings(e, staleness: plane.staleness, nowMs: now)
        j.key("warnings"); j.arrayStart(); for line in warnings.blocking { j.string(line) }; j.arrayEnd()
        j.key("notes"); j.arrayStart(); for line in warnings.notes { j.string(line) }; j.arrayEnd()
        j.field("mode", e.mode.rawValue)
        j.field("static", e.isStatic)
        if !e.pollError.isEmpty { j.field("poll_error", e.pollError) }
        j.field("tenant", e.tenant)
        j.field("domain", e.domain)
        j.field("public_ip", e.publicIP)
        j.field("base_url", e.baseURL)
        if let last = e.lastReportMs { j.field("last_report_age_ms", now >= last ? now - last : 0) } else { j.key("last_report_age_ms"); j.null() }
        j.field("reports", e.reports)
        j.field("cpu_permille", e.cpuPermille)
        j.field("ram_used_bytes", e.ramUsedBytes)
        j.field("ram_max_bytes", e.ramMaxBytes)
        j.field("up_bytes_per_sec", e.upBytesPerSec)
        j.field("down_bytes_per_sec", e.downBytesPerSec)
        j.field("bw_limit_bytes_per_sec", e.bwLimitBytesPerSec)
        j.field("pending_bytes_per_sec", e.pendingBytesPerSec)
        if e.hasValidGeo { j.field("lat", e.lat); j.field("lon", e.lon) } else { j.key("lat"); j.null(); j.key("lon"); j.null() }
        j.field("location", e.location)
        j.key("tags"); j.arrayStart(); for t in e.tags { j.string(t) }; j.arrayEnd()
        j.key("capabilities"); j.arrayStart(); for c in e.capabilities.names { j.string(c) }; j.arrayEnd()
        j.key("outputs"); j.objectStart(); for o in e.outputs { j.field(o.name, o.template) }; j.objectEnd()
        j.key("streams"); j.objectStart()
        for (name, s) in e.streamList(in: plane.builder.names) {  // sorted by name
            j.key(name); j.objectStart()
            j.field("inputs", s.inputs); j.field("viewers", s.viewers); j.field("up_bytes_per_sec", s.upBytesPerSec); j.field("replicated", s.replicated)
            j.objectEnd()
        }
        j.objectEnd()
        let w = plane.weights
        j.key("score_terms"); j.objectStart()
        j.field("cpu", w.cpuScore(permille: e.cpuPermille))
        j.field("ram", w.ramScore(used: e.ramUsedBytes, max: e.ramMaxBytes))
        let used = e.upBytesPerSec &+ e.pendingBytesPerSec
        j.field("bandwidth", e.bwLimitBytesPerSec > used ? w.bandwidthScore(used: used, limit: e.bwLimitBytesPerSec) : 0)
        j.objectEnd()
        j.objectEnd()
    }

    /// The state `/v1/edges` shows (metrics count edges by it).
    public static func edgeStateName(_ e: EdgeState, _ plane: ControlPlane, _ now: UInt64) -> String { edgeState(e, plane, now) }

    static func edgeState(_ e: EdgeState, _ plane: ControlPlane, _ now: UInt64) -> String {
        if e.mode != .normal { return e.mode.rawValue }
        if !e.pollError.isEmpty { return e.pollError == "starting" ? "starting" : "poll_failed" }
        switch plane.staleness.health(of: e, nowMs: now) {
        case .fresh: return e.ramMaxBytes == 0 || e.bwLimitBytesPerSec == 0 ? "no_metrics" : "routable"
        case .stale, .evict: return "stale"
        }
    }
}
