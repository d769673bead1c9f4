import FoghornHTTP
import FoghornHTTPCore
import FoghornSync
import FoghornTLS

/// A fake upstream playback resolver on 127.0.0.1: `GET /v1/playback/<id>` → JSON or 404,
/// or failing (500), or never answering (its request is parked forever).
public final class FakeResolver: @unchecked Sendable {
    public enum Mode: Sendable { case normal, failing, silent }

    public let port: UInt16
    private let loop = EventLoop(name: "fake-resolver")
    private let state: Locked<(records: [String: String], mode: Mode, hits: [String: Int])>

    public let tls: Bool
    private var listenerMetrics: ListenerMetrics?

    /// `tls`: serve HTTPS with this certificate/key; `idleTimeoutMs`: close idle keep-alives.
    public init(records: [String: String], tls: (cert: String, key: String)? = nil, idleTimeoutMs: UInt64 = 30_000) throws {
        self.tls = tls != nil
        let tlsPublisher = try tls.map { TLSContextPublisher(try TLSServerContext(pairs: [$0])) }
        state = Locked((records, .normal, [:]))
        let socket = try ListeningSocket.bind(host: "127.0.0.1", port: 0, reusePort: false)
        port = socket.port
        let router = HTTPRouter()
        router.add("playback", [.get], "/v1/playback/*") { [state] req, w in
            let id = String(req.pathString.dropFirst("/v1/playback/".count))
            let (stream, mode) = state.withLock { s -> (String?, Mode) in
                s.hits[id, default: 0] += 1
                return (s.records[id], s.mode)
            }
            switch mode {
            case .failing:
                w.error(.internalServerError, code: "BOOM", message: "resolver failure")
            case .silent:
                w.park = HTTPParkRequest(timeoutMs: 60_000, onTimeout: { w in w.error(.gatewayTimeout, code: "LATE", message: "late") }, register: { _ in })
            case .normal:
                if let stream {
                    w.head(.ok)
                    w.body(#"{"stream": "\#(stream)", "tenant": ""}"#, contentType: "application/json")
                } else {
                    w.error(.notFound, code: "NOT_FOUND", message: "unknown playback id")
                }
            }
        }
        let context = HTTPLoopContext(loop: loop)
        var timeouts = HTTPTimeouts()
        timeouts.idleTimeoutMs = idleTimeoutMs
        let options = HTTPListenerOptions(name: "fake-resolver", limits: HTTPLimits(), timeouts: timeouts, maxConnectionsPerLoop: 1000)
        let metrics = ListenerMetrics(listenerName: "fake", routeNames: router.routeNames)
        listenerMetrics = metrics
        loop.execute {
            let listener = try? HTTPListener(socket: socket, options: options, router: router, context: context, metrics: metrics)
            if let tlsPublisher { listener?.tls = TLSContextReader(tlsPublisher) }
            self.loop.addShutdownHook { context.closeAll() }
        }
        loop.start()
    }

    public var url: String { (tls ? "https" : "http") + "://127.0.0.1:\(port)" }
    /// TCP connections accepted so far (keep-alive reuse shows as few).
    public var connections: UInt64 { listenerMetrics?.accepted ?? 0 }
    public func setMode(_ mode: Mode) { state.withLock { $0.mode = mode } }
    public func hits(_ id: String) -> Int { state.withLock { $0.hits[id] ?? 0 } }

    public func stop() {
        loop.stop()
        loop.join()
    }
}
