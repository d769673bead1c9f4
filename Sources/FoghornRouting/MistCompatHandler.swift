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
    /// Cloudflare's `CF-IPLatitude`/`CF-IPLongitude` (what Foghorn reads). Nil when the request
    /// carries neither pair (checked before the peer's address is).
    static func trustedPosition(_ req: HTTPRequest, _ loop: ViewerLoop) -> GeoPoint? {
        var pair: (ByteRange, ByteRange)?
        if let lat = req.header("x-latitude"), let lon = req.header("x-longitude") {
            pair = (lat, lon)
        } else if let lat = req.header("cf-iplatitude"), let lon = req.header("cf-iplongitude") {
            pair = (lat, lon)
        }
        guard let (latRange, lonRange) = pair, let peer = loop.peerIP(req), loop.settings.resolver.isTrusted(peer),
              let lat = QueryString.double(req.bytes(latRange)), let lon = QueryString.double(req.bytes(lonRange)),
              GeoPoint.isValid(lat: lat, lon: lon) else { return nil }
        return GeoPoint(lat: lat, lon: lon)
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

    /// Query keys the balancer reads (left out of the URL a redirect carries).
    static let consumedKeys: [StaticString] = ["proto", "lat", "lon", "tag_adjust", "fallback", "cap"]

    static func handle(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ loop: ViewerLoop, fallback configured: String) {
        loop.lastDecision = nil
        let path = req.path
        let name = UnsafeRawBufferPointer(rebasing: path[1...])
        guard isStreamName(name) else {
            if name.isEmpty { return PlayHandler.fail(&w, req, loop, .notFound, "NOT_FOUND", "no route for this path", .badRequest) }
            return PlayHandler.fail(&w, req, loop, .badRequest, "INVALID_STREAM_NAME", "stream names are [A-Za-z0-9][A-Za-z0-9_+-.]*", .badRequest)
        }
        let query = req.head.hasQuery ? req.bytes(req.head.query) : UnsafeRawBufferPointer(start: nil, count: 0)
        let q = CompatQuery(query)
        var required: EdgeCapabilities = []
        if let raw = q.cap {
            switch PlayHandler.capabilities(raw) {
            case .success(let c): required = c
            case .failure(let e): return PlayHandler.fail(&w, req, loop, .badRequest, "INVALID_CAPABILITY", e.message, .badRequest)
            }
        }
        loop.refresh()
        let snapshot = loop.current  // strong: see PlayHandler (fewer retains than unowned(unsafe))
        // Position: a trusted proxy's headers (MistUtilLoad: headers win over the query; Foghorn:
        // CF-IP… first), the query's lat/lon, else GeoIP of the client.
        var viewer = trustedPosition(req, loop)
        if viewer == nil, let latRaw = q.lat, let lonRaw = q.lon,
           let lat = QueryString.double(latRaw), let lon = QueryString.double(lonRaw), GeoPoint.isValid(lat: lat, lon: lon) {
            viewer = GeoPoint(lat: lat, lon: lon)
        }
        if viewer == nil, let client = loop.clientAddress(req) {
            viewer = loop.geoCache.position(of: client, in: snapshot.geo)
        }
        var tags = CompiledTagAdjustment(masks: [], maxPositive: 0)  // not the shared `.none`: no global access per request
        if let text = PlayHandler.tagAdjustText(req, queryValue: q.tagAdjust), let adjust = try? TagAdjustment.parse(text) {
            tags = snapshot.compile(adjust)
        }
        let slot = snapshot.streamIndex(named: name)
        guard let best = MistCompatScorer.best(snapshot, slot: slot, name: name, mode: .viewer, viewer: viewer, tags: tags,
                                               capabilities: required, localPending: loop.localPending) else {
            w.head(.ok)
            loop.writeRequestID(req, &w)
            if let raw = q.fallback, let text = QueryString.percentDecode(raw) {
                w.body(text, contentType: "text/plain; charset=utf-8")
            } else {
                w.body(configured, contentType: "text/plain; charset=utf-8")
            }
            loop.count(.noEdgeAvailable)
            return
        }
        loop.lastDecision = (best.edge, best.score)
        let edge = best.edge
        var host = snapshot.edges[edge].publicHost
        var nodeId = snapshot.nodeIds[edge]
        // A redirect (or an answer naming the host) sends a viewer there: MistUtilLoad's
        // addBandwidth, our pending bandwidth (``pendingEstimate``). HEAD sends nobody.
        if !w.isHeadRequest { loop.addPending(edge: edge, bytesPerSec: pendingEstimate(snapshot, edge: edge, slot: slot)) }
        guard let protoRaw = q.proto, !protoRaw.isEmpty else {
            w.head(.ok)
            loop.writeRequestID(req, &w)
            nodeId.withUTF8 { w.header("X-Foghorn-Edge", UnsafeRawBufferPointer($0)) }
            host.withUTF8 { w.body(UnsafeRawBufferPointer($0), contentType: "text/plain; charset=utf-8") }
            loop.count(.redirect)
            return
        }
        guard let template = outputTemplate(snapshot, edge: edge, protoRaw) else {
            let proto = String(decoding: protoRaw.prefix(64), as: UTF8.self)
            return PlayHandler.fail(&w, req, loop, .notFound, "PROTOCOL_NOT_AVAILABLE", "node \(nodeId) has no output \(proto)", .protocolNotAvailable)
        }
        let url = loop.url
        url.clear()
        var t = template
        host.withUTF8 { h in
            t.withUTF8 { buildURL(url, template: UnsafeRawBufferPointer($0), host: UnsafeRawBufferPointer(h), stream: name, query: query) }
        }
        // Header-safe: the template was checked at the door, the query is the request line's.
        w.head(.temporaryRedirect)
        loop.writeRequestID(req, &w)
        w.header("Location", url.readable)
        nodeId.withUTF8 { w.header("X-Foghorn-Edge", UnsafeRawBufferPointer($0)) }
        w.body(url.readable, contentType: "text/plain; charset=utf-8")
        loop.count(.redirect)
    }

    /// What one more viewer is expected to cost on `edge`, MistUtilLoad's way: the stream's
    /// per-viewer rate where the node carries it, else the node's (up + down) / viewers, else
    /// 128 KiB/s — clamped to 64 KiB/s … 1 MiB/s.
    ///
    /// Worked example: a node sending 40 MB/s up and 2 MB/s down to 100 viewers, asked for a
    /// stream it lacks: 420,000 B/s per viewer.
    static func pendingEstimate(_ s: RoutingSnapshot, edge: Int, slot: Int?) -> UInt64 {
        if let slot {
            let c = s.candidates(of: slot)
            var lo = 0, hi = c.edges.count  // ascending edge indices
            while lo < hi {
                let mid = (lo &+ hi) >> 1
                if Int(c.edges[mid]) < edge { lo = mid &+ 1 } else { hi = mid }
            }
            if lo < c.edges.count && Int(c.edges[lo]) == edge { return s.perViewerByStream[slot] }
        }
        var viewers: UInt64 = 0
        for stats in s.edges[edge].streamStats { viewers &+= UInt64(stats.viewers) }
        guard viewers > 0 else { return StreamEntry.unknownPerViewerBytesPerSec }
        return min(max((s.edges[edge].upBytesPerSec &+ s.edges[edge].downBytesPerSec) / viewers, 65_536), 1_048_576)
    }

    /// `template` with `HOST` → host (bracketed when IPv6) and `$` → the stream, then the
    /// request's query minus the keys the balancer consumed.
    static func buildURL(_ out: ByteBuffer, template: UnsafeRawBufferPointer, host: UnsafeRawBufferPointer, stream: UnsafeRawBufferPointer,
                         query: UnsafeRawBufferPointer) {
        let bracket = host.contains(UInt8(ascii: ":"))
        var hasQuery = false
        var i = 0, run = 0  // template[run..<i] is copied as one span
        let n = template.count
        while i < n {
            let b = template[i]
            if b == UInt8(ascii: "H") && i &+ 4 <= n && template[i &+ 1] == UInt8(ascii: "O")
                && template[i &+ 2] == UInt8(ascii: "S") && template[i &+ 3] == UInt8(ascii: "T") {
                out.append(UnsafeRawBufferPointer(rebasing: template[run..<i]))
                if bracket { out.append(UInt8(ascii: "[")) }
                out.append(host)
                if bracket { out.append(UInt8(ascii: "]")) }
                i &+= 4
                run = i
                continue
            }
            if b == UInt8(ascii: "$") {
                out.append(UnsafeRawBufferPointer(rebasing: template[run..<i]))
                out.append(stream)
                run = i &+ 1
            } else if b == UInt8(ascii: "?") {
                hasQuery = true
            }
            i &+= 1
        }
        out.append(UnsafeRawBufferPointer(rebasing: template[run..<n]))
        QueryString.forEachPair(in: query) { key, _, pair in
            for consumed in consumedKeys {
                let k = UnsafeRawBufferPointer(start: consumed.utf8Start, count: consumed.utf8CodeUnitCount)
                if key.elementsEqual(k) { return }
            }
            out.append(hasQuery ? UInt8(ascii: "&") : UInt8(ascii: "?"))
            hasQuery = true
            out.append(pair)
        }
    }

    /// The node's output for a connector name: exact (case-insensitive) first, then our protocol aliases.
    static func outputTemplate(_ s: RoutingSnapshot, edge: Int, _ proto: UnsafeRawBufferPointer) -> String? {
        let outputs = s.edges[edge].outputs  // the array alone (an EdgeState argument would copy every field)
        for k in outputs.indices where sameName(outputs[k].name, proto) { return outputs[k].template }
        if let canonical = ViewerProtocol.normalize(proto) {
            for alias in canonical.outputNames {
                let found = alias.utf8.withContiguousStorageIfAvailable { a in
                    outputs.indices.first { sameName(outputs[$0].name, UnsafeRawBufferPointer(a)) }
                } ?? nil
                if let found { return outputs[found].template }
            }
        }
        return nil
    }

    /// `name` equals `raw` ignoring ASCII case (no copy of the name).
    @inline(__always) static func sameName(_ name: String, _ raw: UnsafeRawBufferPointer) -> Bool {
        name.utf8.count == raw.count && (name.utf8.withContiguousStorageIfAvailable { a in
            var k = 0
            while k < a.count { if lower(a[k]) != lower(raw[k]) { return false }; k &+= 1 }
            return true
        } ?? name.utf8.elementsEqual(raw.lazy.map(lower), by: { lower($0) == $1 }))
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
}

/// The keys the compat query reads, found in one pass over the raw query (first occurrence
/// wins, values still escaped).
struct CompatQuery {
    var proto: UnsafeRawBufferPointer?
    var lat: UnsafeRawBufferPointer?
    var lon: UnsafeRawBufferPointer?
    var cap: UnsafeRawBufferPointer?
    var tagAdjust: UnsafeRawBufferPointer?
    var fallback: UnsafeRawBufferPointer?

    init(_ query: UnsafeRawBufferPointer) {
        guard !query.isEmpty else { return }
        QueryString.forEachPair(in: query) { key, value, _ in
            @inline(__always) func matches(_ name: StaticString) -> Bool {
                key.count == name.utf8CodeUnitCount && key.elementsEqual(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            }
            switch key.count {
            case 3:
                if lat == nil && matches("lat") { lat = value } else if lon == nil && matches("lon") { lon = value } else if cap == nil && matches("cap") { cap = value }
            case 5:
                if proto == nil && matches("proto") { proto = value }
            case 8:
                if fallback == nil && matches("fallback") { fallback = value }
            case 10:
                if tagAdjust == nil && matches("tag_adjust") { tagAdjust = value }
            default:
                break
            }
        }
    }
}
