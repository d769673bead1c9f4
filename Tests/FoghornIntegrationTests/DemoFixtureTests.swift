import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornTesting

/// The README's demo: fixtures/demo/foghorn.yaml serves /play/demo out of the box.
@Suite(.serialized) struct DemoFixtureTests {
    @Test func demoConfigRedirectsOutOfTheBox() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("fixtures/demo/foghorn.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let config = try ConfigLoader.load(fileText: text, fileName: path)
        let server = try TestServer.start { c in
            let ports = (c.httpListen, c.internalListen)
            c = config
            c.httpListen = ports.0
            c.internalListen = ports.1
            c.loops = 2
        }
        defer { server.stopNow() }
        let r = try TestClient.get(port: server.httpPort, "/play/demo/hls/index.m3u8")
        #expect(r.status == 307)
        #expect(r.header("Location") == "https://edge-ams-1.demo.example/hls/demo/index.m3u8")
        let offline = try TestClient.get(port: server.httpPort, "/play/offline/hls/index.m3u8")
        #expect(offline.status == 404)
        let snapshot = try JSONParser.parse(try TestClient.get(port: server.internalPort, "/debug/snapshot").body)
        #expect(snapshot["edges"] == .int(2))
        #expect(snapshot["routable_edges"] == .int(2))
    }
}
