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
        w.field("path", req.string(req.head.target))
        w.field("status", status.rawValue)
        w.field("client", loop.clientAddress(req)?.description ?? req.peerAddress)
        if let d = loop.lastDecision {
            let s = loop.current
            if d.edge < s.edgeCount { w.field("node", s.nodeIds[d.edge]) }
            w.field("score", d.score)
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

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
