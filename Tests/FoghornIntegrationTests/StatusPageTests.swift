import Foundation
import Testing
import FoghornJSON
import FoghornTesting

/// `/ui` in a real browser: headless Chromium (Debian's `chromium`) loads the page from a Foghorn
/// running the demo configuration; the DOM shows the demo's edges and streams, and the
/// explainer's winner is the edge `/play` redirects to. A screenshot is saved.
@Suite(.serialized) struct StatusPageTests {
    static let chromium = "/usr/bin/chromium"

    /// Runs headless Chromium (bounded: killed after 60 s) and returns what it printed. Its output
    /// goes to a file, not a pipe: Chromium's crash handler outlives it and would hold a pipe open.
    static func browser(_ args: [String]) throws -> String {
        let dir = try ScratchDirectory.make("chromium")
        let outPath = dir + "/stdout"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        p.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                       "--disable-breakpad", "--disable-crash-reporter", "--user-data-dir=" + dir + "/profile", "--virtual-time-budget=5000"] + args
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        try out.close()
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    @Test func theStatusPageShowsTheDemoAndExplainsTheSameWinnerAsPlay() throws {
        let foghorn = try FoghornProcess(arguments: [
            "serve", "--config", ShippingTests.root + "/fixtures/demo/foghorn.yaml",
            "--http-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0", "--loops", "1",
        ])
        try foghorn.waitUntilReady()
        defer {
            foghorn.signal(SIGTERM)
            _ = foghorn.waitForExit(timeoutMs: 5000)
        }
        // Self-contained: no external script, style or image, a CSP that forbids them.
        let page = try TestClient.get(port: foghorn.internalPort, "/ui")
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
        for external in ["<script src", "<link", "src=\"http", "href=\"http", "@import"] { #expect(!page.bodyText.contains(external), "\(external)") }

        // The demo serves viewers over plain HTTP and its edges are https: /readyz says what that does to players.
        let verbose = try JSONParser.parse(try TestClient.get(port: foghorn.internalPort, "/readyz?verbose").body)
        #expect(verbose["warnings"]?.arrayValue?.contains { $0.stringValue?.contains("ExoPlayer/Media3") == true } == true, "\(verbose)")
        let play = try TestClient.get(port: foghorn.httpPort, "/play/demo/hls/index.m3u8")
        let routed = try #require(play.header("X-Foghorn-Edge"))
        let url = "http://127.0.0.1:\(foghorn.internalPort)/ui?playback=demo"
        let dom = try Self.browser(["--dump-dom", url])
        let edges = try JSONParser.parse(try TestClient.get(port: foghorn.internalPort, "/v1/edges").body)["edges"]?.arrayValue ?? []
        #expect(edges.count == 2)
        for edge in edges {
            let id = try #require(edge["node_id"]?.stringValue)
            #expect(dom.contains("<tr data-node=\"\(id)\">"), "edge \(id) not in the table")
            #expect(dom.contains("<g data-node=\"\(id)\">"), "edge \(id) not in the explainer")
        }
        #expect(dom.contains("<tr data-stream=\"live+demo\">"), "no row for the demo stream")
        #expect(dom.contains("id=\"winner\">\(routed)<"), "the explainer's winner is not /play's \(routed)")
        #expect(dom.contains("class=\"state routable\""))

        let shot = ShippingTests.root + "/.build/status-page.png"
        _ = try Self.browser(["--screenshot=" + shot, "--window-size=1280,1400", url])
        let attributes = try FileManager.default.attributesOfItem(atPath: shot)
        #expect(((attributes[.size] as? NSNumber)?.intValue ?? 0) > 20_000, "screenshot \(shot) missing or blank")
    }
}
