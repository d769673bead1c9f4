import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornHTTP
import FoghornJSON
import FoghornTesting

/// WHEP players POST their SDP offer to the playback URL; Foghorn answers 307 to the chosen
/// edge's WHEP URL and the player re-sends the offer there. Tested with raw requests and with a
/// real browser: headless Chromium's `fetch` (`redirect: 'follow'`) against a fake edge that
/// answers 201 with an SDP answer.
@Suite struct WHEPTests {
    static let offer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"

    /// A WHEP edge in Python: the test page, CORS preflights, and POST /webrtc/<name> → 201 with
    /// an answer that reports how many offer bytes arrived.
    static let fakeEdge = #"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def cors(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "content-type")
        self.send_header("Access-Control-Expose-Headers", "Location")
    def do_OPTIONS(self):
        self.send_response(204); self.cors(); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        body = open(sys.argv[2], "rb").read()
        self.send_response(200); self.send_header("Content-Type", "text/html"); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0")); offer = self.rfile.read(n)
        ok = self.path.startswith("/webrtc/") and self.headers.get("Content-Type", "").startswith("application/sdp")
        answer = ("v=0\r\na=offer-bytes:%d\r\na=path:%s\r\n" % (len(offer), self.path)).encode()
        self.send_response(201 if ok else 400); self.cors()
        self.send_header("Content-Type", "application/sdp"); self.send_header("Location", self.path + "/session-1")
        self.send_header("Content-Length", str(len(answer))); self.end_headers(); self.wfile.write(answer)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""#

    @Test func anOfferIsRedirectedToTheEdgeAndAnsweredThere() throws {
        let dir = try ScratchDirectory.make("whep")
        let s = try ListeningSocket.bind(host: "127.0.0.1", port: 0, reusePort: false)
        let edgePort = s.port
        s.closeUnused()
        let server = try TestServer.start { c in
            c.edges = try! JSONParser.parse("""
                [{"node_id": "w-edge", "base_url": "http://127.0.0.1:\(edgePort)/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
                  "streams": {"live+w": {"inputs": 1}}},
                 {"node_id": "ws-edge", "base_url": "https://ws.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000000,
                  "outputs": {"WebRTC": "wss://ws.example:4433/webrtc/$"}, "streams": {"live+ws": {"inputs": 1}}}]
                """).arrayValue!
            c.playback = [.object([("id", .string("w1")), ("stream", .string("live+w"))]), .object([("id", .string("w2")), ("stream", .string("live+ws"))])]
        }
        defer { server.stopNow() }
        let vp = server.httpPort

        func post(_ path: String, type: String? = "application/sdp", body: String = WHEPTests.offer) throws -> TestClient.Response {
            let client = try TestClient(port: vp)
            var head = "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n"
            if let type { head += "Content-Type: \(type)\r\n" }
            try client.send(head + "\r\n" + body)
            return try client.readResponse()
        }
        // The offer (70-odd bytes) → 307 to the edge's WHEP URL, absolute.
        #expect(Self.offer.utf8.count > 64)
        let r = try post("/play/w1/whep")
        #expect(r.status == 307, "\(r.bodyText)")
        #expect(r.header("Location") == "http://127.0.0.1:\(edgePort)/webrtc/w1")
        #expect(r.header("Access-Control-Allow-Origin") == "*")
        #expect(try post("/play/w1/webrtc").status == 307)
        // A WebRTC output given as wss:// signalling: its https:// twin.
        #expect(try post("/play/w2/webrtc").header("Location") == "https://ws.example:4433/webrtc/w2")
        // Only WHEP takes POST, only with SDP, only so big.
        #expect(try post("/play/w1/hls/index.m3u8").status == 405)
        #expect(try post("/play/w1/whep", type: "text/plain").status == 415)
        #expect(try post("/play/w1/whep", type: nil).status == 415)
        #expect(try post("/play/w1/whep", type: "Application/SDP; charset=utf-8").status == 307)
        #expect(try post("/play/w1/whep", body: String(repeating: "a", count: 65_537)).status == 413)
        #expect(try post("/play/w1/whep", body: String(repeating: "a", count: 65_536)).status == 307)
        // The browser's preflight: POST and Content-Type allowed.
        let client = try TestClient(port: vp)
        try client.send("OPTIONS /play/w1/whep HTTP/1.1\r\nHost: t\r\nOrigin: http://player.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
        let options = try client.readResponse()
        #expect(options.status == 204)
        #expect(options.header("Access-Control-Allow-Methods")?.contains("POST") == true)
        #expect(options.header("Access-Control-Allow-Headers") == "content-type")

        // A real browser: fetch POST → preflight → 307 → re-POST to the edge → 201 with the answer.
        let page = dir + "/page.html"
        try """
            <!doctype html><html><body><pre id="result">pending</pre><script>
            fetch("http://127.0.0.1:\(vp)/play/w1/whep", {method: "POST", headers: {"Content-Type": "application/sdp"},
                  body: \(JSONValue.string(Self.offer).jsonText), redirect: "follow"})
              .then(async r => { document.getElementById("result").textContent = "status=" + r.status + " url=" + r.url + "\\n" + await r.text(); })
              .catch(e => { document.getElementById("result").textContent = "error " + e; });
            </script></body></html>
            """.write(toFile: page, atomically: true, encoding: .utf8)
        let script = dir + "/edge.py"
        try Self.fakeEdge.write(toFile: script, atomically: true, encoding: .utf8)
        let edge = Process()
        edge.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        edge.arguments = [script, String(edgePort), page]
        try edge.run()
        // SIGKILL: a child of the test process may inherit SIGTERM blocked.
        defer { kill(edge.processIdentifier, SIGKILL); edge.waitUntilExit() }
        // Wait (bounded) for the edge to listen.
        for _ in 0..<100 where (try? TestClient.get(port: edgePort, "/page.html").status) != 200 { usleep(20_000) }
        let dom = try StatusPageTests.browser(["--dump-dom", "http://127.0.0.1:\(edgePort)/page.html"])
        #expect(dom.contains("status=201 url=http://127.0.0.1:\(edgePort)/webrtc/w1"), "\(dom)")
        #expect(dom.contains("a=offer-bytes:\(Self.offer.utf8.count)"), "the offer did not reach the edge whole: \(dom)")
    }
}
