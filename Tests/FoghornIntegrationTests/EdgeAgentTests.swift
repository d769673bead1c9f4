import Foundation
import Testing
import FoghornHTTP
import FoghornJSON
import FoghornTesting

/// Token to first viewer with real processes on loopback: `foghorn serve` with the edge API over
/// TLS, a fake MistServer (serving an HLS rendition ffmpeg makes here), and `foghorn edge-agent`.
@Suite(.serialized) struct EdgeAgentTests {
    static let admin = "agent-test-admin"

    struct Cluster {
        let dir: String
        let ca: String
        let cert: (String, String)
        let edgePort: UInt16
        let config: String

        init() throws {
            dir = try ScratchDirectory.make("edge-agent")
            ca = try TestCertificates.ca(in: dir)
            cert = try TestCertificates.leaf("foghorn", names: ["127.0.0.1", "localhost"], in: dir)
            let s = try ListeningSocket.bind(host: "127.0.0.1", port: 0, reusePort: false)
            edgePort = s.port
            s.closeUnused()
            config = dir + "/foghorn.yaml"
            try """
            playback:
              - id: pb1
                stream: live+demo
                tenant: t1
            edge_api:
              report_interval_s: 1
            """.write(toFile: config, atomically: true, encoding: .utf8)
        }

        /// `foghorn serve` with its state in `dir` and the edge API on `edgePort` (retried while a
        /// restart finds the port still held for a moment).
        func serve() throws -> FoghornProcess {
            var lastError: (any Error)?
            for _ in 0..<20 {
                let p = try FoghornProcess(arguments: [
                    "serve", "--config", config, "--http-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0",
                    "--https-listen", "127.0.0.1:0", "--edge-listen", "127.0.0.1:\(edgePort)", "--loops", "1",
                    "--internal-token", EdgeAgentTests.admin, "--state-path", dir + "/foghorn-state.db",
                    "--tls-cert", cert.0, "--tls-key", cert.1,
                ])
                do {
                    try p.waitUntilReady()
                    return p
                } catch {
                    lastError = error
                    _ = p.waitForExit(timeoutMs: 2000)
                    usleep(100_000)
                }
            }
            throw lastError!
        }

        func token(_ foghorn: FoghornProcess, maxUses: Int = 1) throws -> String {
            let r = try RoutingTests.call(foghorn.internalPort, "POST", "/v1/enrollment-tokens", body: #"{"tenant": "t1", "max_uses": \#(maxUses)}"#, token: EdgeAgentTests.admin)
            #expect(r.status == 201)
            return try JSONParser.parse(r.body)["enrollment_token"]!.stringValue!
        }

        func agent(_ extra: [String], stateFile: String? = nil, ca: String? = nil) throws -> FoghornProcess {
            try FoghornProcess(arguments: ["edge-agent", "--foghorn", "https://127.0.0.1:\(edgePort)", "--ca-file", ca ?? self.ca,
                                           "--state-file", stateFile ?? dir + "/agent/state.json", "--timeout-ms", "2000"] + extra)
        }
    }

    /// An HLS rendition of a 2 s test pattern, made by ffmpeg (nil when ffmpeg is missing).
    static func hlsRendition(in dir: String) -> String? {
        let out = dir + "/media/pb1"
        try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=10", "-t", "2", "-c:v", "libx264", "-g", "10",
                       "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", out + "/index.m3u8"]
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? dir + "/media" : nil
    }

    static func play(_ foghorn: FoghornProcess) throws -> TestClient.Response {
        try RoutingTests.call(foghorn.httpPort, "GET", "/play/pb1/hls/index.m3u8", token: nil)
    }

    static func waitFor(_ ms: Int, _ condition: () throws -> Bool) rethrows -> Bool {
        try FederationTests.eventually(ms, condition)
    }

    @Test func tokenToFirstViewerThenRestartRevokeAndASpentToken() throws {
        let cluster = try Cluster()
        let media = Self.hlsRendition(in: cluster.dir)
        let mist = try FakeMistNode(document: """
            {"cpu": 150, "mem_total": 16000000, "mem_used": 4000000, "bw": [0, 0], "loc": {"lat": 52.37, "lon": 4.9, "name": "Amsterdam"},
             "streams": {"live+demo": {"curr": [2, 1], "bw": [0, 0]}}}
            """, mediaDirectory: media)
        defer { mist.stop() }
        var foghorn = try cluster.serve()
        let token = try cluster.token(foghorn)

        // One command on the edge: enrol, report within two intervals, a viewer is redirected there.
        let started = Date()
        let agent = try cluster.agent(["--enrollment-token", token, "--mist-url", "http://127.0.0.1:\(mist.port)",
                                       "--base-url", "http://127.0.0.1:\(mist.port)/", "--log-level", "debug"])
        #expect(try Self.waitFor(8000) { try Self.play(foghorn).status == 307 })
        let elapsed = Date().timeIntervalSince(started)
        // Within two report intervals (1 s each) of the agent's start, its process start-up included.
        #expect(elapsed < 2.0, "first viewer routed \(elapsed) s after the agent started")
        let redirect = try Self.play(foghorn)
        #expect(redirect.header("Location") == "http://127.0.0.1:\(mist.port)/hls/pb1/index.m3u8")
        if media != nil {
            let playlist = try RoutingTests.call(mist.port, "GET", "/hls/pb1/index.m3u8", token: nil)
            #expect(playlist.status == 200)
            #expect(playlist.bodyText.hasPrefix("#EXTM3U"))
            #expect(playlist.bodyText.contains(".ts"))
        }
        // The state file: the credential, mode 0600; the token is not in it.
        let statePath = cluster.dir + "/agent/state.json"
        let attributes = try FileManager.default.attributesOfItem(atPath: statePath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let state = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: statePath))))
        let node = try #require(state["node_id"]?.stringValue)
        #expect(state["edge_token"]?.stringValue?.isEmpty == false)
        #expect(!String(decoding: try Data(contentsOf: URL(fileURLWithPath: statePath)), as: UTF8.self).contains(token))
        let edge = try JSONParser.parse(RoutingTests.call(foghorn.internalPort, "GET", "/v1/edges/\(node)", token: Self.admin).body)
        #expect(edge["state"] == .string("routable"))
        #expect(edge["warnings"] == .array([]))
        #expect(edge["location"] == .string("Amsterdam"))

        // Foghorn restarts: the agent's next reports bring the edge back, no token needed.
        foghorn.signal(SIGTERM)
        #expect(foghorn.waitForExit(timeoutMs: 5000) == 0)
        foghorn = try cluster.serve()
        #expect(try Self.waitFor(5000) { try Self.play(foghorn).status == 307 })
        #expect(try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: statePath))))["node_id"]?.stringValue == node)

        // Revoked: the agent's reports get 401 and it says so.
        #expect(try RoutingTests.call(foghorn.internalPort, "DELETE", "/v1/edges/\(node)", token: Self.admin).status == 204)
        #expect(try Self.waitFor(3000) { try Self.play(foghorn).status != 307 })
        usleep(2_500_000)  // two report intervals
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeoutMs: 5000) == 0)
        let log = agent.standardErrorText
        #expect(log.contains("\"msg\":\"enrolled\""), "\(log.suffix(2000))")
        #expect(log.contains("reporting; edge is routable"))
        #expect(log.contains("Foghorn refused this edge's credential (401 EDGE_REMOVED)"), "\(log.suffix(2000))")
        #expect(log.contains("\"msg\":\"report\""))  // debug: what it reported
        #expect(log.contains("signal received, stopping"))

        // A second agent with the same (spent) token: a clear error, exit 78, nothing enrolled.
        let second = try cluster.agent(["--enrollment-token", token, "--mist-url", "http://127.0.0.1:\(mist.port)"],
                                       stateFile: cluster.dir + "/agent2/state.json")
        #expect(second.waitForExit(timeoutMs: 10_000) == 78)
        let secondLog = second.standardErrorText
        #expect(secondLog.contains("enrolment refused: ENROLLMENT_TOKEN_USED"), "\(secondLog)")
        #expect(!FileManager.default.fileExists(atPath: cluster.dir + "/agent2/state.json"))
        foghorn.signal(SIGTERM)
        _ = foghorn.waitForExit(timeoutMs: 5000)
    }

    @Test func aWrongCAFailsClosedAndSpendsNothing() throws {
        let cluster = try Cluster()
        let foghorn = try cluster.serve()
        defer {
            foghorn.signal(SIGTERM)
            _ = foghorn.waitForExit(timeoutMs: 5000)
        }
        let token = try cluster.token(foghorn)
        let otherDir = try ScratchDirectory.make("other-ca")
        let otherCA = try TestCertificates.ca(in: otherDir)
        let agent = try cluster.agent(["--enrollment-token", token, "--once", "--mist-url", "http://127.0.0.1:1"], ca: otherCA)
        #expect(agent.waitForExit(timeoutMs: 15_000) == 1)
        let log = agent.standardErrorText
        #expect(log.contains("TLS handshake failed"), "\(log)")
        #expect(log.contains("certificate verify failed"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: cluster.dir + "/agent/state.json"))
        // The token was never presented: it still enrols (with the right CA).
        let good = try cluster.agent(["--enrollment-token", token, "--once", "--mist-url", "http://127.0.0.1:1"])
        #expect(good.waitForExit(timeoutMs: 15_000) == 0)
        let goodLog = good.standardErrorText
        #expect(goodLog.contains("MistServer unreachable"), "\(goodLog)")
        #expect(goodLog.contains("\"msg\":\"enrolled\""))
    }
}
