import FoghornModel
import FoghornPeering

/// The invariants of the PeerChannel decoders: the body of the `FuzzPeerFrames` libFuzzer target
/// and of the suite's corpus replay. The input is fed to the frame decoder whole and split at a
/// point chosen by its first byte; every frame goes through the message decoder. Traps if the
/// two feedings disagree, a decoded message does not survive an encode/decode round trip, an
/// accepted edge carries a URL ``InputRules`` refuses, or a remote edge breaks snapshot
/// building and scoring.
public enum PeerFrameChecks {
    public static func check(_ data: UnsafeRawBufferPointer) {
        guard data.count > 1 else { return }
        let split = 1 + Int(data[0]) % (data.count - 1)
        let bytes = Array(data[1...])
        let whole = run([bytes[...]])
        let parts = run([bytes[0..<min(split, bytes.count)], bytes[min(split, bytes.count)...]])
        precondition(whole == parts, "split feeding disagrees")
    }

    static func run(_ chunks: [ArraySlice<UInt8>]) -> [String] {
        var d = PeerFrameDecoder(maxPayloadBytes: 1 << 16)
        var out: [String] = []
        for chunk in chunks {
            d.feed(Array(chunk))
            while true {
                do throws(PeerProtocolError) {
                    guard let f = try d.next() else { break }
                    do throws(PeerProtocolError) {
                        var refused: [String] = []
                        let m = try PeerMessage.decode(f.type, f.payload, refused: &refused)
                        let again = try PeerMessage.decode(m.type, m.payload())
                        precondition(again == m, "round trip changed \(m)")
                        out.append("\(m) refused \(refused.count)")
                        check(m)
                    } catch {
                        out.append("bad message: \(error.reason)")
                    }
                } catch {
                    out.append("bad frame: \(error.reason)")
                    return out
                }
            }
        }
        return out
    }

    /// Remote edges from a message must be safe to put in headers and to score.
    static func check(_ m: PeerMessage) {
        let edges: [PeerEdge]
        switch m {
        case .edgeSummary(_, let e), .streamAdvertisement(_, let e), .queryAnswer(_, _, _, let e): edges = e
        default: return
        }
        for e in edges {
            precondition(InputRules.forbiddenURLByte(e.baseURL) == nil, "peer base_url with a control byte accepted")
            for o in e.outputs { precondition(InputRules.forbiddenURLByte(o.template) == nil, "peer template with a control byte accepted") }
        }
        let names = StreamNameTable()
        let states = edges.prefix(64).map { $0.edgeState(cluster: "fuzz", names: names) }
        let snap = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: [], remoteEdges: states, playback: [],
                                         names: names))
        for s in 0..<min(snap.streams.count, 8) {
            let top = Scorer.top(snap, ScoringRequest(stream: s, viewer: GeoPoint(lat: 10, lon: 10)))
            let explained = Scorer.explain(snap, ScoringRequest(stream: s, viewer: GeoPoint(lat: 10, lon: 10)))
            precondition(top.isEmpty == explained.ranking.isEmpty, "fast and explain disagree")
            if !top.isEmpty { precondition(explained.ranking[0] == top[0].edge, "fast and explain pick different winners") }
        }
    }
}
