public import FoghornJSON
import FoghornModel

/// Mutations as JSON: the Redis changelog's entries and records (`{"k": kind, …}`). Decoding
/// checks every field's type; the control plane validates the values as it does at start.
extension StateMutation {
    public var json: JSONValue {
        func o(_ kind: String, _ fields: [(key: String, value: JSONValue)]) -> JSONValue { .object([("k", .string(kind))] + fields) }
        switch self {
        case .registerEdge(let r): return o("edge", StateMutation.registrationFields(r))
        case .removeEdge(let id): return o("edge_removed", [("id", .string(id))])
        case .redeemToken(let id, let max, let exp): return o("redeem", [("id", .string(id)), ("max", .int(Int64(max))), ("exp", .int(exp))])
        case .tokenUses(let id, let uses, let exp): return o("token", [("id", .string(id)), ("uses", .int(Int64(uses))), ("exp", .int(exp))])
        case .revokeToken(let id, let exp): return o("revoke", [("id", .string(id)), ("exp", .int(exp))])
        case .setMode(let id, let mode): return o("mode", [("id", .string(id)), ("mode", .string(mode.rawValue))])
        case .setPlayback(let r):
            return o("playback", [("id", .string(r.playbackId)), ("stream", .string(r.stream)), ("tenant", .string(r.tenant)), ("cluster", .string(r.cluster))])
        case .removePlayback(let id): return o("playback_removed", [("id", .string(id))])
        case .setWeights(let w, let f): return o("weights", [("w", StateMutation.weightsJSON(w)), ("file", StateMutation.weightsJSON(f))])
        case .mistNode(let id, let address, let present):
            return o("mist", [("id", .string(id)), ("address", .string(address)), ("present", .bool(present))])
        }
    }

    static func registrationFields(_ r: EdgeRegistration) -> [(key: String, value: JSONValue)] {
        [("id", .string(r.nodeId)), ("tenant", .string(r.tenant)), ("domain", .string(r.domain)), ("ip", .string(r.publicIP)),
         ("lat", r.lat.map(JSONValue.double) ?? .null), ("lon", r.lon.map(JSONValue.double) ?? .null), ("location", .string(r.location)),
         ("base_url", .string(r.baseURL)), ("caps", .int(Int64(r.capabilities.rawValue))), ("enrolled_ms", .int(r.enrolledAtUnixMs))]
    }

    static func weightsJSON(_ w: ScoringWeights) -> JSONValue {
        .array([w.cpu, w.ram, w.bandwidth, w.geo, w.streamBonus].map { .int(Int64(clamping: $0)) })
    }

    public struct DecodeError: Error, Equatable { public var problem: String }

    public init(json v: JSONValue) throws(DecodeError) {
        func s(_ k: String) throws(DecodeError) -> String {
            guard let x = v[k]?.stringValue else { throw DecodeError(problem: "\(k): expected a string") }
            return x
        }
        func i(_ k: String) throws(DecodeError) -> Int64 {
            guard let x = v[k]?.intValue else { throw DecodeError(problem: "\(k): expected an integer") }
            return x
        }
        func d(_ k: String) throws(DecodeError) -> Double? {
            switch v[k] {
            case .double(let x)?: return x
            case .int(let x)?: return Double(x)
            case .null?, nil: return nil
            default: throw DecodeError(problem: "\(k): expected a number or null")
            }
        }
        func weights(_ k: String) throws(DecodeError) -> ScoringWeights {
            guard let a = v[k]?.arrayValue, a.count == 5 else { throw DecodeError(problem: "\(k): expected five weights") }
            var n: [UInt64] = []
            for x in a {
                guard let y = x.intValue, y >= 0 else { throw DecodeError(problem: "\(k): expected non-negative integers") }
                n.append(UInt64(y))
            }
            return ScoringWeights(cpu: n[0], ram: n[1], bandwidth: n[2], geo: n[3], streamBonus: n[4])
        }
        switch try s("k") {
        case "edge":
            let caps = try i("caps")
            guard caps >= 0, caps <= 255 else { throw DecodeError(problem: "caps: out of range") }
            self = .registerEdge(EdgeRegistration(
                nodeId: try s("id"), tenant: try s("tenant"), domain: try s("domain"), publicIP: try s("ip"), lat: try d("lat"), lon: try d("lon"),
                location: try s("location"), baseURL: try s("base_url"), capabilities: EdgeCapabilities(rawValue: UInt8(caps)),
                enrolledAtUnixMs: try i("enrolled_ms")))
        case "edge_removed": self = .removeEdge(nodeId: try s("id"))
        case "redeem": self = .redeemToken(tokenId: try s("id"), maxUses: Int(clamping: try i("max")), expiresAt: try i("exp"))
        case "token": self = .tokenUses(tokenId: try s("id"), uses: Int(clamping: try i("uses")), expiresAt: try i("exp"))
        case "revoke": self = .revokeToken(tokenId: try s("id"), expiresAt: try i("exp"))
        case "mode":
            guard let mode = EdgeMode(rawValue: try s("mode")) else { throw DecodeError(problem: "mode: unknown") }
            self = .setMode(nodeId: try s("id"), mode: mode)
        case "playback":
            self = .setPlayback(PlaybackRecord(playbackId: try s("id"), stream: try s("stream"), tenant: try s("tenant"), cluster: try s("cluster")))
        case "playback_removed": self = .removePlayback(playbackId: try s("id"))
        case "weights": self = .setWeights(try weights("w"), fileWeights: try weights("file"))
        case "mist":
            guard case .bool(let present)? = v["present"] else { throw DecodeError(problem: "present: expected a boolean") }
            self = .mistNode(nodeId: try s("id"), address: try s("address"), present: present)
        case let other: throw DecodeError(problem: "k: unknown kind \(other)")
        }
    }
}
