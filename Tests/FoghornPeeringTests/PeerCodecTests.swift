import FoghornJSON
import FoghornModel
import FoghornModelFixtures
import FoghornPeering
import Testing

@Suite("PeerChannel codec")
struct PeerCodecTests {
    static let edge = PeerEdge(
        nodeId: "c00001", baseURL: "https://edge-c00001.c.example.net/",
        outputs: [.init(name: "HLS", template: "https://HOST/hls/$/index.m3u8"), .init(name: "WebRTC", template: "https://HOST/webrtc/$")],
        lat: 52.37, lon: 4.9, cpuPermille: 250, ramUsedBytes: 1 << 30, ramMaxBytes: 8 << 30, bwAvailableBytesPerSec: 100_000_000,
        streams: [.init(name: "live+alpha", inputs: 1, viewers: 12)])

    static let all: [PeerMessage] = [
        .hello(.init(cluster: "a", nonce: "00ff", proof: nil)),
        .hello(.init(cluster: "b", nonce: "abcd", proof: "0123")),
        .auth(proof: "deadbeef"),
        .ready,
        .edgeSummary(streams: nil, edges: [edge]),
        .edgeSummary(streams: ["live+alpha"], edges: []),
        .streamAdvertisement(stream: "live+alpha", edges: [edge]),
        .streamEnded(stream: "live+alpha"),
        .queryStream(id: 7, stream: "live+alpha"),
        .queryAnswer(id: 7, stream: "live+alpha", found: true, edges: [edge]),
        .queryAnswer(id: 8, stream: "live+beta", found: false, edges: []),
        .heartbeat(seq: 3, reply: false),
        .heartbeat(seq: 3, reply: true),
        .goodbye(reason: "shutdown"),
    ]

    @Test func everyMessageRoundTrips() throws {
        for m in Self.all {
            var d = PeerFrameDecoder()
            d.feed(m.frame())
            let f = try #require(try d.next())
            #expect(f.type == m.type)
            #expect(try PeerMessage.decode(f.type, f.payload) == m)
            #expect(try d.next() == nil)
        }
    }

    @Test func headerLayoutIsAsDocumented() {
        let bytes = PeerMessage.goodbye(reason: "shutdown").frame()
        #expect(Array(bytes[0..<6]) == [1, 10, 0, 0, 0, 21])
        #expect(String(decoding: bytes[6...], as: UTF8.self) == #"{"reason":"shutdown"}"#)
    }

    @Test func framesSplitAtEveryByteBoundaryDecodeTheSame() throws {
        var stream: [UInt8] = []
        for m in Self.all { stream += m.frame() }
        for cut in 0...stream.count {
            var d = PeerFrameDecoder()
            var got: [PeerMessage] = []
            d.feed(Array(stream[0..<cut]))
            while let f = try d.next() { got.append(try PeerMessage.decode(f.type, f.payload)) }
            d.feed(Array(stream[cut...]))
            while let f = try d.next() { got.append(try PeerMessage.decode(f.type, f.payload)) }
            #expect(got == Self.all)
        }
    }

    @Test func wrongVersionUnknownTypeAndOversizedFailWithReasons() throws {
        var d = PeerFrameDecoder()
        d.feed([2, 1, 0, 0, 0, 0])
        #expect(throws: PeerProtocolError("bad_version", "frame version 2, expected 1")) { try d.next() }
        // After a failure, nothing more comes out.
        d.feed(PeerMessage.ready.frame())
        #expect(throws: PeerProtocolError.self) { try d.next() }

        var u = PeerFrameDecoder()
        u.feed([1, 99])
        #expect(throws: PeerProtocolError("unknown_type", "frame type 99")) { try u.next() }

        // The cap is enforced from the header alone, before any payload is buffered.
        var o = PeerFrameDecoder(maxPayloadBytes: 1024)
        o.feed([1, 4, 0, 0, 4, 1])
        #expect(throws: PeerProtocolError("oversized", "frame of 1025 bytes, cap 1024")) { try o.next() }
        var exact = PeerFrameDecoder(maxPayloadBytes: 2)
        exact.feed(PeerFrame.encode(.ready, payload: Array("{}".utf8)))
        #expect(try exact.next()?.type == .ready)
    }

    @Test func malformedPayloadsAreRefusedWithTheField() {
        func reason(_ type: PeerMessageType, _ json: String) -> String? {
            do {
                _ = try PeerMessage.decode(type, Array(json.utf8))
                return nil
            } catch {
                return error.detail
            }
        }
        #expect(reason(.hello, "[1]") == "hello: payload is not a JSON object")
        #expect(reason(.hello, "{") != nil)
        #expect(reason(.hello, #"{"version":1,"cluster":"","nonce":"x"}"#)?.contains("cluster must be a non-empty name") == true)
        #expect(reason(.hello, #"{"version":-1,"cluster":"a","nonce":"x"}"#)?.contains("version must be an integer") == true)
        #expect(reason(.queryStream, #"{"id":"1","stream":"s"}"#)?.contains("id must be an integer") == true)
        #expect(reason(.queryAnswer, #"{"id":1,"stream":"s","found":1,"edges":[]}"#) == "query_answer: found must be a boolean")
        #expect(reason(.streamEnded, #"{"stream":"a\u0001b"}"#)?.contains("without control characters") == true)
        let badGeo = #"{"stream":"s","edges":[{"node_id":"n","base_url":"","outputs":[],"lat":91,"lon":0,"cpu_permille":0,"ram_used":0,"ram_max":1,"bw_available":1,"streams":[]}]}"#
        #expect(reason(.streamAdvertisement, badGeo) == "stream_advertisement: lat/lon must be numbers within ±90/±180")
        let badOutput = #"{"stream":"s","edges":[{"node_id":"n","base_url":"","outputs":[["hls"]],"cpu_permille":0,"ram_used":0,"ram_max":1,"bw_available":1,"streams":[]}]}"#
        #expect(reason(.streamAdvertisement, badOutput) == "stream_advertisement: outputs must be [name, template] pairs")
        let negativeBW = #"{"edges":[{"node_id":"n","base_url":"","outputs":[],"cpu_permille":0,"ram_used":0,"ram_max":1,"bw_available":-5,"streams":[]}]}"#
        #expect(reason(.edgeSummary, negativeBW)?.contains("bw_available must be an integer") == true)
        let tooManyStreams = #"{"edges":[{"node_id":"n","base_url":"","outputs":[],"cpu_permille":0,"ram_used":0,"ram_max":1,"bw_available":1,"streams":{}}]}"#
        #expect(reason(.edgeSummary, tooManyStreams)?.contains("streams must be an array") == true)
    }

    @Test func handshakeTranscriptsDifferByRoleAndNonce() {
        let a = PeerHandshake.transcript(role: .dialer, dialer: "a", listener: "b", dialerNonce: "1", listenerNonce: "2")
        let b = PeerHandshake.transcript(role: .listener, dialer: "a", listener: "b", dialerNonce: "1", listenerNonce: "2")
        #expect(String(decoding: a, as: UTF8.self) == "foghorn-peer-v1 dialer a b 1 2")
        #expect(a != b)
        #expect(PeerHandshake.hex([0, 15, 255]) == "000fff")
        #expect(PeerHandshake.constantTimeEqual("abc", "abc"))
        #expect(!PeerHandshake.constantTimeEqual("abc", "abd"))
        #expect(!PeerHandshake.constantTimeEqual("abc", "abcd"))
    }
}
