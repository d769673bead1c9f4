import Foundation
import Testing
import FoghornJSON
import FoghornTesting

/// A long-running `foghorn serve` under stream churn: names no edge or record uses any more are
/// given back and their IDs reused, while live streams, records and names coming back route as
/// before. (The real binary: reclaiming is on only where the control plane is the only holder of
/// stream IDs in the process.)
@Suite(.serialized) struct StreamNameReclaimTests {
    static let token = "tok"

    static func call(_ port: UInt16, _ method: String, _ path: String, body: String? = nil, token: String? = token) throws -> TestClient.Response {
        let client = try TestClient(port: port)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: t\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        try client.send(request + "\r\n" + (body ?? ""))
        return try client.readResponse(timeoutMs: 20_000)
    }

    static func metric(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    @Test func churnedNamesAreGivenBackAndReusedWhileRoutingStaysRight() throws {
        let dir = URL(fileURLWithPath: try ScratchDirectory.make("foghorn-names"))
        let file = dir.appendingPathComponent("foghorn.yaml")
        try """
            log_level: error
            internal_token: \(Self.token)
            max_body_bytes: 4194304
            playback:
              - {id: steady, stream: live+steady}
              - {id: waiting, stream: live+waiting}
              - {id: back, stream: live+c1-7}
            """.write(to: file, atomically: true, encoding: .utf8)
        let foghorn = try FoghornProcess(arguments: [
            "serve", "--config", file.path, "--http-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0", "--loops", "1",
        ])
        var exited = false
        defer {
            if !exited {
                foghorn.signal(SIGTERM)
                _ = foghorn.waitForExit(timeoutMs: 5000)
            }
        }
        try foghorn.waitUntilReady()
        let vp = foghorn.httpPort, ip = foghorn.internalPort

        let issued = try Self.call(ip, "POST", "/v1/enrollment-tokens", body: "{}")
        #expect(issued.status == 201)
        let enrollment = try #require(try JSONParser.parse(issued.body)["enrollment_token"]?.stringValue)
        let enrolled = try Self.call(ip, "POST", "/v1/edges/enroll", body: #"{"enrollment_token": "\#(enrollment)", "public_ip": "203.0.113.7"}"#, token: nil)
        #expect(enrolled.status == 201)
        let j = try JSONParser.parse(enrolled.body)
        let node = try #require(j["node_id"]?.stringValue), edgeToken = try #require(j["edge_token"]?.stringValue)

        /// The edge now carries live+steady and 20,000 streams of round `round` (plus `extra`).
        func report(round: Int, extra: [String] = []) throws {
            var streams = ["live+steady"] + extra
            streams += (0..<20_000).map { "live+c\(round)-\($0)" }
            let body = """
                {"cpu_permille": 100, "ram_used_bytes": 1000, "ram_max_bytes": 8000, "bw_limit_bytes_per_sec": 125000000,
                 "lat": 52.37, "lon": 4.9, "base_url": "https://\(node).edges.example/", "outputs": {"HLS": "https://HOST/hls/$/index.m3u8"},
                 "streams": {\(streams.map { #""\#($0)": {"inputs": 1}"# }.joined(separator: ","))}}
                """
            let r = try Self.call(ip, "POST", "/v1/edges/\(node)/report", body: body, token: edgeToken)
            #expect(r.status == 200, "round \(round): \(r.bodyText)")
        }
        func play(_ id: String) throws -> Int { try Self.call(vp, "GET", "/play/\(id)/hls", token: nil).status }
        /// Waits (bounded) until the snapshot with the last report is published: a new playback
        /// ID for `stream`, unknown (404) until then, routes once it is.
        var probes = 0
        func waitFor(_ stream: String) throws {
            probes += 1
            try #require(try Self.call(ip, "PUT", "/v1/playback/probe\(probes)", body: #"{"stream": "\#(stream)"}"#).status == 201)
            for _ in 0..<500 where try play("probe\(probes)") != 307 { usleep(20_000) }  // at most 10 s (slow CI)
            #expect(try play("probe\(probes)") == 307, "\(stream)")
        }

        // 12 rounds × 20,000 names, each round's ending with the next: 240,000 names seen.
        var names: [Double] = []
        for round in 1...12 {
            try report(round: round)
            try waitFor("live+c\(round)-19999")
            let m = try Self.call(ip, "GET", "/metrics").bodyText
            names.append(Self.metric(m, "foghorn_stream_names") ?? -1)
        }
        let metrics = try Self.call(ip, "GET", "/metrics").bodyText
        let reclaimed = try #require(Self.metric(metrics, "foghorn_stream_names_reclaimed_total"))
        // Rounds ended 20,000 streams each (≥ 4,096 and as many as live): slot compactions too, where
        // a name sweep's full build had not just dropped the empty slots.
        #expect((Self.metric(metrics, "foghorn_stream_name_sweeps_total") ?? 0) >= 2)
        #expect((Self.metric(metrics, "foghorn_snapshot_stream_slot_compactions_total") ?? 0) >= 1)
        // Without reclaiming the table would hold all 240,000 (+ 4); here what is in use (≈ 20,000)
        // plus at most two sweep intervals' worth (when builds coalesce decides which round a
        // retirement falls in: 20,004–100,004 names after each round here, 199,999 freed).
        #expect(reclaimed >= 100_000, "names per round: \(names)")
        #expect(names.last! <= 140_000, "names per round: \(names)")
        #expect(names.max()! < 200_000, "names per round: \(names)")

        // Live streams and records route; ended ones are offline; a record whose stream is not live
        // yet kept its name.
        #expect(try play("steady") == 307)
        #expect(try play("back") == 404)
        #expect(try play("waiting") == 404)
        let old = try Self.call(ip, "PUT", "/v1/playback/old", body: #"{"stream": "live+c3-5"}"#)
        #expect(old.status == 201)
        #expect(try play("old") == 404)
        // Round 1's live+c1-7 (its ID long given back and reused) and live+waiting come back.
        try report(round: 13, extra: ["live+c1-7", "live+waiting"])
        try waitFor("live+c13-0")
        #expect(try play("back") == 307)
        #expect(try play("waiting") == 307)
        #expect(try play("steady") == 307)
        #expect(try play("old") == 404)
        let named = try JSONParser.parse(try Self.call(vp, "GET", "/play/back", token: nil).body)
        #expect(named["primary"]?["nodeId"] == .string(node))
        let debug = try JSONParser.parse(try Self.call(ip, "GET", "/debug/snapshot").body)
        #expect(debug["streams"]?.intValue == 20_003)
        #expect((debug["stream_name_sweeps"]?.intValue ?? 0) >= 2)
        foghorn.signal(SIGTERM)
        exited = true
        #expect(foghorn.waitForExit(timeoutMs: 10_000) == 0)
        // Under scripts/sanitize the binary is built with the sanitizer too: names freed while a
        // data loop could still read them would show here.
        #expect(!foghorn.standardErrorText.contains("Sanitizer"), "\(foghorn.standardErrorText.prefix(4000))")
    }
}
