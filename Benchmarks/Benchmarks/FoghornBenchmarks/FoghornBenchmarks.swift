import Benchmark
import FoghornHTTPCore

/// A 442-byte browser-player request with 10 headers (the same bytes as the parser tests).
let browserRequest: [UInt8] = Array((
    "GET /play/demo/hls/index.m3u8?session=8f2c1 HTTP/1.1\r\n" +
    "Host: foghorn.eu-west.example.com\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Safari/537.36\r\n" +
    "Accept: */*\r\n" +
    "Accept-Language: en-US,en;q=0.9\r\n" +
    "Accept-Encoding: gzip, deflate, br\r\n" +
    "Origin: https://player.example.org\r\n" +
    "Referer: https://player.example.org/watch/demo\r\n" +
    "Connection: keep-alive\r\n" +
    "Sec-Fetch-Mode: cors\r\n" +
    "Sec-Fetch-Site: cross-site\r\n\r\n").utf8)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .instructions, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )

    Benchmark("HTTP parse 442-byte browser request (x1000)") { benchmark in
        let parser = HTTPRequestParser(limits: HTTPLimits())
        let scratch = UnsafeMutableBufferPointer<HTTPHeaderField>.allocate(capacity: 64)
        defer { scratch.deallocate() }
        precondition(browserRequest.count == 442)
        browserRequest.withUnsafeBytes { raw in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                var progress = HTTPParseProgress()
                blackHole(parser.parse(raw, progress: &progress, headers: scratch))
            }
            benchmark.stopMeasurement()
        }
    }

    routingBenchmarks()
}
