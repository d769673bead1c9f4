public import FoghornHTTPCore
import FoghornModel
import FoghornJSON

/// Paths of the viewer endpoint, declared once.
/// Bounds of the viewer listener.
public enum ViewerLimits {
    /// The largest request body the viewer listener reads: a WHEP offer (SDP, a few KiB). Any
    /// other body there is read and discarded (or refused 413 above this).
    public static let whepOfferMaxBytes = 65_536
}

public enum ViewerPaths {
    public static let play = "/play/"
    public static let resolve = "/resolve/"
}

/// `GET|HEAD|OPTIONS /play/<id>[.<proto>]`, `/play/<id>/<proto>[/<manifest…>]`
/// and the `/resolve/` alias (docs/OPERATIONS.md, "Viewer endpoint").
public enum PlayHandler {
    public static func register(on router: HTTPRouter, loop: ViewerLoop) {
        for (name, prefix) in [("play", ViewerPaths.play), ("resolve", ViewerPaths.resolve)] {
            let prefixLength = prefix.utf8.count
            router.add(name, [.get, .head, .options, .post], prefix + "*") { req, w in
                handle(req, &w, loop, prefixLength: prefixLength)
            }
        }
    }

    public static func fail(_ w: inout HTTPResponseWriter, _ req: HTTPRequest, _ loop: ViewerLoop, _ status: HTTPStatus,
                     _ code: String, _ message: String, _ outcome: RoutingOutcome, retryAfter: Bool = false) {
        w.head(status)
        loop.writeCORS(req, &w)
        loop.writeRequestID(req, &w)
        if retryAfter { w.header("Retry-After", "5") }
        w.error(status, code: code, message: message)
        loop.lastErrorCode = code
        loop.count(outcome)
    }

    /// A CORS preflight: 204 allowing `methods` and echoing the requested headers (printable, ≤ 1 KiB).
    static func preflight(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ loop: ViewerLoop, methods: StaticString) {
        w.head(.noContent)
        loop.writeCORS(req, &w)
        loop.writeRequestID(req, &w)
        w.header("Access-Control-Allow-Methods", methods)
        if let requested = req.header("access-control-request-headers"), requested.count <= 1024,
           req.bytes(requested).allSatisfy({ $0 == 0x20 || $0 == 0x2C || ($0 > 0x20 && $0 < 0x7F) }) {
            w.header("Access-Control-Allow-Headers", req.bytes(requested))
        }
        w.header("Access-Control-Max-Age", "86400")
        w.emptyBody()
    }

    /// `application/sdp`, any case, parameters allowed.
    static func isSDP(_ value: UnsafeRawBufferPointer) -> Bool {
        let expected = Array("application/sdp".utf8)
        guard value.count >= expected.count else { return false }
        for i in 0..<expected.count where value[i] | 0x20 != expected[i] | 0x20 { return false }
        return value.count == expected.count || value[expected.count] == UInt8(ascii: ";") || value[expected.count] == UInt8(ascii: " ")
    }

    static func handle(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ loop: ViewerLoop, prefixLength: Int) {
        loop.lastDecision = nil
        if req.method == .options {
            preflight(req, &w, loop, methods: "GET, HEAD, OPTIONS, POST")
            loop.count(.preflight)
            return
        }
        let rest = UnsafeRawBufferPointer(rebasing: req.path[prefixLength...])
        let parsed: PlaybackPath
        switch PlaybackPath.parse(rest) {
        case .success(let p): parsed = p
        case .failure(let e): return fail(&w, req, loop, .badRequest, e.code, e.message, .badRequest)
        }
        // WHEP: a player POSTs its SDP offer to the playback URL; we answer 307 so that it
        // re-sends the offer to the chosen edge (RFC 9725 allows the redirect). Only there.
        if req.method == .post {
            guard let range = parsed.protocolName, ViewerProtocol.normalize(UnsafeRawBufferPointer(rebasing: rest[range])) == .webrtc else {
                w.head(.methodNotAllowed)
                w.header("Allow", "GET, HEAD, OPTIONS")
                loop.writeCORS(req, &w)
                w.error(.methodNotAllowed, code: "METHOD_NOT_ALLOWED", message: "POST is for WHEP offers: /play/<id>/webrtc or /play/<id>/whep")
                loop.count(.badRequest)
                return
            }
            guard let type = req.header("content-type"), PlayHandler.isSDP(req.bytes(type)) else {
                return fail(&w, req, loop, .unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "a WHEP offer is Content-Type: application/sdp", .badRequest)
            }
        }
        loop.refresh()
        // A strong local (one retain): with `unowned(unsafe)` the compiler could not prove the
        // snapshot alive and retained each array it read instead (docs/PERFORMANCE.md).
        let snapshot = loop.current
        let idBytes = UnsafeRawBufferPointer(rebasing: rest[parsed.id])
        guard let p = snapshot.playbackIndex(idBytes) else {
            if loop.requestResolution != nil {
                let id = String(decoding: idBytes, as: UTF8.self)
                switch loop.resolverLot.outcome(of: id) {
                case .notFound, .found:
                    break  // resolved as unknown (or gone again): 404 below
                case .unavailable:
                    return fail(&w, req, loop, .serviceUnavailable, "RESOLVER_UNAVAILABLE", "the playback resolver is unavailable", .resolverUnavailable, retryAfter: true)
                case nil:
                    guard loop.canPark else {
                        return fail(&w, req, loop, .serviceUnavailable, "RESOLVER_BUSY", "too many viewers are waiting for the playback resolver", .resolverUnavailable, retryAfter: true)
                    }
                    // Not known here: ask the resolver and wait (bounded, with a deadline).
                    w.park = HTTPParkRequest(
                        timeoutMs: loop.resolverTimeoutMs + 100,
                        onTimeout: { w in
                            w.head(.serviceUnavailable)
                            w.header("Retry-After", "1")
                            w.error(.serviceUnavailable, code: "RESOLVER_UNAVAILABLE", message: "the playback resolver did not answer in time")
                            loop.count(.resolverUnavailable)
                        },
                        register: { handle in loop.park(id, handle) })
                    return
                }
            }
            return fail(&w, req, loop, .notFound, "VIEW_KEY_NOT_FOUND", "Invalid or expired view key", .viewKeyNotFound)
        }
        var proto = ViewerProtocol.any
        if let range = parsed.protocolName {
            guard let v = ViewerProtocol.normalize(UnsafeRawBufferPointer(rebasing: rest[range])) else {
                return fail(&w, req, loop, .notFound, "PROTOCOL_NOT_AVAILABLE", "unknown protocol", .protocolNotAvailable)
            }
            proto = v
        }
        guard let stream = snapshot.streamOf(playback: p) else {
            return offline(req, &w, loop, stream: snapshot.playback[p].stream)
        }
        let client = loop.clientAddress(req)
        let viewer = client.flatMap { loop.geoCache.position(of: $0, in: snapshot.geo) }
        var tags = CompiledTagAdjustment(masks: [], maxPositive: 0)  // not the shared `.none`: no global access per request
        if let adjust = tagAdjustText(req) {
            do throws(TagAdjustment.ParseError) {
                tags = snapshot.compile(try TagAdjustment.parse(adjust))
            } catch {
                return fail(&w, req, loop, .badRequest, "INVALID_TAG_ADJUST", "tag adjustment must be a JSON object of \"tag,tag\": integer", .badRequest)
            }
        }
        var required: EdgeCapabilities = []
        if req.head.hasQuery, let raw = QueryString.rawValue(of: "cap", in: req.bytes(req.head.query)) {
            switch capabilities(raw) {
            case .success(let c): required = c
            case .failure(let e): return fail(&w, req, loop, .badRequest, "INVALID_CAPABILITY", e.message, .badRequest)
            }
        }
        let request = ScoringRequest(
            stream: stream, tenant: snapshot.tenantOf(playback: p), viewer: viewer, tags: tags,
            stickyBand: loop.settings.stickyBand, clientHash: client?.networkHash ?? 0, capabilities: required)
        let top = Scorer.top(snapshot, request, localPending: loop.localPending, pendingMayExclude: loop.pendingMayExclude)
        loop.countExclusions(top)
        guard !top.isEmpty else {
            if snapshot.isOffline(stream: stream) {
                return offline(req, &w, loop, stream: snapshot.streamName(stream))
            }
            if !required.isEmpty && top.excluded[Int(Exclusion.capability.rawValue)] > 0 {
                return fail(&w, req, loop, .serviceUnavailable, "NO_EDGE_AVAILABLE", "no edge carrying the stream has every capability cap= requires",
                            .noEdgeAvailable, retryAfter: true)
            }
            return fail(&w, req, loop, .serviceUnavailable, "NO_EDGE_AVAILABLE", "every edge carrying the stream is excluded (full, draining, stale…)", .noEdgeAvailable, retryAfter: true)
        }
        let winner = top[0].edge
        loop.lastDecision = (winner, top[0].score)
        if proto == .any {
            writeJSON(req, &w, loop, snapshot, top, record: snapshot.playback[p], streamEntry: snapshot.streams[stream], viewer: viewer, idBytes: idBytes)
        } else {
            guard let template = snapshot.url(edge: winner, proto: proto) else {
                return fail(&w, req, loop, .notFound, "PROTOCOL_NOT_AVAILABLE", "Protocol '\(proto.name)' not available for this stream", .protocolNotAvailable)
            }
            let url = loop.url
            url.clear()
            let useInternal = loop.settings.useInternalStreamName
            buildURL(url, template, name: useInternal ? nil : idBytes, internalName: useInternal ? snapshot.playback[p].stream : "",
                     manifest: parsed.manifest.map { UnsafeRawBufferPointer(rebasing: rest[$0]) },
                     query: req.head.hasQuery ? req.bytes(req.head.query) : nil,
                     scheme: loop.settings.edgeScheme == .template ? (req.isSecure || loop.forwardedProtoIsHTTPS(req) ? .https : .template) : loop.settings.edgeScheme,
                     whep: req.method == .post)
            // A POST (a WHEP offer) must be re-sent as a POST: always 307, never 302.
            w.head(req.method == .post ? .temporaryRedirect : loop.settings.redirectStatus)
            loop.writeCORS(req, &w)
            loop.writeRequestID(req, &w)
            w.header("Location", url.readable)
            var node = snapshot.nodeIds[winner]
            node.withUTF8 { w.header("X-Foghorn-Edge", UnsafeRawBufferPointer($0)) }
            w.body(url.readable, contentType: "text/plain; charset=utf-8")
            loop.count(.redirect)
        }
        // A redirect or a JSON answer sends a player to the winner (a JSON answer's primary is
        // what players pick): it counts as a viewer there until the edge's next report. A HEAD
        // request sends nobody (monitors, link checkers): it adds nothing.
        if !w.isHeadRequest { loop.addPending(edge: winner, bytesPerSec: snapshot.perViewerByStream[stream]) }
    }

    /// No edge here (local or cached remote) carries `stream`: with on-demand peers, park the
    /// viewer while the control loop asks them (single-flight, deadline); else 404 STREAM_OFFLINE.
    static func offline(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ loop: ViewerLoop, stream: String) {
        if loop.requestPeerQuery != nil, loop.peerLot.outcome(of: stream) == nil, !loop.peerNegativeHit(stream) {
            guard loop.canParkForPeers else {
                return fail(&w, req, loop, .serviceUnavailable, "PEERS_BUSY", "too many viewers are waiting for peer clusters", .noEdgeAvailable, retryAfter: true)
            }
            w.park = HTTPParkRequest(
                timeoutMs: loop.peerQueryDeadlineMs + 100,
                onTimeout: { w in
                    w.head(.notFound)
                    w.error(.notFound, code: "STREAM_OFFLINE", message: "stream is not live here and no peer cluster answered in time")
                },
                register: { handle in loop.parkForPeers(stream, handle) })
            return
        }
        fail(&w, req, loop, .notFound, "STREAM_OFFLINE", "stream is not live on any edge", .streamOffline)
    }

    /// Foghorn's `cap=` (a raw query value): every listed capability required.
    static func capabilities(_ raw: UnsafeRawBufferPointer) -> Result<EdgeCapabilities, EdgeCapabilities.UnknownCapability> {
        guard let text = QueryString.percentDecode(raw) else { return .failure(.init(name: String(decoding: raw.prefix(64), as: UTF8.self))) }
        return Result { () throws(EdgeCapabilities.UnknownCapability) in try EdgeCapabilities.required(by: text) }
    }

    /// The tag adjustment a request asks for: the `X-Tag-Adjust` header, else the `tag_adjust`
    /// query value (`queryValue` when the caller already found it raw).
    public static func tagAdjustText(_ req: HTTPRequest, queryValue: UnsafeRawBufferPointer? = nil) -> String? {
        if let h = req.header("x-tag-adjust") { return req.string(h) }
        if let raw = queryValue ?? (req.head.hasQuery ? QueryString.rawValue(of: "tag_adjust", in: req.bytes(req.head.query)) : nil) {
            return QueryString.percentDecode(raw)
        }
        return nil
    }

    /// prefix + name + suffix; the manifest path replaces the template's own
    /// manifest file (or is appended); the request's query is carried over.
    static func buildURL(_ out: ByteBuffer, _ t: URLTemplate, name: UnsafeRawBufferPointer?, internalName: String,
                         manifest: UnsafeRawBufferPointer?, query: UnsafeRawBufferPointer?, scheme: EdgeScheme, whep: Bool = false) {
        let start = out.count
        t.withParts { p, suffix in
            if whep, p.count > 6, p[0] == UInt8(ascii: "w"), p[1] == UInt8(ascii: "s") {
                // A WebRTC output given as its WebSocket signalling URL: WHEP is plain HTTP(S) on the same host and path.
                let secure = p[2] == UInt8(ascii: "s")
                out.append(secure || scheme == .https ? "https" : "http")
                out.append(UnsafeRawBufferPointer(rebasing: p[(secure ? 3 : 2)...]))
            } else if scheme != .template, let rest = EdgeScheme.afterHTTPScheme(p) {
                out.append(scheme == .https ? "https" : "http")
                out.append(UnsafeRawBufferPointer(rebasing: p[rest...]))
            } else {
                out.append(p)
            }
            if t.hasStreamPlaceholder {
                if let name { out.append(name) } else { out.append(string: internalName) }
                out.append(suffix)
            }
        }
        if let manifest, manifest.count > 0 {
            // Cut the template's own query, if any, and its manifest file name.
            var end = out.count
            var k = start
            while k < end { if out.base.load(fromByteOffset: k, as: UInt8.self) == UInt8(ascii: "?") { end = k; break }; k += 1 }
            out.count = end
            if t.endsWithManifest {
                var slash = out.count
                while slash > start && out.base.load(fromByteOffset: slash - 1, as: UInt8.self) != UInt8(ascii: "/") { slash -= 1 }
                out.count = slash
            } else if out.count > start && out.base.load(fromByteOffset: out.count - 1, as: UInt8.self) != UInt8(ascii: "/") {
                out.append(UInt8(ascii: "/"))
            }
            out.append(manifest)
        }
        if let query, query.count > 0 {
            var hasQuery = false
            for k in start..<out.count where out.base.load(fromByteOffset: k, as: UInt8.self) == UInt8(ascii: "?") { hasQuery = true; break }
            out.append(hasQuery ? UInt8(ascii: "&") : UInt8(ascii: "?"))
            out.append(query)
        }
    }

    /// The `outputs` entries: the label's opening run (`"HLS":{"protocol":"HLS","url":`) is one literal.
    static let jsonProtocols: [(ViewerProtocol, StaticString)] = [
        (.hls, #""HLS":{"protocol":"HLS","url":"#), (.dash, #""DASH":{"protocol":"DASH","url":"#),
        (.cmaf, #""CMAF":{"protocol":"CMAF","url":"#), (.webrtc, #""WEBRTC":{"protocol":"WEBRTC","url":"#),
        (.mp4, #""MP4":{"protocol":"MP4","url":"#), (.webm, #""WEBM":{"protocol":"WEBM","url":"#),
        (.ts, #""TS":{"protocol":"TS","url":"#), (.srt, #""SRT":{"protocol":"SRT","url":"#),
        (.rtmp, #""RTMP":{"protocol":"RTMP","url":"#), (.rtsp, #""RTSP":{"protocol":"RTSP","url":"#),
        (.html, #""MIST_HTML":{"protocol":"MIST_HTML","url":"#),
    ]

    /// `{primary, fallbacks, metadata}` in Foghorn's camelCase shape, written into the loop's
    /// reusable JSON buffer (no allocation per answer).
    static func writeJSON(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ loop: ViewerLoop, _ s: RoutingSnapshot, _ top: TopCandidates,
                          record: PlaybackRecord, streamEntry: StreamEntry, viewer: GeoPoint?, idBytes: UnsafeRawBufferPointer) {
        let j = JSONBodyWriter(loop.jsonScratch)
        let scheme = loop.settings.edgeScheme
        var internalName = record.stream
        internalName.withUTF8 { internalBytes in
            let name = loop.settings.useInternalStreamName || idBytes.count == 0 ? UnsafeRawBufferPointer(internalBytes) : idBytes
            let nameClean = !JSONEscaping.needsEscaping(name)
            func endpoint(_ k: Int) {
                let (edge, score) = top[k]
                j.raw(#"{"nodeId":"#)
                j.quoted(s.nodeIds[edge])
                j.raw(#","baseUrl":"#)
                j.quoted(s.edges[edge].baseURL)
                let webrtc = s.url(edge: edge, proto: .webrtc)
                j.raw(webrtc != nil ? #","protocol":"webrtc","url":"# : #","protocol":"hls","url":"#)
                if let t = webrtc ?? s.url(edge: edge, proto: .hls) {
                    j.url(t, name: name, nameClean: nameClean, scheme: scheme)
                } else {
                    j.raw(#""""#)
                }
                j.raw(#","geoDistance":"#)
                // Unknown (no viewer position or no edge position): null, not a distance of 0 km.
                if let v = viewer, let e = s.geoPoint(edge: edge) { j.oneDecimal(v.kilometres(to: e)) } else { j.raw("null") }
                j.raw(#","loadScore":"#)
                j.decimal(score)
                j.raw(#","outputs":{"#)
                var first = true
                for (proto, opening) in jsonProtocols {
                    guard let t = s.url(edge: edge, proto: proto) else { continue }
                    if !first { j.out.append(UInt8(ascii: ",")) }
                    first = false
                    j.raw(opening)
                    j.url(t, name: name, nameClean: nameClean, scheme: scheme)
                    j.out.append(UInt8(ascii: "}"))
                }
                j.raw("}}")
            }
            j.raw(#"{"primary":"#)
            endpoint(0)
            j.raw(#","fallbacks":["#)
            for k in 1..<top.count {
                if k > 1 { j.out.append(UInt8(ascii: ",")) }
                endpoint(k)
            }
            j.raw(#"],"metadata":{"status":"live","isLive":true,"viewers":"#)
            j.decimal(streamEntry.totalViewers)
            j.raw(#","contentId":"#)
            j.quoted(record.playbackId)
            j.raw(#","contentType":"live""#)
            if !record.tenant.isEmpty {
                j.raw(#","tenantId":"#)
                j.quoted(record.tenant)
            }
            j.raw(#","streamId":"#)
            j.out.append(UInt8(ascii: "\""))
            j.escaped(UnsafeRawBufferPointer(internalBytes))
            j.raw("\"}}")
        }
        w.head(.ok)
        loop.writeCORS(req, &w)
        loop.writeRequestID(req, &w)
        w.body(loop.jsonScratch.readable, contentType: "application/json")
        loop.count(.json)
    }
}
