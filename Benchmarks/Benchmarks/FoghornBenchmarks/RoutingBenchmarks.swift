import Benchmark
import FoghornGeo
import FoghornModel

/// The table the benchmarks' stream names are interned in.
let benchmarkNames = StreamNameTable()

/// Deterministic synthetic edges spread over Europe and North America.
func syntheticEdges(_ n: Int, streamsPerEdge: Int = 1, streams: Int = 1) -> [EdgeState] {
    var state: UInt64 = 12345
    func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    return (0..<n).map { i in
        var e = EdgeState(nodeId: "edge-\(i)")
        e.isStatic = true
        e.cpuPermille = next() % 1000
        e.ramMaxBytes = 16 << 30
        e.ramUsedBytes = next() % (16 << 30)
        e.bwLimitBytesPerSec = 125_000_000
        e.upBytesPerSec = next() % 100_000_000
        e.lat = Double(next() % 40) + 30
        e.lon = Double(next() % 140) - 120
        e.baseURL = "https://edge-\(i).example.com/"
        var carried: [String: EdgeStreamStats] = [:]
        for k in 0..<streamsPerEdge {
            carried["stream-\((i + k) % streams)"] = EdgeStreamStats(inputs: 1, viewers: 10, upBytesPerSec: 1_000_000)
        }
        e.setStreams(carried, in: benchmarkNames)
        e.resolveURLs()  // as a report does
        return e
    }
}

func routingBenchmarks() {
    for n in [10, 100, 1000, 10_000] {
        Benchmark("Top-5 scoring, \(n) candidate edges", configuration: .init(scalingFactor: .kilo)) { benchmark in
            let s = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(),
                                          edges: syntheticEdges(n), playback: [PlaybackRecord(playbackId: "p", stream: "stream-0")], names: benchmarkNames))
            let request = ScoringRequest(stream: 0, viewer: GeoPoint(lat: 48.85, lon: 2.35))
            let pending = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: n)
            pending.initialize(repeating: 0)
            defer { pending.deallocate() }
            let p = UnsafePointer(pending.baseAddress!)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(Scorer.top(s, request, localPending: p, pendingMayExclude: false))
            }
            benchmark.stopMeasurement()
        }
    }

    Benchmark("Snapshot access (per request)", configuration: .init(scalingFactor: .mega)) { benchmark in
        let publisher = SnapshotPublisher(RoutingSnapshot.empty(names: benchmarkNames))
        let reader = SnapshotReader(publisher)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(reader.refresh())
            unowned(unsafe) let s = reader.cached
            blackHole(s.generation)
        }
        benchmark.stopMeasurement()
    }

    Benchmark("Snapshot rebuild, 10,000 edges x 10 streams", configuration: .init(scalingFactor: .one, maxDuration: .seconds(5))) { benchmark in
        // In node-ID order, as the control plane hands them over (stream names interned when set).
        let edges = syntheticEdges(10_000, streamsPerEdge: 10, streams: 2000).sorted { $0.nodeId < $1.nodeId }
        let playback = (0..<2000).map { PlaybackRecord(playbackId: "p\($0)", stream: "stream-\($0)") }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                            playback: playback, names: benchmarkNames)))
        }
        benchmark.stopMeasurement()
    }

    let geoPath = "../fixtures/geo/maxmind/GeoIP2-City-Test.mmdb"
    Benchmark("Geo lookup, cold (MMDB)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let db = try MMDBGeoDatabase(path: geoPath)
        let ip = IPAddress.parse("81.2.69.142")!
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(db.position(of: ip)) }
        benchmark.stopMeasurement()
    }

    Benchmark("Geo lookup, cached (per-loop cache)", configuration: .init(scalingFactor: .mega)) { benchmark in
        let db = try MMDBGeoDatabase(path: geoPath)
        let cache = GeoCache()
        let ip = IPAddress.parse("81.2.69.142")!
        _ = cache.position(of: ip, in: db)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(cache.position(of: ip, in: db)) }
        benchmark.stopMeasurement()
    }
}
