public import FoghornHTTPCore
import FoghornJSON
import FoghornModel

/// Formats one JSON access-log line for a viewer-listener request (on the loop;
/// only when the access log is on): time, method, path, status, client address,
/// chosen node and score, handler latency in µs, request ID.
public enum AccessLog {
    public static func line(_ req: HTTPRequest, status: HTTPStatus, latencyNs: UInt64, loop: ViewerLoop, timestamp: String) -> [UInt8] {
        var w = JSONWriter(capacity: 320)
        w.objectStart()
        w.field("ts", timestamp)
        w.field("type", "access")
        w.field("method", req.method.name)
        w.field("path", loop.settings.logQuery ? req.string(req.head.target) : req.pathString)
        w.field("status", status.rawValue)
        switch loop.settings.logClientIP {
        case .full: w.field("client", loop.clientAddress(req)?.description ?? req.peerAddress)
        case .truncated: w.field("client", loop.clientAddress(req).map(truncated) ?? "")
        case .off: break
        }
        if let d = loop.lastDecision {
            let s = loop.current
            if d.edge < s.edgeCount { w.field("node", s.nodeIds[d.edge]) }
            w.field("score", d.score)
        }
        if let code = loop.lastErrorCode {
            w.field("code", code)
            loop.lastErrorCode = nil  // set by the next error (cleared here, not per request: the request path stays as it was)
        }
        if status.statusClass == 3, loop.lastDecision != nil, let host = redirectHost(loop.url.readable) { w.field("target_host", host) }
        if let agent = req.headerString("user-agent") { w.field("user_agent", String(agent.prefix(256))) }
        if let referer = req.headerString("referer") {
            // The referer's query (tokens of the page) follows log_query too.
            let kept = loop.settings.logQuery ? referer : String(referer.prefix { $0 != "?" })
            w.field("referer", String(kept.prefix(512)))
        }
        w.field("latency_us", latencyNs / 1000)
        if let echoed = req.headerString("x-request-id") {
            w.field("request_id", echoed)
        } else if loop.lastGeneratedRequestId != (0, 0) {
            let (a, b) = loop.lastGeneratedRequestId
            w.field("request_id", hex(a) + hex(b))
        }
        w.objectEnd()
        return w.bytes
    }

    /// The host of the redirect just written (the loop's URL buffer holds it until the next one).
    static func redirectHost(_ url: UnsafeRawBufferPointer) -> String? {
        var i = 0
        while i + 2 < url.count && !(url[i] == UInt8(ascii: ":") && url[i + 1] == UInt8(ascii: "/") && url[i + 2] == UInt8(ascii: "/")) { i += 1 }
        guard i + 2 < url.count else { return nil }
        var j = i + 3
        while j < url.count && url[j] != UInt8(ascii: "/") && url[j] != UInt8(ascii: "?") { j += 1 }
        return j > i + 3 ? String(decoding: UnsafeRawBufferPointer(rebasing: url[(i + 3)..<j]), as: UTF8.self) : nil
    }

    /// IPv4 /24, IPv6 /48 (`81.2.69.0`, `2001:db8:1::`): enough for a region, not a person.
    static func truncated(_ ip: IPAddress) -> String {
        let text = ip.description
        if ip.isV4 {
            let parts = text.split(separator: ".")
            return parts.count == 4 ? parts.prefix(3).joined(separator: ".") + ".0" : ""
        }
        let groups = text.split(separator: ":", omittingEmptySubsequences: false)
        guard !text.contains("::") || groups.count >= 3 else { return "" }
        // Expand to eight groups, keep three.
        var full: [Substring] = []
        for (i, g) in groups.enumerated() {
            if g.isEmpty && i > 0 && i < groups.count - 1 {
                full += Array(repeating: "0", count: 8 - (groups.count - 1))
            } else {
                full.append(g.isEmpty ? "0" : g)
            }
        }
        return full.prefix(3).joined(separator: ":") + "::"
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
