import FoghornConfig
import FoghornHTTP
import FoghornJSON
import FoghornModel
import FoghornPeering
import FoghornTLS
import Logging

extension PeerManager {
    // MARK: Ops

    /// `GET /debug/peers`.
    func debugJSON() -> JSONValue {
        let now = ControlPlane.monotonicMs()
        var list: [JSONValue] = []
        for name in order {
            let p = peers[name]!
            var streams: Set<String> = []
            for (_, entry) in p.edges { for s in entry.edge.streams where s.inputs > 0 { streams.insert(s.name) } }
            let lastReceived = p.channel.map { now &- $0.lastReceivedMs }
            var fields: [(key: String, value: JSONValue)] = [
                ("cluster", .string(name)), ("mode", .string(p.config.mode.rawValue)), ("address", .string(p.config.address)),
                ("state", .string(p.state.rawValue)), ("since", .int(p.sinceUnix)), ("state_for_ms", .int(Int64(now &- p.sinceMs))),
                ("rtt_ms", p.rttMs.map { .double(($0 * 1000).rounded() / 1000) } ?? .null),
                ("direction", p.channel.map { .string($0.direction.rawValue) } ?? .null),
                ("last_message", p.channel.map { c in .object([("type", .string(c.lastMessageType)), ("ago_ms", .int(Int64(lastReceived ?? 0)))]) } ?? .null),
                ("streams", .array(streams.sorted().map(JSONValue.string))),
                ("streams_requested_by_peer", .array(p.subscribedByThem.sorted().map(JSONValue.string))),
                ("remote_edges", .int(Int64(p.edges.count))),
                ("connects", .int(Int64(p.connects))),
                ("backoff", p.state == .backoff ? .object([("attempts", .int(Int64(p.attempts))), ("next_attempt_in_ms", .int(Int64(p.nextDialMs > now ? p.nextDialMs - now : 0)))]) : .null),
                ("errors", .object(p.errors.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.int(Int64($0.value))) })),
                ("last_error", .string(p.lastError)),
            ]
            if let g = p.graceDeadlineMs { fields.append(("closes_in_ms", .int(Int64(g > now ? g - now : 0)))) }
            list.append(.object(fields))
        }
        return .object([("cluster", .string(local)), ("peers", .array(list))])
    }

    public func count(_ state: State) -> Int { peers.values.filter { $0.state == state }.count }
    public var remoteEdgeCount: Int { peers.values.reduce(0) { $0 + $1.edges.count } }
}
