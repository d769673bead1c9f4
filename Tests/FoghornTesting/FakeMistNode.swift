import FoghornHTTP
import FoghornHTTPCore
import FoghornSync
#if canImport(Glibc)
import Glibc
#endif

/// A fake MistServer controller on 127.0.0.1 serving `/<passphrase>.json`
/// from a document the test changes between polls, or misbehaving on demand.
public final class FakeMistNode: @unchecked Sendable {
    public enum Behaviour: Sendable { case normal, garbage, oversized, httpError }

    public let port: UInt16
    public let passphrase: String
    private let loop = EventLoop(name: "fake-mist")
    private let state: Locked<(document: String, behaviour: Behaviour, requests: Int)>

    public let host: String

    /// `mediaDirectory`: files served under `/hls/` (an HLS rendition ffmpeg wrote), as MistServer
    /// serves its outputs.
    public init(host: String = "127.0.0.1", passphrase: String = "koekjes", document: String, mediaDirectory: String? = nil) throws {
        self.passphrase = passphrase
        self.host = host
        state = Locked((document, .normal, 0))
        let socket = try ListeningSocket.bind(host: host, port: 0, reusePort: false)
        port = socket.port
        let router = HTTPRouter()
        let path = "/\(passphrase).json"
        router.add("doc", [.get], path) { [state] _, w in
            let (doc, behaviour) = state.withLock { s -> (String, Behaviour) in
                s.requests += 1
                return (s.document, s.behaviour)
            }
            switch behaviour {
            case .normal:
                w.head(.ok)
                w.body(doc, contentType: "application/json")
            case .garbage:
                w.head(.ok)
                w.body("<html>not json", contentType: "text/html")
            case .oversized:
                w.head(.ok)
                w.body(String(repeating: "x", count: 9 << 20), contentType: "application/json")
            case .httpError:
                w.error(.internalServerError, code: "BOOM", message: "controller error")
            }
        }
        if let mediaDirectory {
            router.add("media", [.get, .head], "/hls/*") { req, w in
                let rest = String(req.pathString.dropFirst(5))
                guard !rest.contains(".."), let bytes = FakeMistNode.read(mediaDirectory + "/" + rest) else {
                    return w.error(.notFound, code: "NOT_FOUND", message: "no such file")
                }
                w.head(.ok)
                w.body(bytes, contentType: rest.hasSuffix(".m3u8") ? "application/vnd.apple.mpegurl" : "video/mp2t")
            }
        }
        let context = HTTPLoopContext(loop: loop)
        let options = HTTPListenerOptions(name: "fake-mist", limits: HTTPLimits(), timeouts: HTTPTimeouts(), maxConnectionsPerLoop: 100)
        loop.execute {
            _ = try? HTTPListener(socket: socket, options: options, router: router, context: context,
                                  metrics: ListenerMetrics(listenerName: "fake", routeNames: router.routeNames))
            self.loop.addShutdownHook { context.closeAll() }
        }
        loop.start()
    }

    public var address: String { "\(host):\(port)" }

    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while out.count < 64 << 20 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    public func setDocument(_ document: String) { state.withLock { $0.document = document } }
    public func setBehaviour(_ behaviour: Behaviour) { state.withLock { $0.behaviour = behaviour } }
    public var requests: Int { state.withLock { $0.requests } }

    public func stop() {
        loop.stop()
        loop.join()
    }

    /// A realistic controller document. Counters are cumulative, as Mist's are.
    public static func document(cpu: Int = 250, memUsed: Int = 4_000_000, memTotal: Int = 16_000_000, bwUp: UInt64 = 0, bwDown: UInt64 = 0,
                                bwLimit: UInt64 = 0, lat: Double = 52.37, lon: Double = 4.9, tags: [String] = ["eu"],
                                streams: [(name: String, viewers: Int, inputs: Int, up: UInt64, rep: Bool)] = [], confStreams: [String] = []) -> String {
        let s = streams.map { #""\#($0.name)": {"curr": [\#($0.viewers), \#($0.inputs), 0, 0], "bw": [\#($0.up), \#($0.up / 4)], "rep": \#($0.rep)}"# }.joined(separator: ", ")
        let t = tags.map { "\"\($0)\"" }.joined(separator: ", ")
        let c = confStreams.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
        {"cpu": \(cpu), "mem_total": \(memTotal), "mem_used": \(memUsed), "shm_total": 1000000, "shm_used": 1000,
         "curr": [\(streams.reduce(0) { $0 + $1.viewers }), 0, 0, 0], "bw": [\(bwUp), \(bwDown)], "bwlimit": \(bwLimit),
         "loc": {"lat": \(lat), "lon": \(lon), "name": "somewhere"}, "tags": [\(t)], "streams": {\(s)}, "conf_streams": [\(c)],
         "outputs": {"HLS": "http://HOST:8080/hls/$/index.m3u8", "WebRTC": ["ws://HOST:8080/webrtc/$", "/webrtc/$"], "HTTP": "http://HOST:8080/$.html"}}
        """
    }
}

/// A TCP port that completes handshakes (kernel backlog) but never answers.
public final class StallingPort {
    public let fd: Int32
    public let port: UInt16

    public init() throws {
        let s = try ListeningSocket.bind(host: "127.0.0.1", port: 0, reusePort: false)
        guard listen(s.fd, 16) == 0 else { throw TestClient.ClientError(message: "listen failed") }
        fd = s.fd
        port = s.port
    }

    deinit { close(fd) }
}

/// A port nobody listens on (connection refused).
public enum RefusedPort {
    public static func make() throws -> UInt16 {
        let s = try ListeningSocket.bind(host: "127.0.0.1", port: 0, reusePort: false)
        let port = s.port
        s.closeUnused()
        return port
    }
}
