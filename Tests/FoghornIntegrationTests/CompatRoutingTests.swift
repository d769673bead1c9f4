import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// The MistUtilLoad-compatible viewer query's spreading (anti-herd) and Foghorn's `cap=` filter.
@Suite struct CompatRoutingTests {
    static let capBytesPerSec: UInt64 = 134_217_728  // MistUtilLoad's default cap, 128 MiB/s

    /// Three nodes: `a` and `b` alike, `c` 60 points behind on CPU (cpu 100‰, 100‰, 220‰).
    static func start(capabilities: [String] = ["edge", "edge", "edge"]) throws -> FoghornServer {
        try TestServer.start { c in
            c.mistCompat = true
            c.internalToken = "tok"
            let cpus = [100, 100, 220]
            c.edges = (0..<3).map { i in
                try! JSONParser.parse("""
                    {"node_id": "\(["a", "b", "c"][i])", "base_url": "https://\(["a", "b", "c"][i]).example/",
                     "cpu_permille": \(cpus[i]), "ram_used_bytes": 200, "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": \(capBytesPerSec),
                     "capabilities": ["\(capabilities[i].split(separator: "+").joined(separator: "\",\""))"],
                     "outputs": {"HLS": "https://HOST/hls/$/index.m3u8"}, "streams": {"live+s": {"inputs": 1}}}
                    """)
            }
        }
    }

    /// MistUtilLoad's rule, written out independently: score = cpu + ram + bw(up + addBandwidth)
    /// + bonus (no position); the highest wins (the first on a tie); the winner's addBandwidth
    /// grows by one viewer's estimate (128 KiB/s for a stream with no measured rate).
    static func expectedSpread(requests: Int) -> [String: Int] {
        let cpus: [UInt64] = [100, 100, 220]
        var added: [UInt64] = [0, 0, 0]
        var counts: [String: Int] = [:]
        for _ in 0..<requests {
            var best = -1
            var bestScore: UInt64 = 0
            for i in 0..<3 {
                let used = added[i]
                guard used < capBytesPerSec else { continue }
                let score = (500 - cpus[i] * 500 / 1000) + (500 - 200 * 500 / 1000) + (1000 - used * 1000 / capBytesPerSec) + 50
                if best < 0 || score > bestScore { best = i; bestScore = score }
            }
            added[best] += 131_072
            counts[["a", "b", "c"][best], default: 0] += 1
        }
        return counts
    }

    @Test func backToBackViewersSpreadAsMistUtilLoadsFormulaSays() throws {
        let server = try Self.start()
        defer { server.stopNow() }
        let expected = Self.expectedSpread(requests: 300)
        #expect(expected["c", default: 0] > 0 && expected["a", default: 0] > expected["c", default: 0])  // the formula does spread
        // One keep-alive connection: one data loop, whose own redirects count at once.
        let client = try TestClient(port: server.httpPort)
        var counts: [String: Int] = [:]
        for _ in 0..<300 {
            try client.send("GET /live+s HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try client.readResponse()
            #expect(r.status == 200)
            counts[r.bodyText.replacingOccurrences(of: ".example", with: ""), default: 0] += 1
        }
        #expect(counts == expected, "ours \(counts), MistUtilLoad's formula \(expected)")
        // The redirects' bandwidth is visible as MistUtilLoad's up_add once shipped (≤ 50 ms).
        var upAdd: [String: Int64] = [:]
        for _ in 0..<100 {
            for node in ["a", "b", "c"] {
                let state = try JSONParser.parse(try RoutingTests.call(server.internalPort, "GET", "/?host=\(node)", token: nil).body)
                upAdd[node] = state["up_add"]?.intValue ?? -1
            }
            if upAdd == expected.mapValues({ Int64($0) * 131_072 }) { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(upAdd == expected.mapValues { Int64($0) * 131_072 })
        // HEAD sends no viewer: nothing is added.
        try client.send("HEAD /live+s HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.readResponse(headRequest: true).status == 200)
        Thread.sleep(forTimeInterval: 0.2)
        let total = try ["a", "b", "c"].reduce(Int64(0)) { sum, node in
            sum + (try JSONParser.parse(try RoutingTests.call(server.internalPort, "GET", "/?host=\(node)", token: nil).body)["up_add"]?.intValue ?? 0)
        }
        #expect(total == 300 * 131_072)
    }

    @Test func capRequiresEveryListedCapability() throws {
        // a: edge; b: edge + storage; c: edge + storage + processing (the weakest).
        let server = try Self.start(capabilities: ["edge", "edge+storage", "edge+storage+processing"])
        defer { server.stopNow() }
        let port = server.httpPort
        #expect(try TestClient.get(port: port, "/live+s?cap=storage,processing").bodyText == "c.example")
        #expect(try TestClient.get(port: port, "/live+s?cap=storage").bodyText == "b.example")
        #expect(try TestClient.get(port: port, "/live+s?cap=edge%2Cstorage").bodyText == "b.example")
        #expect(try TestClient.get(port: port, "/live+s?cap=ingest").bodyText == "FULL")
        let unknown = try TestClient.get(port: port, "/live+s?cap=gpu")
        #expect(unknown.status == 400)
        #expect(try JSONParser.parse(unknown.body)["code"] == .string("INVALID_CAPABILITY"))
        // cap is not carried to the edge.
        let r = try TestClient.get(port: port, "/live+s?cap=storage,processing&proto=HLS&x=1")
        #expect(r.status == 307)
        #expect(r.header("Location") == "https://c.example/hls/live+s/index.m3u8?x=1")
        // And on the internal listener's source and ingest queries.
        let ip = server.internalPort
        #expect(try RoutingTests.call(ip, "GET", "/?source=live+s&cap=processing", token: nil).bodyText == "dtsc://c.example")
        #expect(try RoutingTests.call(ip, "GET", "/?ingest=10&cap=storage", token: nil).bodyText == "b.example")
        #expect(try RoutingTests.call(ip, "GET", "/?ingest=10&cap=ingest", token: nil).bodyText == "FULL")
        #expect(try RoutingTests.call(ip, "GET", "/?ingest=10&cap=gpu", token: nil).status == 400)
        // The same filter on /play, with a playback ID.
        #expect(try RoutingTests.call(server.internalPort, "PUT", "/v1/playback/pk", body: #"{"stream": "live+s"}"#, token: "tok").status == 201)
        RoutingTests.settle()
        #expect(try TestClient.get(port: port, "/play/pk/hls/index.m3u8?cap=processing").header("X-Foghorn-Edge") == "c")
        let none = try TestClient.get(port: port, "/play/pk/hls/index.m3u8?cap=ingest")
        #expect(none.status == 503)
        #expect(try JSONParser.parse(none.body)["message"] == .string("no edge carrying the stream has every capability cap= requires"))
        #expect(try TestClient.get(port: port, "/play/pk/hls/index.m3u8?cap=roles").status == 400)
    }
}
