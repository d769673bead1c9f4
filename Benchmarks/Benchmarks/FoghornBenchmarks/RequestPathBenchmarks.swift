import Benchmark
import FoghornHTTPCore
import FoghornModel
import FoghornRouting

/// One routed viewer request without the socket: parse the request, match the route, run the
/// /play handler (snapshot, playback lookup, trusted X-Forwarded-For, geo (none here), top-5
/// scoring over 100 candidates with this loop's pending, Location built from the template),
/// write the 307 — what the data loop does per request between read() and write().
/// The malloc counter of this benchmark is target 3: zero allocations per routed request.
func requestPathBenchmarks() {
    Benchmark("Routed /play request, 100 candidates (parse + route + score + 307)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let edges = syntheticEdges(1000, streamsPerEdge: 10, streams: 100)
        let playback = (0..<100).map { PlaybackRecord(playbackId: "p\($0)", stream: "stream-\($0)") }
        let snapshot = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(),
                                             edges: edges, playback: playback, names: benchmarkNames))
        let publisher = SnapshotPublisher(snapshot)
        let settings = ViewerSettings(resolver: ClientAddressResolver(trustedProxies: [CIDRBlock.parse("127.0.0.0/8")!]),
                                      allowedOrigins: ["*"], redirectStatus: .temporaryRedirect, useInternalStreamName: false, stickyBand: 0)
        let loop = ViewerLoop(index: 0, settings: settings, publisher: publisher, seed: 1) { _, _, _ in }
        let router = HTTPRouter()
        PlayHandler.register(on: router, loop: loop)
        let parser = HTTPRequestParser(limits: HTTPLimits())
        let scratch = UnsafeMutableBufferPointer<HTTPHeaderField>.allocate(capacity: 64)
        defer { scratch.deallocate() }
        let output = ByteBuffer(capacity: 65536)
        // 64 distinct requests (ids and client addresses), cycled.
        let requests: [[UInt8]] = (0..<64).map { k in
            Array("GET /play/p\(k % 100)/hls/index.m3u8 HTTP/1.1\r\nHost: foghorn.example\r\nUser-Agent: bench\r\nX-Forwarded-For: 203.0.\(k).7\r\n\r\n".utf8)
        }
        var k = 0
        func once() {
            requests[k & 63].withUnsafeBytes { raw in
                var progress = HTTPParseProgress()
                guard case .complete(let head) = parser.parse(raw, progress: &progress, headers: scratch) else { fatalError("parse") }
                let request = HTTPRequest(buffer: raw, head: head, headers: UnsafeBufferPointer(rebasing: scratch[..<head.headerCount]),
                                          body: UnsafeRawBufferPointer(rebasing: raw[head.headLength...]), peerAddress: "127.0.0.1")
                output.clear()
                var writer = HTTPResponseWriter(buffer: output, closeConnection: false, isHeadRequest: false)
                guard case .route(_, let handler) = router.match(method: head.method, path: request.path) else { fatalError("route") }
                handler(request, &writer)
                blackHole(writer.status)
            }
            k &+= 1
        }
        for _ in 0..<1000 { once() }  // warm: per-loop buffers, caches
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { once() }
        benchmark.stopMeasurement()
    }
}
