import Benchmark
import Foundation
import FoghornHTTPCore

/// The 442-byte browser-player request with 10 headers the parser tests use.
/// Run the benchmarks from `Benchmarks/` (the path is relative to it).
let browserRequest: [UInt8] = Array((try? Data(contentsOf: URL(fileURLWithPath: "../fixtures/http/browser-player-request.http"))) ?? Data())

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
    requestPathBenchmarks()
}
