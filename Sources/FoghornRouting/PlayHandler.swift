public import FoghornHTTPCore
import FoghornModel
import FoghornJSON

/// Paths of the viewer endpoint, declared once.
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
            router.add(name, [.get, .head, .options], prefix + "*") { req, w in
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
        loop.count(outcome)
    }

    static func handle(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ loop: ViewerLoop, prefixLength: Int) {
        loop.lastDecision = nil
        if req.method == .options {
            w.head(.noContent)
            loop.writeCORS(req, &w)
            loop.writeRequestID(req, &w)
            w.header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
            if let requested = req.header("access-control-request-headers"), requested.count <= 1024,
               req.bytes(requested).allSatisfy({ $0 == 0x20 || $0 == 0x2C || ($0 > 0x20 && $0 < 0x7F) }) {
                w.header("Access-Control-Allow-Headers", req.bytes(requested))
            }
            w.header("Access-Control-Max-Age", "86400")
            w.emptyBody()
            loop.count(.preflight)
            return
        }
        let rest = UnsafeRawBufferPointer(rebasing: req.path[prefixLength...])
        let parsed: PlaybackPath
        switch PlaybackPath.parse(rest) {
        case .success(let p): parsed = p
        case .failure(let e): return fail(&w, req, loop, .badRequest, e.code, e.message, .badRequest)
        }
        loop.refresh()
        // A strong local (one retain): with `unowned(unsafe)` the compiler could not prove the
        // snapshot alive and retained each array it read instead (callgrind: 28.5 → 20.6 retains,
        // 33.1 → 24.2 releases per request; 22,356 → 21,989 Ir).
        let snapshot = loop.current
        let idBytes = UnsafeRawBufferPointer(rebasing: rest[parsed.id])
        guard let p = snapshot.playbackIndex(idBytes) else {
            if loop.requestResolution != nil {
                let id = String(decoding: idBytes, as: UTF8.self)
                switch loop.outcomes[id] {
                case .notFound, .found:
                    break  // resolved as unknown (or gone again): 404 below
                case .unavailable:
                    return fail(&w, req, loop, .serviceUnavailable, "RESOLVER_UNAVAILABLE", "the playback resolver is unavailable", .noEdgeAvailable, retryAfter: true)
                case nil:
                    guard loop.canPark else {
                        return fail(&w, req, loop, .serviceUnavailable, "RESOLVER_BUSY", "too many viewers are waiting for the playback resolver", .noEdgeAvailable, retryAfter: true)
                    }
                    // Not known here: ask the resolver and wait (bounded, with a deadline).
                    w.park = HTTPParkRequest(
                        timeoutMs: loop.resolverTimeoutMs + 100,
                        onTimeout: { w in
                            w.head(.serviceUnavailable)
                            w.header("Retry-After", "1")
                            w.error(.serviceUnavailable, code: "RESOLVER_UNAVAILABLE", message: "the playback resolver did not answer in time")
                        },
                        register: { handle in _ = loop.park(id, handle) })
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
        let request = ScoringRequest(
            stream: stream, tenant: snapshot.tenantOf(playback: p), viewer: viewer, tags: tags,
            stickyBand: loop.settings.stickyBand, clientHash: client?.networkHash ?? 0)
        let top = Scorer.top(snapshot, request, localPending: loop.localPending, pendingMayExclude: loop.pendingMayExclude)
        loop.countExclusions(top)
        guard !top.isEmpty else {
            if !snapshot.candidates(of: stream).inputs.contains(where: { $0 > 0 }) {
                return offline(req, &w, loop, stream: snapshot.streams[stream].name)
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
                     forceHTTPS: req.isSecure || loop.forwardedProtoIsHTTPS(req))
            w.head(loop.settings.redirectStatus)
            loop.writeCORS(req, &w)
            loop.writeRequestID(req, &w)
            w.header("Location", url.readable)
            var node = snapshot.nodeIds[winner]
            node.withUTF8 { w.header("X-Foghorn-Edge", UnsafeRawBufferPointer($0)) }
            w.body(url.readable, contentType: "text/plain; charset=utf-8")
            loop.count(.redirect)
        }
        loop.addPending(edge: winner, bytesPerSec: snapshot.perViewerByStream[stream])
    }

    /// No edge here (local or cached remote) carries `stream`: with on-demand peers, park the
    /// viewer while the control loop asks them (single-flight, deadline); else 404 STREAM_OFFLINE.
    static func offline(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ loop: ViewerLoop, stream: String) {
        if loop.requestPeerQuery != nil, loop.peerOutcomes[stream] == nil, !loop.peerNegativeHit(stream) {
            guard loop.canParkForPeers else {
                return fail(&w, req, loop, .serviceUnavailable, "PEERS_BUSY", "too many viewers are waiting for peer clusters", .noEdgeAvailable, retryAfter: true)
            }
            w.park = HTTPParkRequest(
                timeoutMs: loop.peerQueryDeadlineMs + 100,
                onTimeout: { w in
                    w.head(.notFound)
                    w.error(.notFound, code: "STREAM_OFFLINE", message: "stream is not live here and no peer cluster answered in time")
                },
                register: { handle in _ = loop.parkForPeers(stream, handle) })
            return
        }
        fail(&w, req, loop, .notFound, "STREAM_OFFLINE", "stream is not live on any edge", .streamOffline)
    }

    public static func tagAdjustText(_ req: HTTPRequest) -> String? {
        if let h = req.header("x-tag-adjust") { return req.string(h) }
        if req.head.hasQuery, req.bytes(req.head.query).count >= 10 { return req.queryParameter("tag_adjust") }
        return nil
    }

    /// prefix + name + suffix; the manifest path replaces the template's own
    /// manifest file (or is appended); the request's query is carried over.
    static func buildURL(_ out: ByteBuffer, _ t: URLTemplate, name: UnsafeRawBufferPointer?, internalName: String,
                         manifest: UnsafeRawBufferPointer?, query: UnsafeRawBufferPointer?, forceHTTPS: Bool) {
        let start = out.count
        t.withParts { p, suffix in
            if forceHTTPS, p.count > 7, p[0] == UInt8(ascii: "h"), p[4] == UInt8(ascii: ":") {
                out.append("https")
                out.append(UnsafeRawBufferPointer(rebasing: p[4...]))
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

    /// Writes the URL of `edge` for `proto` as a JSON string field, straight from the template bytes.
    static func urlField(_ j: inout JSONWriter, _ key: String, _ t: URLTemplate, name: UnsafeRawBufferPointer, internalName: String) {
        j.key(key)
        t.withParts { prefix, suffix in
            if !t.hasStreamPlaceholder {
                j.stringParts(prefix)
            } else if name.count > 0 {
                j.stringParts(prefix, name, suffix)
            } else {
                var n = internalName
                n.withUTF8 { j.stringParts(prefix, UnsafeRawBufferPointer($0), suffix) }
            }
        }
    }

    static let jsonProtocols: [(ViewerProtocol, String)] = [
        (.hls, "HLS"), (.dash, "DASH"), (.cmaf, "CMAF"), (.webrtc, "WEBRTC"), (.mp4, "MP4"), (.webm, "WEBM"), (.ts, "TS"),
        (.srt, "SRT"), (.rtmp, "RTMP"), (.rtsp, "RTSP"),
    ]

    /// `{primary, fallbacks, metadata}` in Foghorn's camelCase shape.
    static func writeJSON(_ req: HTTPRequest, _ w: inout HTTPResponseWriter, _ loop: ViewerLoop, _ s: RoutingSnapshot, _ top: TopCandidates,
                          record: PlaybackRecord, streamEntry: StreamEntry, viewer: GeoPoint?, idBytes: UnsafeRawBufferPointer) {
        var j = JSONWriter(capacity: 4096)
        let name = loop.settings.useInternalStreamName ? UnsafeRawBufferPointer(start: nil, count: 0) : idBytes
        func endpoint(_ k: Int) {
            let (edge, score) = top[k]
            j.objectStart()
            j.field("nodeId", s.nodeIds[edge])
            j.field("baseUrl", s.edges[edge].baseURL)
            let primaryProto: ViewerProtocol = s.url(edge: edge, proto: .webrtc) != nil ? .webrtc : .hls
            j.field("protocol", primaryProto.name)
            if let t = s.url(edge: edge, proto: primaryProto) {
                urlField(&j, "url", t, name: name, internalName: record.stream)
            } else {
                j.field("url", "")
            }
            j.key("geoDistance")
            if let v = viewer, let e = s.geoPoint(edge: edge) { j.oneDecimal(v.kilometres(to: e)) } else { j.int(0) }
            j.field("loadScore", Double(score))
            j.key("outputs")
            j.objectStart()
            for (proto, label) in jsonProtocols {
                guard let t = s.url(edge: edge, proto: proto) else { continue }
                j.key(label)
                j.objectStart()
                j.field("protocol", label)
                urlField(&j, "url", t, name: name, internalName: record.stream)
                j.objectEnd()
            }
            j.objectEnd()
            j.objectEnd()
        }
        j.objectStart()
        j.key("primary")
        endpoint(0)
        j.key("fallbacks")
        j.arrayStart()
        for k in 1..<top.count { endpoint(k) }
        j.arrayEnd()
        j.key("metadata")
        j.objectStart()
        j.field("status", "live")
        j.field("isLive", true)
        j.field("viewers", streamEntry.totalViewers)
        j.field("contentId", record.playbackId)
        j.field("contentType", "live")
        if !record.tenant.isEmpty { j.field("tenantId", record.tenant) }
        j.field("streamId", record.stream)
        j.objectEnd()
        j.objectEnd()
        w.head(.ok)
        loop.writeCORS(req, &w)
        loop.writeRequestID(req, &w)
        w.body(j.bytes, contentType: "application/json")
        loop.count(.json)
    }
}
