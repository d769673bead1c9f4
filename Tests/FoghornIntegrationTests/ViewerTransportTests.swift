import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornControl
import FoghornHTTPCore
import FoghornJSON
import FoghornModel
import FoghornRouterTesting
import FoghornRouting
import FoghornTesting

/// One test body over two transports, as Hummingbird runs its tests over `.router` and `.live`:
/// `.router` drives the viewer routes in process (``RouterClient`` over a viewer loop of its own
/// reading the server's published snapshots), `.live` sends the same bytes to the server's
/// viewer listener over loopback. Same answers either way; the in-process one needs no socket.
@Suite struct ViewerTransportTests {
    enum Transport: String, CaseIterable, Sendable { case router, live }

    struct Answer {
        var status: Int
        var header: (String) -> String?
        var body: String
    }

    /// Two static edges carrying `live+a`, playback IDs `pa` (live) and `pz` (nobody carries it).
    static func start() throws -> FoghornServer {
        try TestServer.start { c in
            c.loops = 1
            c.edges = [
                .object([("node_id", .string("edge-busy")), ("cpu_permille", .int(800)), ("ram_max_bytes", .int(1000)),
                         ("bw_limit_bytes_per_sec", .int(125_000_000)), ("base_url", .string("https://busy.example/")),
                         ("streams", .object([("live+a", .object([("inputs", .int(1))]))]))]),
                .object([("node_id", .string("edge-idle")), ("cpu_permille", .int(10)), ("ram_max_bytes", .int(1000)),
                         ("bw_limit_bytes_per_sec", .int(125_000_000)), ("base_url", .string("https://idle.example/")),
                         ("streams", .object([("live+a", .object([("inputs", .int(1))]))]))]),
            ]
            c.playback = [.object([("id", .string("pa")), ("stream", .string("live+a"))]),
                          .object([("id", .string("pz")), ("stream", .string("live+z"))])]
        }
    }

    /// How `transport` sends one request to `server`'s viewer routes.
    static func client(_ transport: Transport, _ server: FoghornServer) -> (String) throws -> Answer {
        switch transport {
        case .live:
            return { text in
                let c = try TestClient(port: server.httpPort)
                defer { c.close() }
                try c.send(text)
                let r = try c.readResponse(headRequest: text.hasPrefix("HEAD "))
                return Answer(status: r.status, header: { r.header($0) }, body: r.bodyText)
            }
        case .router:
            let settings = server.viewerLoops[0].settings
            let loop = ViewerLoop(index: 0, settings: settings, publisher: server.plane.publisher, seed: 1) { _, _, _ in }
            let router = HTTPRouter()
            PlayHandler.register(on: router, loop: loop)
            let client = RouterClient(router, commonHeaders: settings.commonHeaders)
            return { text in
                let r = client.raw(Array(text.utf8))
                return Answer(status: r.status, header: { r.header($0) }, body: r.text)
            }
        }
    }

    @Test(arguments: Transport.allCases) func viewerRoutesAnswerAlikeOverBothTransports(_ transport: Transport) throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let send = Self.client(transport, server)

        let redirect = try send("GET /play/pa/hls/index.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(redirect.status == 307, "\(transport)")
        #expect(redirect.header("X-Foghorn-Edge") == "edge-idle")
        #expect(redirect.header("Location") == "https://idle.example/hls/pa/index.m3u8")
        #expect(redirect.header("Cache-Control") == "no-store" && redirect.header("Access-Control-Allow-Origin") == "*")

        let json = try send("GET /play/pa HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(json.status == 200 && json.header("Content-Type") == "application/json")
        #expect(json.body.hasPrefix(#"{"primary":{"nodeId":"edge-idle""#) && json.body.contains(#""nodeId":"edge-busy""#))

        let unknown = try send("GET /play/nope/hls/index.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(unknown.status == 404 && unknown.body.contains(#""code":"VIEW_KEY_NOT_FOUND""#))
        let offline = try send("GET /play/pz/hls/index.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(offline.status == 404 && offline.body.contains(#""code":"STREAM_OFFLINE""#))
        let post = try send("POST /play/pa/hls/index.m3u8 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        #expect(post.status == 405 && post.header("Allow") == "GET, HEAD, OPTIONS")
        let head = try send("HEAD /play/pa/hls/index.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(head.status == 307 && head.body.isEmpty)
        let bad = try send("GET /play/pa/hls/index.m3u8 HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n")
        #expect(bad.status == 400, "the parser's answer too")
    }
}
