import FoghornModel
import FoghornPeering

/// Feeds the input to the PeerChannel frame decoder whole and split at a point
/// chosen by the first byte; every decoded frame goes through the message
/// decoder. Traps if the two feedings disagree, if a decoded message does not
/// survive an encode/decode round trip, or if a remote edge breaks snapshot
/// building and scoring.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPeerFrames(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 1 else { return 0 }
    let split = 1 + Int(data[0]) % (size - 1)
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

    let whole = run([bytes[...]])
    let parts = run([bytes[0..<min(split, bytes.count)], bytes[min(split, bytes.count)...]])
    precondition(whole == parts, "split feeding disagrees")
    return 0
}

private func run(_ chunks: [ArraySlice<UInt8>]) -> [String] {
    var d = PeerFrameDecoder(maxPayloadBytes: 1 << 16)
    var out: [String] = []
    for chunk in chunks {
        d.feed(Array(chunk))
        while true {
            do throws(PeerProtocolError) {
                guard let f = try d.next() else { break }
                do throws(PeerProtocolError) {
                    let m = try PeerMessage.decode(f.type, f.payload)
                    let again = try PeerMessage.decode(m.type, m.payload())
                    precondition(again == m, "round trip changed \(m)")
                    out.append("\(m)")
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

/// Remote edges from a message must be safe to score.
private func check(_ m: PeerMessage) {
    let edges: [PeerEdge]
    switch m {
    case .edgeSummary(_, let e), .streamAdvertisement(_, let e), .queryAnswer(_, _, _, let e): edges = e
    default: return
    }
    let states = edges.prefix(64).map { $0.edgeState(cluster: "fuzz") }
    let snap = RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: [], remoteEdges: states, playback: []))
    for s in 0..<min(snap.streams.count, 8) {
        let top = Scorer.top(snap, ScoringRequest(stream: s, viewer: GeoPoint(lat: 10, lon: 10)))
        let explained = Scorer.explain(snap, ScoringRequest(stream: s, viewer: GeoPoint(lat: 10, lon: 10)))
        precondition(top.isEmpty == explained.ranking.isEmpty, "fast and explain disagree")
        if !top.isEmpty { precondition(explained.ranking[0] == top[0].edge, "fast and explain pick different winners") }
    }
}
