import FoghornHTTPCore
import FoghornModel
import FoghornModelFixtures
import FoghornRouterTesting
import Testing
@testable import FoghornRouting

/// `/play` through the in-process client (``RouterClient``): the viewer routes on exactly the
/// parser, dispatch and writer a connection uses, without sockets or loops.
@Suite struct PlayRoutesTests {
    static let amsterdam = GeoPoint(lat: 52.37, lon: 4.9)

    /// Two edges carrying `live+a` (a busy one in Amsterdam, an idle one in New York), one
    /// playback ID for it and one for a stream nobody carries; a viewer loop and its routes.
    static func routes(resolver: Bool = false) -> (RouterClient, ViewerLoop) {
        let edges = [
            edge("edge-ams", cpu: 100, lat: amsterdam.lat, lon: amsterdam.lon, streams: ["live+a": EdgeStreamStats(inputs: 1)],
                 base: "https://HOSTNAME.example/"),
            edge("edge-nyc", cpu: 0, lat: 40.7, lon: -74.0, streams: ["live+a": EdgeStreamStats(inputs: 1)], base: "https://HOSTNAME.example/"),
        ]
        let s = snapshot(edges, playback: [PlaybackRecord(playbackId: "pa", stream: "live+a"), PlaybackRecord(playbackId: "pz", stream: "live+z")])
        let settings = ViewerSettings(resolver: ClientAddressResolver(trustedProxies: [CIDRBlock.parse("127.0.0.0/8")!]), allowedOrigins: ["*"],
                                      redirectStatus: .temporaryRedirect, useInternalStreamName: false, stickyBand: 0)
        let loop = ViewerLoop(index: 0, settings: settings, publisher: SnapshotPublisher(s), seed: 1) { _, _, _ in }
        if resolver { loop.requestResolution = { _ in } }
        let router = HTTPRouter()
        PlayHandler.register(on: router, loop: loop)
        return (RouterClient(router, commonHeaders: settings.commonHeaders), loop)
    }

    /// Without GeoIP there is no distance term: the idle edge wins on CPU.
    @Test func aViewerIsRedirectedToTheBestEdge() {
        let (client, _) = Self.routes()
        let r = client.send("GET", "/play/pa/hls/index.m3u8", headers: [("X-Forwarded-For", "81.2.69.142")])
        #expect(r.status == 307)
        #expect(r.header("X-Foghorn-Edge") == "edge-nyc")
        #expect(r.header("Location") == "https://edge-nyc.example/hls/pa/index.m3u8")  // the playback ID in the URL (url_stream_name)
        #expect(r.header("Cache-Control") == "no-store" && r.header("Access-Control-Allow-Origin") == "*")
    }

    @Test func unknownIDsOfflineStreamsAndMethodsGetTheirErrors() {
        let (client, _) = Self.routes()
        let unknown = client.send("GET", "/play/nope/hls/index.m3u8")
        #expect(unknown.status == 404 && unknown.text.contains(#""code":"VIEW_KEY_NOT_FOUND""#))
        let offline = client.send("GET", "/play/pz/hls/index.m3u8")
        #expect(offline.status == 404 && offline.text.contains(#""code":"STREAM_OFFLINE""#))
        let post = client.send("POST", "/play/pa/hls/index.m3u8", body: Array("x".utf8))
        #expect(post.status == 405 && post.header("Allow") == "GET, HEAD, OPTIONS")
        let elsewhere = client.send("GET", "/nothing-here")
        #expect(elsewhere.status == 404 && elsewhere.text.contains(#""code":"NOT_FOUND""#))
        let head = client.send("HEAD", "/play/pa/hls/index.m3u8")
        #expect(head.status == 307 && head.body.isEmpty)
    }

    /// With a resolver, an unknown ID parks the viewer; the lookup's answer resumes it (404 here:
    /// the resolver did not know it either), the deadline answers 503 RESOLVER_UNAVAILABLE.
    @Test func anUnknownIDWaitsForTheResolver() throws {
        let (client, loop) = Self.routes(resolver: true)
        let first = client.send("GET", "/play/later/hls/index.m3u8")
        let parked = try #require(first.parked)
        #expect(first.status == 0 && !parked.wasResumed && loop.parkedCount == 1)
        loop.resolved("later", .notFound)
        #expect(parked.wasResumed && loop.parkedCount == 0)
        let timedOut = try #require(client.send("GET", "/play/later/hls/index.m3u8").parked).timeOut()
        #expect(timedOut.status == 503 && timedOut.header("Retry-After") == "1" && timedOut.text.contains("RESOLVER_UNAVAILABLE"))
    }
}
