import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornHTTPCore
import FoghornJSON
import FoghornTesting

/// What players need beyond the redirect: one scheme end to end when asked (ExoPlayer/Media3
/// does not cross schemes by default), and a `Date` on every answer.
@Suite struct PlayerCompatibilityTests {
    static func start(scheme: String) throws -> FoghornServer {
        try TestServer.start { c in
            c.edges = try! JSONParser.parse("""
                [{"node_id": "e1", "base_url": "https://e1.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
                  "outputs": {"MP4": "http://e1.example:8080/$.mp4"}, "streams": {"live+s": {"inputs": 1}}}]
                """).arrayValue!
            c.playback = [.object([("id", .string("a")), ("stream", .string("live+s"))])]
            c.edgeScheme = scheme
        }
    }

    @Test(arguments: [("template", "https://e1.example/hls/a/index.m3u8", "http://e1.example:8080/a.mp4"),
                      ("https", "https://e1.example/hls/a/index.m3u8", "https://e1.example:8080/a.mp4"),
                      ("http", "http://e1.example/hls/a/index.m3u8", "http://e1.example:8080/a.mp4")])
    func edgeSchemeRewritesEveryEdgeURL(_ scheme: String, _ hls: String, _ mp4: String) throws {
        let server = try Self.start(scheme: scheme)
        defer { server.stopNow() }
        #expect(try TestClient.get(port: server.httpPort, "/play/a/hls/index.m3u8").header("Location") == hls)
        #expect(try TestClient.get(port: server.httpPort, "/play/a/mp4").header("Location") == mp4)
        let json = try JSONParser.parse(try TestClient.get(port: server.httpPort, "/play/a").body)
        let url = json["primary"]?["url"]?.stringValue ?? json.jsonText
        #expect(scheme == "template" || url.hasPrefix(scheme + "://"), "\(url)")
    }

    @Test func everyAnswerHasADate() throws {
        let server = try Self.start(scheme: "template")
        defer { server.stopNow() }
        let now = Int(Date().timeIntervalSince1970)
        for (port, path) in [(server.httpPort, "/play/a/hls/index.m3u8"), (server.httpPort, "/nope"), (server.internalPort, "/livez")] {
            let r = try TestClient.get(port: port, path)
            let date = try #require(r.header("Date"), "\(path)")
            // Within a second or two of now, in IMF-fixdate.
            let candidates = (now - 2...now + 2).map { HTTPDate.text($0) }
            #expect(candidates.contains(date), "\(path): \(date)")
        }
        // A parse error too (answered before routing).
        let client = try TestClient(port: server.httpPort)
        try client.send("BREW /x HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.readResponse().header("Date") != nil)
    }

    @Test func httpDatesAreIMFFixdate() {
        #expect(HTTPDate.text(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.text(951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.text(1_796_451_325) == "Sat, 05 Dec 2026 06:15:25 GMT")
        #expect(HTTPDate.text(4_102_444_799) == "Thu, 31 Dec 2099 23:59:59 GMT")
    }
}
