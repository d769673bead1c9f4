import FoghornJSON
import FoghornModel

/// One PeerChannel message (docs/PEERING.md lists every field).
public enum PeerMessage: Sendable, Equatable {
    /// Opens the handshake. The dialer sends `cluster` and `nonce`; the listener
    /// answers with its own `cluster`, `nonce` and `proof` of the pair secret.
    case hello(Hello)
    /// The dialer's proof of the pair secret.
    case auth(proof: String)
    /// The listener accepted the dialer: the channel is up.
    case ready
    /// The sender's edges: every routable edge (`streams == nil`, always-on
    /// peers) or those carrying the listed streams (stream-scoped channels).
    /// Replaces what the receiver knew from this peer for that scope.
    case edgeSummary(streams: [String]?, edges: [PeerEdge])
    /// A stream went live here (or its edges changed), with the edges carrying it.
    case streamAdvertisement(stream: String, edges: [PeerEdge])
    case streamEnded(stream: String)
    /// "Do you carry this stream?" — answered by ``queryAnswer``.
    case queryStream(id: UInt64, stream: String)
    case queryAnswer(id: UInt64, stream: String, found: Bool, edges: [PeerEdge])
    /// Sent every 10 s; the receiver answers with `reply: true` echoing `seq` (RTT).
    case heartbeat(seq: UInt64, reply: Bool)
    case goodbye(reason: String)

    public struct Hello: Sendable, Equatable {
        public var version: Int
        public var cluster: String
        public var nonce: String
        public var proof: String?
        public init(version: Int = Int(PeerFrame.version), cluster: String, nonce: String, proof: String? = nil) {
            self.version = version
            self.cluster = cluster
            self.nonce = nonce
            self.proof = proof
        }
    }

    public var type: PeerMessageType {
        switch self {
        case .hello: return .hello
        case .auth: return .auth
        case .ready: return .ready
        case .edgeSummary: return .edgeSummary
        case .streamAdvertisement: return .streamAdvertisement
        case .streamEnded: return .streamEnded
        case .queryStream: return .queryStream
        case .queryAnswer: return .queryAnswer
        case .heartbeat: return .heartbeat
        case .goodbye: return .goodbye
        }
    }

    // MARK: Limits (a decoder never trusts counts or lengths)

    public static let maxEdges = 20_000
    public static let maxStreamsPerEdge = 10_000
    public static let maxStreamsListed = 100_000
    public static let maxOutputs = 64
    public static let maxNameBytes = 512
    public static let maxURLBytes = 2048

    // MARK: Encoding

    /// The whole frame (header + JSON payload).
    public func frame() -> [UInt8] { PeerFrame.encode(type, payload: payload()) }

    public func payload() -> [UInt8] {
        var j = JSONWriter(capacity: 256)
        j.objectStart()
        switch self {
        case .hello(let h):
            j.field("version", h.version)
            j.field("cluster", h.cluster)
            j.field("nonce", h.nonce)
            if let p = h.proof { j.field("proof", p) }
        case .auth(let proof):
            j.field("proof", proof)
        case .ready:
            break
        case .edgeSummary(let streams, let edges):
            if let streams {
                j.key("streams")
                j.arrayStart()
                for s in streams { j.string(s) }
                j.arrayEnd()
            }
            PeerMessage.writeEdges(&j, edges)
        case .streamAdvertisement(let stream, let edges):
            j.field("stream", stream)
            PeerMessage.writeEdges(&j, edges)
        case .streamEnded(let stream):
            j.field("stream", stream)
        case .queryStream(let id, let stream):
            j.field("id", id)
            j.field("stream", stream)
        case .queryAnswer(let id, let stream, let found, let edges):
            j.field("id", id)
            j.field("stream", stream)
            j.field("found", found)
            PeerMessage.writeEdges(&j, edges)
        case .heartbeat(let seq, let reply):
            j.field("seq", seq)
            j.field("reply", reply)
        case .goodbye(let reason):
            j.field("reason", reason)
        }
        j.objectEnd()
        return j.bytes
    }

    static func writeEdges(_ j: inout JSONWriter, _ edges: [PeerEdge]) {
        j.key("edges")
        j.arrayStart()
        for e in edges {
            j.objectStart()
            j.field("node_id", e.nodeId)
            j.field("base_url", e.baseURL)
            j.key("outputs")
            j.arrayStart()
            for o in e.outputs {
                j.arrayStart()
                j.string(o.name)
                j.string(o.template)
                j.arrayEnd()
            }
            j.arrayEnd()
            if let lat = e.lat, let lon = e.lon {
                j.field("lat", lat)
                j.field("lon", lon)
            }
            j.field("cpu_permille", e.cpuPermille)
            j.field("ram_used", e.ramUsedBytes)
            j.field("ram_max", e.ramMaxBytes)
            j.field("bw_available", e.bwAvailableBytesPerSec)
            j.key("streams")
            j.arrayStart()
            for s in e.streams {
                j.objectStart()
                j.field("name", s.name)
                j.field("inputs", s.inputs)
                j.field("viewers", s.viewers)
                j.objectEnd()
            }
            j.arrayEnd()
            j.objectEnd()
        }
        j.arrayEnd()
    }

    // MARK: Decoding

    /// Decodes one frame's payload; every field is checked (type, range, length).
    public static func decode(_ type: PeerMessageType, _ payload: [UInt8]) throws(PeerProtocolError) -> PeerMessage {
        var refused: [String] = []
        return try decode(type, payload, refused: &refused)
    }

    /// Decodes as above; an edge whose `base_url` or an output template breaks
    /// ``InputRules`` (control bytes, a foreign scheme) is left out of the message and named in
    /// `refused` (`"<node_id>: outputs.HLS: byte 0x0D at offset 40: …"`) — the rest of the frame
    /// is used, and the channel stays up.
    public static func decode(_ type: PeerMessageType, _ payload: [UInt8], refused: inout [String]) throws(PeerProtocolError) -> PeerMessage {
        let root: JSONValue
        do throws(JSONParser.Error) {
            root = try JSONParser.parse(payload, maxDepth: 8)
        } catch {
            throw .malformed("\(type.name): \(error.description)")
        }
        guard case .object = root else { throw .malformed("\(type.name): payload is not a JSON object") }
        let r = Reader(root: root, type: type)
        switch type {
        case .hello:
            let version = try r.int("version", 0...1_000_000)
            let proof: String? = root["proof"] == nil ? nil : try r.string("proof", max: 256)
            return .hello(Hello(version: Int(version), cluster: try r.name("cluster"), nonce: try r.string("nonce", max: 256), proof: proof))
        case .auth:
            return .auth(proof: try r.string("proof", max: 256))
        case .ready:
            return .ready
        case .edgeSummary:
            var streams: [String]?
            if let list = root["streams"] {
                guard let a = list.arrayValue, a.count <= maxStreamsListed else { throw .malformed("edge_summary: streams must be an array of at most \(maxStreamsListed) names") }
                streams = try a.map { v throws(PeerProtocolError) in try Reader.name(v, "streams[]", type) }
            }
            return .edgeSummary(streams: streams, edges: try r.edges(refused: &refused))
        case .streamAdvertisement:
            return .streamAdvertisement(stream: try r.name("stream"), edges: try r.edges(refused: &refused))
        case .streamEnded:
            return .streamEnded(stream: try r.name("stream"))
        case .queryStream:
            return .queryStream(id: UInt64(try r.int("id", 0...Int64.max)), stream: try r.name("stream"))
        case .queryAnswer:
            guard let found = root["found"]?.boolValue else { throw .malformed("query_answer: found must be a boolean") }
            return .queryAnswer(id: UInt64(try r.int("id", 0...Int64.max)), stream: try r.name("stream"), found: found, edges: try r.edges(refused: &refused))
        case .heartbeat:
            guard let reply = root["reply"]?.boolValue else { throw .malformed("heartbeat: reply must be a boolean") }
            return .heartbeat(seq: UInt64(try r.int("seq", 0...Int64.max)), reply: reply)
        case .goodbye:
            return .goodbye(reason: try r.string("reason", max: 256))
        }
    }

    /// Field access with the frame type in every error.
    struct Reader {
        let root: JSONValue
        let type: PeerMessageType

        func int(_ key: String, _ range: ClosedRange<Int64>, in object: JSONValue? = nil) throws(PeerProtocolError) -> Int64 {
            guard let v = (object ?? root)[key]?.intValue, range.contains(v) else {
                throw .malformed("\(type.name): \(key) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return v
        }

        func string(_ key: String, max: Int, in object: JSONValue? = nil) throws(PeerProtocolError) -> String {
            guard let s = (object ?? root)[key]?.stringValue, s.utf8.count <= max else {
                throw .malformed("\(type.name): \(key) must be a string of at most \(max) bytes")
            }
            return s
        }

        func name(_ key: String, in object: JSONValue? = nil) throws(PeerProtocolError) -> String {
            guard let v = (object ?? root)[key] else { throw .malformed("\(type.name): \(key) is missing") }
            return try Reader.name(v, key, type)
        }

        /// The first URL of `e` that ``InputRules`` refuses, as `field: problem`.
        static func urlProblem(_ e: PeerEdge) -> String? {
            if !e.baseURL.isEmpty, let problem = InputRules.baseURLProblem(e.baseURL) { return "base_url: \(problem)" }
            for o in e.outputs {
                if let problem = InputRules.templateProblem(o.template) {
                    let name = InputRules.textProblem(o.name, maxBytes: 64) == nil ? o.name : "?"
                    return "outputs.\(name): \(problem)"
                }
            }
            return nil
        }

        /// A non-empty name of visible ASCII/UTF-8 without control characters.
        static func name(_ v: JSONValue, _ key: String, _ type: PeerMessageType) throws(PeerProtocolError) -> String {
            guard let s = v.stringValue, !s.isEmpty, s.utf8.count <= PeerMessage.maxNameBytes, !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw .malformed("\(type.name): \(key) must be a non-empty name of at most \(PeerMessage.maxNameBytes) bytes without control characters")
            }
            return s
        }

        func edges(refused: inout [String]) throws(PeerProtocolError) -> [PeerEdge] {
            guard let list = root["edges"]?.arrayValue, list.count <= PeerMessage.maxEdges else {
                throw .malformed("\(type.name): edges must be an array of at most \(PeerMessage.maxEdges) edges")
            }
            var out: [PeerEdge] = []
            out.reserveCapacity(list.count)
            for item in list {
                guard case .object = item else { throw .malformed("\(type.name): every edge must be an object") }
                var e = PeerEdge(nodeId: try name("node_id", in: item))
                e.baseURL = try string("base_url", max: PeerMessage.maxURLBytes, in: item)
                guard let outputs = item["outputs"]?.arrayValue, outputs.count <= PeerMessage.maxOutputs else {
                    throw .malformed("\(type.name): outputs must be an array of at most \(PeerMessage.maxOutputs) [name, template] pairs")
                }
                for o in outputs {
                    guard let pair = o.arrayValue, pair.count == 2, let n = pair[0].stringValue, let t = pair[1].stringValue,
                          !n.isEmpty, n.utf8.count <= PeerMessage.maxNameBytes, t.utf8.count <= PeerMessage.maxURLBytes else {
                        throw .malformed("\(type.name): outputs must be [name, template] pairs")
                    }
                    e.outputs.append(PeerEdge.Output(name: n, template: t))
                }
                if item["lat"] != nil || item["lon"] != nil {
                    guard let lat = item["lat"]?.doubleValue, let lon = item["lon"]?.doubleValue, (-90...90).contains(lat), (-180...180).contains(lon) else {
                        throw .malformed("\(type.name): lat/lon must be numbers within ±90/±180")
                    }
                    e.lat = lat
                    e.lon = lon
                }
                e.cpuPermille = UInt64(try int("cpu_permille", 0...1_000_000, in: item))
                e.ramUsedBytes = UInt64(try int("ram_used", 0...Int64.max, in: item))
                e.ramMaxBytes = UInt64(try int("ram_max", 0...Int64.max, in: item))
                e.bwAvailableBytesPerSec = UInt64(try int("bw_available", 0...Int64.max, in: item))
                guard let streams = item["streams"]?.arrayValue, streams.count <= PeerMessage.maxStreamsPerEdge else {
                    throw .malformed("\(type.name): streams must be an array of at most \(PeerMessage.maxStreamsPerEdge) entries")
                }
                for s in streams {
                    guard case .object = s else { throw .malformed("\(type.name): every stream must be an object") }
                    e.streams.append(PeerEdge.Stream(
                        name: try name("name", in: s), inputs: UInt32(try int("inputs", 0...Int64(UInt32.max), in: s)),
                        viewers: UInt32(try int("viewers", 0...Int64(UInt32.max), in: s))))
                }
                if let problem = Reader.urlProblem(e) {
                    refused.append("\(e.nodeId): \(problem)")
                    continue
                }
                out.append(e)
            }
            return out
        }
    }
}
