import FoghornTLS
public import FoghornHTTPCore
import FoghornJSON
import FoghornModel
import FoghornConfig
import FoghornState

/// The edge API: enrolment (`POST /v1/edges/enroll`, an enrolment token in the body) and
/// reports (`POST /v1/edges/<id>/report`, the edge's own credential as bearer token).
///
/// Served on the internal listener (edges on a private network) and, with `edge_listen`, on
/// the public edge listener (TLS, control loop) — which serves nothing else but `/livez`, limits
/// every request per source address before reading it, and each enrolment token's and edge
/// credential's requests once it is verified (so nobody can spend an edge's budget for it).
/// Every answer is JSON; every refusal is `{error, message, code}`.
public final class EdgeAPI: @unchecked Sendable {  // control loop only (metrics are scraped there)
    let plane: ControlPlane
    var byAddress: RateLimiter
    var byCredential: RateLimiter
    /// Requests refused by each limit (metrics).
    public private(set) var limitedByAddress: UInt64 = 0
    public private(set) var limitedByCredential: UInt64 = 0

    public init(plane: ControlPlane) {
        self.plane = plane
        let s = plane.config.edgeAPI
        byAddress = RateLimiter(capacity: s.trackedKeys, policy: .init(perMinute: UInt64(s.addressPerMinute), burst: UInt64(s.addressBurst)))
        byCredential = RateLimiter(capacity: s.trackedKeys, policy: .init(perMinute: UInt64(s.credentialPerMinute), burst: UInt64(s.credentialBurst)))
    }

    /// Route names of the edge listener (metrics label them).
    public static let enrollRoute = "edge_enroll", reportRoute = "edge_report"

    /// The edge listener's routes (probes are added by the caller).
    public func register(on router: HTTPRouter) {
        router.add(Self.enrollRoute, [.post], InternalPaths.enroll) { [unowned self] req, w in
            EdgeAPI.enroll(req, &w, plane, limiter: self)
        }
        router.add(Self.reportRoute, [.post], InternalPaths.edges + "/*") { [unowned self] req, w in
            let parts = req.pathString.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 5, parts[4] == "report", !parts[3].isEmpty else {
                return w.error(.notFound, code: "NOT_FOUND", message: "the edge listener serves POST /v1/edges/enroll and POST /v1/edges/<node_id>/report")
            }
            EdgeAPI.report(req, &w, plane, nodeId: String(parts[3]), limiter: self)
        }
        // Every request is counted against its source address before its handler runs.
        router.wrapHandlers { _, handler in
            { [unowned self] req, w in
                guard admit(addressKey(req), &w, credential: false) else { return }
                handler(req, &w)
            }
        }
    }

    func addressKey(_ req: HTTPRequest) -> String {
        EdgeAPI.clientAddress(req, plane).map(\.description) ?? req.peerAddress
    }

    /// Takes a token for `key`; false (and a 429 written) when its bucket is empty.
    func admit(_ key: String, _ w: inout HTTPResponseWriter, credential: Bool) -> Bool {
        let now = ControlPlane.monotonicMs()
        let decision = credential ? byCredential.take(key, nowMs: now) : byAddress.take(key, nowMs: now)
        guard case .limited(let retryMs) = decision else { return true }
        if credential { limitedByCredential &+= 1 } else { limitedByAddress &+= 1 }
        w.head(.tooManyRequests)
        w.header("Retry-After", decimal: Int((retryMs + 999) / 1000))
        w.error(.tooManyRequests, code: "RATE_LIMITED",
                message: credential ? "too many requests with this credential: retry after \((retryMs + 999) / 1000) s"
                                    : "too many requests from this address: retry after \((retryMs + 999) / 1000) s")
        return false
    }

    /// The requester's address: the TCP peer, or what a trusted proxy says (`trusted_proxies`).
    static func clientAddress(_ req: HTTPRequest, _ plane: ControlPlane) -> IPAddress? {
        guard let peer = IPAddress.parse(req.peerAddress) else { return nil }
        return plane.resolver.resolve(peer: peer, lines: { name, n in
            let range: ByteRange?
            switch name {
            case .cfConnectingIP: range = req.header("cf-connecting-ip", occurrence: n)
            case .forwardedFor: range = req.header("x-forwarded-for", occurrence: n)
            case .realIP: range = req.header("x-real-ip", occurrence: n)
            }
            return range.map { req.bytes($0) }
        }, duplicate: { _ in })
    }

    // MARK: Enrolment

    static let enrollFields: Set<String> = ["enrollment_token", "public_ip", "lat", "lon", "location", "base_url"]

    /// `POST /v1/edges/enroll`: `{enrollment_token, public_ip?, lat?, lon?, location?, base_url?}`
    /// → 201 with everything the edge needs (see docs/EDGES.md). `public_ip` defaults to the
    /// requester's address; `base_url` to `https://<domain>/`.
    static func enroll(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ plane: ControlPlane, limiter: EdgeAPI?) {
        guard let body = InternalAPI.parseBody(req, &w) else { return }
        guard InternalAPI.checkFields(body, enrollFields, &w) else { return }
        guard let token = body["enrollment_token"]?.stringValue else {
            return InternalAPI.invalid(&w, "enrollment_token", "required string")
        }
        var ipText = EdgeAPI.clientAddress(req, plane)?.description ?? ""
        if let given = body["public_ip"] {
            guard let text = given.stringValue, IPAddress.parse(text) != nil else {
                return InternalAPI.invalid(&w, "public_ip", "must be an IPv4 or IPv6 address (omit it to use the address this request came from)")
            }
            ipText = text
        }
        guard IPAddress.parse(ipText) != nil else { return InternalAPI.invalid(&w, "public_ip", "required: an IPv4 or IPv6 address") }
        var report = JSONValue.object([])
        if case .object(let members) = body {
            report = .object(members.filter { ["lat", "lon", "location", "base_url"].contains($0.key) })
        }
        let parsed: EdgeReport
        do throws(EdgeReport.FieldError) { parsed = try EdgeReport.parse(report, names: plane.builder.names) } catch { return InternalAPI.invalid(&w, error.field, error.problem) }
        let claims: EnrollmentTokens.Claims
        // Verified here; the use is taken by the store (one use per commit, refused past the
        // last), so concurrent enrolments — on this replica or another — cannot overspend it.
        switch plane.tokens.verify(token, nowSeconds: ControlPlane.unixSeconds()) {
        case .success(let c): claims = c
        case .failure(let f):
            w.error(HTTPStatus(rawValue: f.status)!, code: f.code, message: f.message)
            return
        }
        if let limiter, !limiter.admit("t:" + claims.id, &w, credential: true) { return }
        var nodeId = Crypto.hex(Crypto.randomBytes(6))
        while plane.edges[nodeId] != nil || plane.durable.edges[nodeId] != nil { nodeId = Crypto.hex(Crypto.randomBytes(6)) }
        let domain = "edge-\(nodeId).\(plane.config.clusterSlug).\(plane.config.rootDomain)"
        var registration = EdgeRegistration(
            nodeId: nodeId, tenant: claims.tenant, domain: domain,
            publicIP: ipText, location: parsed.location ?? "", baseURL: parsed.baseURL ?? defaultBaseURL(domain: domain),
            enrolledAtUnixMs: ControlPlane.unixMs())
        if let lat = parsed.lat, let lon = parsed.lon, GeoPoint.isValid(lat: lat, lon: lon) { registration.lat = lat; registration.lon = lon }
        let reportURL = reportBase(req, plane).map { $0 + InternalPaths.edges + "/" + nodeId + "/report" }
        let baseURL = registration.baseURL
        DurableAnswer.commit(plane, &w, [.redeemToken(tokenId: claims.id, maxUses: claims.maxUses, expiresAt: claims.expiresAt), .registerEdge(registration)]) { w in
            var j = JSONWriter()
            j.objectStart()
            j.field("node_id", nodeId)
            j.field("domain", domain)
            j.field("cluster_id", plane.config.clusterId)
            j.field("edge_token", plane.tokens.edgeCredential(nodeId: nodeId))
            if let reportURL { j.field("report_url", reportURL) } else { j.key("report_url"); j.null() }
            j.field("report_interval_s", plane.config.edgeAPI.reportIntervalS)
            j.field("stale_after_s", plane.config.edgeStaleAfterMs / 1000)
            j.field("base_url", baseURL)
            j.field("public_ip", ipText)
            if let cert = plane.edgeCertificate {
                j.key("tls")
                j.objectStart()
                j.field("certificate_pem", cert.certificatePEM)
                j.field("private_key_pem", cert.privateKeyPEM)
                j.key("names"); j.arrayStart(); for n in cert.names { j.string(n) }; j.arrayEnd()
                j.field("not_after", cert.notAfterUnix)
                j.objectEnd()
            }
            j.objectEnd()
            w.json(.created, j)
        }
    }

    /// An enrolled edge's default `base_url`: its assigned domain over HTTPS.
    public static func defaultBaseURL(domain: String) -> String { "https://\(domain)/" }

    /// `edge_api.public_url`, else the scheme and `Host` this request came with (checked: a
    /// host name or address and port, nothing else); nil when neither is usable.
    static func reportBase(_ req: HTTPRequest, _ plane: ControlPlane) -> String? {
        if !plane.config.edgeAPI.publicUrl.isEmpty { return plane.config.edgeAPI.publicUrl }
        guard let host = req.headerString("host"), !host.isEmpty, host.utf8.count <= 261,
              host.utf8.allSatisfy(isHostByte) else { return nil }
        return (req.isSecure ? "https://" : "http://") + host
    }

    /// A `Host` header's bytes: a DNS name, an IPv4 address or a bracketed IPv6 one, a port.
    static func isHostByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2E || b == 0x2D || b == 0x3A || b == 0x5B || b == 0x5D
    }

    // MARK: Reports

    /// `POST /v1/edges/<id>/report` with the edge's credential → 200
    /// `{node_id, state, routable, warnings, notes, report_interval_s}`.
    static func report(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ plane: ControlPlane, nodeId: String, limiter: EdgeAPI?) {
        guard InternalAPI.authorizeEdge(req, &w, plane, nodeId: nodeId) else { return }
        // An evicted edge's registration stays: its credential brings it back. A removed one's
        // credential still verifies (it is an HMAC of the node ID) but reports nothing any more.
        guard plane.edges[nodeId] != nil || plane.durable.edges[nodeId] != nil else {
            if InternalAPI.isAdmin(req, plane) { return InternalAPI.edgeNotFound(&w, nodeId) }
            w.head(.unauthorized)
            w.header("WWW-Authenticate", "Bearer")
            return w.error(.unauthorized, code: "EDGE_REMOVED",
                           message: "edge \(nodeId) was removed (DELETE /v1/edges/\(nodeId)): its credential reports nothing any more; enrol again with a new enrolment token")
        }
        if let limiter, !limiter.admit("n:" + nodeId, &w, credential: true) { return }
        guard let body = InternalAPI.parseBody(req, &w) else { return }
        do throws(EdgeReport.FieldError) {
            let report = try EdgeReport.parse(body, names: plane.builder.names)
            if plane.edges[nodeId] == nil { _ = plane.readmit(nodeId) }
            _ = plane.apply(report, to: nodeId)
            plane.noteReported(nodeId)
            plane.reportForwarder?(nodeId, Array(req.body))
            var j = JSONWriter()
            j.objectStart()
            j.field("node_id", nodeId)
            if let edge = plane.edges[nodeId] {
                let now = ControlPlane.monotonicMs()
                let warnings = EdgeWarnings(edge, staleness: plane.staleness, nowMs: now)
                j.field("state", InternalAPI.edgeState(edge, plane, now))
                j.field("routable", warnings.isRoutable)
                j.key("warnings"); j.arrayStart(); for line in warnings.blocking { j.string(line) }; j.arrayEnd()
                j.key("notes"); j.arrayStart(); for line in warnings.notes { j.string(line) }; j.arrayEnd()
            }
            j.field("report_interval_s", plane.config.edgeAPI.reportIntervalS)
            j.objectEnd()
            w.json(.ok, j)
        } catch {
            InternalAPI.invalid(&w, error.field, error.problem)
        }
    }
}
