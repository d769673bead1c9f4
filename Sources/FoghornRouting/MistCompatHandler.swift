public import FoghornHTTPCore
import FoghornModel
import FoghornJSON

/// MistUtilLoad's viewer query on the viewer listener: `GET /<stream>` → 200
/// `text/plain` best host; `?proto=<connector>` → 307 to that node's output
/// template (`HOST` → host, `$` → stream; the rest of the query appended);
/// `lat`/`lon` query (or `X-Latitude`/`X-Longitude` from trusted proxies), else
/// geo from the client address; `tag_adjust`/`X-Tag-Adjust`; `fallback`. No
/// qualifying node → 200 with the fallback text. Unlike MistUtilLoad, every
/// answer has a Content-Length and `Connection: close`/HTTP/1.0 are honoured.
public enum MistCompatHandler {
    public static func register(on router: HTTPRouter, loop: ViewerLoop, fallback: String) {
        router.add("mist_favicon", [.get, .head], "/favicon.ico") { req, w in
            w.head(.notFound)
            loop.writeRequestID(req, &w)
            w.error(.notFound, code: "NOT_FOUND", message: "no favicon")
        }
        router.add("mist_stream", [.get, .head, .options], "/*") { req, w in
            // A browser's preflight before a cross-origin query (custom headers): allowed.
            if req.method == .options { return PlayHandler.preflight(req, &w, loop, methods: "GET, HEAD, OPTIONS") }
            handle(req, &w, loop, fallback: fallback)
        }
    }

    /// A position a trusted proxy states: MistUtilLoad's `X-Latitude`/`X-Longitude`, else
    /// Cloudflare's `CF-IPLatitude`/`CF-IPLongitude` (what Foghorn reads).
    static func trustedPosition(_ req: HTTPRequest) -> (Double, Double)? {
        for (latName, lonName) in [("x-latitude", "x-longitude"), ("cf-iplatitude", "cf-iplongitude")] as [(StaticString, StaticString)] {
            if let lat = req.headerString(latName).flatMap(Double.init), let lon = req.headerString(lonName).flatMap(Double.init) { return (lat, lon) }
        }
        return nil
    }

    /// `^[A-Za-z0-9][A-Za-z0-9_+\-.]{0,255}$`.
    static func isStreamName(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 1, b.count <= 256 else { return false }
        for (i, c) in b.enumerated() {
            let alnum = (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
            if i == 0 && !alnum { return false }
            if !(alnum || c == 0x5F || c == 0x2B || c == 0x2D || c == 0x2E) { return false }
        }
        return true
    }

    static let consumedKeys: Set<String> = ["proto", "lat", "lon", "tag_adjust", "fallback"]

    static func handle(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ loop: ViewerLoop, fallback configured: String) {
        loop.lastDecision = nil
        let path = req.path
        let name = UnsafeRawBufferPointer(rebasing: path[1...])
        guard isStreamName(name) else {
            if name.isEmpty { return PlayHandler.fail(&w, req, loop, .notFound, "NOT_FOUND", "no route for this path", .badRequest) }
            return PlayHandler.fail(&w, req, loop, .badRequest, "INVALID_STREAM_NAME", "stream names are [A-Za-z0-9][A-Za-z0-9_+-.]*", .badRequest)
        }
        let stream = String(decoding: name, as: UTF8.self)
        loop.refresh()
        let snapshot = loop.current  // strong: see PlayHandler (fewer retains than unowned(unsafe))
        let fallback = req.queryParameter("fallback") ?? configured
        // Position: query lat/lon, trusted X-Latitude/X-Longitude, else GeoIP of the client.
        var viewer: GeoPoint?
        if let lat = req.queryParameter("lat").flatMap(Double.init), let lon = req.queryParameter("lon").flatMap(Double.init),
           GeoPoint.isValid(lat: lat, lon: lon) {
            viewer = GeoPoint(lat: lat, lon: lon)
        } else if let peer = IPAddress.parse(req.peerAddress), loop.settings.resolver.isTrusted(peer),
                  let (lat, lon) = trustedPosition(req), GeoPoint.isValid(lat: lat, lon: lon) {
            viewer = GeoPoint(lat: lat, lon: lon)
        } else if let client = loop.clientAddress(req) {
            viewer = loop.geoCache.position(of: client, in: snapshot.geo)
        }
        var tags = CompiledTagAdjustment.none
        if let text = PlayHandler.tagAdjustText(req), let adjust = try? TagAdjustment.parse(text) {
            tags = snapshot.compile(adjust)
        }
        guard let best = MistCompatScorer.best(snapshot, stream: stream, mode: .viewer, viewer: viewer, tags: tags, localPending: loop.localPending) else {
            w.head(.ok)
            loop.writeRequestID(req, &w)
            w.body(fallback, contentType: "text/plain; charset=utf-8")
            loop.count(.noEdgeAvailable)
            return
        }
        loop.lastDecision = (best.edge, best.score)
        let host = MistCompatScorer.hostOf(snapshot.edges[best.edge])
        let nodeId = snapshot.nodeIds[best.edge]
        if let streamIndex = snapshot.streamIndex(named: stream) {
            loop.addPending(edge: best.edge, bytesPerSec: snapshot.streams[streamIndex].perViewerBytesPerSec)
        } else {
            loop.addPending(edge: best.edge, bytesPerSec: 131_072)
        }
        guard let proto = req.queryParameter("proto"), !proto.isEmpty else {
            w.head(.ok)
            loop.writeRequestID(req, &w)
            w.header("X-Foghorn-Edge", string: nodeId)
            w.body(host, contentType: "text/plain; charset=utf-8")
            loop.count(.redirect)
            return
        }
        guard let template = outputTemplate(snapshot.edges[best.edge], proto, snapshot: snapshot, index: best.edge) else {
            return PlayHandler.fail(&w, req, loop, .notFound, "PROTOCOL_NOT_AVAILABLE", "node \(nodeId) has no output \(proto)", .protocolNotAvailable)
        }
        var url = template.replacingAll("HOST", with: host.contains(":") ? "[\(host)]" : host).replacingAll("$", with: stream)
        let rest = remainingQuery(req)
        if !rest.isEmpty { url += (url.contains("?") ? "&" : "?") + rest }
        w.head(.temporaryRedirect)
        loop.writeRequestID(req, &w)
        w.header("Location", string: url)
        w.header("X-Foghorn-Edge", string: nodeId)
        w.body(url, contentType: "text/plain; charset=utf-8")
        loop.count(.redirect)
    }

    /// The node's output for a connector name: exact (case-insensitive) first, then our protocol aliases.
    static func outputTemplate(_ edge: EdgeState, _ proto: String, snapshot: RoutingSnapshot, index: Int) -> String? {
        let lower = proto.lowercased()
        if let out = edge.outputs.first(where: { $0.name.lowercased() == lower }) { return out.template }
        if let canonical = ViewerProtocol.normalize(proto) {
            for name in canonical.outputNames {
                if let out = edge.outputs.first(where: { $0.name.lowercased() == name }) { return out.template }
            }
        }
        return nil
    }

    static func remainingQuery(_ req: HTTPRequest) -> String {
        guard let q = req.queryString else { return "" }
        return q.split(separator: "&").filter { pair in
            let key = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return !consumedKeys.contains(key)
        }.joined(separator: "&")
    }
}
