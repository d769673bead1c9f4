import FoghornConfig
import FoghornHTTP
import FoghornJSON
import FoghornModel
import FoghornPeering
import FoghornTLS
import Logging

/// What peers tell each other: summaries and stream advertisements sent, messages received and
/// merged into the remote edge cache, queries answered.
extension PeerManager {
    // MARK: What we send

    /// Local edges that may serve viewers, as peers see them.
    func routableLocalEdges() -> [EdgeState] {
        let now = ControlPlane.monotonicMs()
        return plane.edges.values.filter { e in
            e.mode == .normal && e.pollError.isEmpty && e.capabilities.contains(.edge) && e.ramMaxBytes > 0 && e.bwLimitBytesPerSec > 0
                && plane.staleness.health(of: e, nowMs: now) == .fresh
        }.sorted { $0.nodeId < $1.nodeId }
    }

    /// The edges with inputs for `stream` (its name resolved once, not per edge).
    func withInputs(_ edges: [EdgeState], for stream: String) -> [EdgeState] {
        guard let id = plane.builder.names.existingId(for: stream) else { return [] }
        return edges.filter { ($0.stats(forId: id)?.inputs ?? 0) > 0 }
    }

    /// Streams live here (some routable edge has inputs for it).
    func liveStreams(_ edges: [EdgeState]) -> Set<String> {
        var out: Set<String> = []
        for e in edges { e.forEachStream(in: plane.builder.names) { name, s in if s.inputs > 0 { out.insert(name) } } }
        return out
    }

    func pushSummary(_ p: Peer, now: UInt64) {
        guard let c = p.channel, c.phase == .ready else { return }
        p.lastSummarySentMs = now
        let edges = routableLocalEdges()
        if p.isAlways {
            c.send(.edgeSummary(streams: nil, edges: edges.map { PeerEdge($0, names: plane.builder.names) }))
            p.advertised = liveStreams(edges)
        } else if !p.subscribedByThem.isEmpty {
            let wanted = p.subscribedByThem
            let ids = wanted.compactMap { plane.builder.names.existingId(for: $0) }
            let list = edges.filter { e in ids.contains { (e.stats(forId: $0)?.inputs ?? 0) > 0 } }
            c.send(.edgeSummary(streams: wanted.sorted(), edges: list.map { PeerEdge($0, only: wanted, names: plane.builder.names) }))
        }
    }

    /// Once a second: new local streams are advertised to always-on peers at once; streams
    /// that ended are announced to every peer that had them.
    func advertiseChanges(now: UInt64) {
        guard peers.values.contains(where: { $0.state == .connected }) else { return }
        let edges = routableLocalEdges()
        let live = liveStreams(edges)
        for name in order {
            let p = peers[name]!
            guard p.state == .connected, let c = p.channel else { continue }
            if p.isAlways {
                for stream in live.subtracting(p.advertised).sorted() {
                    let carrying = withInputs(edges, for: stream)
                    c.send(.streamAdvertisement(stream: stream, edges: carrying.map { PeerEdge($0, only: [stream], names: plane.builder.names) }))
                }
                for stream in p.advertised.subtracting(live).sorted() { c.send(.streamEnded(stream: stream)) }
                p.advertised = live
            }
            for stream in p.subscribedByThem.subtracting(live).sorted() {
                c.send(.streamEnded(stream: stream))
                p.subscribedByThem.remove(stream)
            }
            armGraceIfIdle(p, now: now)
        }
    }

    // MARK: What we receive

    func received(_ m: PeerMessage, on c: PeerChannel) {
        guard let name = c.peerCluster, let p = peers[name], p.channel === c else { return }
        let now = ControlPlane.monotonicMs()
        switch m {
        case .edgeSummary(nil, let edges):
            var fresh: [String: (edge: PeerEdge, updatedMs: UInt64)] = [:]
            for e in edges { fresh[e.nodeId] = (e, now) }
            p.edges = fresh
            remoteDirty = true
        case .edgeSummary(let streams?, let edges):
            merge(p, streams: Set(streams), edges: edges, now: now)
        case .streamAdvertisement(let stream, let edges):
            merge(p, streams: [stream], edges: edges, now: now)
        case .streamEnded(let stream):
            merge(p, streams: [stream], edges: [], now: now)
            p.subscribedByUs.remove(stream)
            armGraceIfIdle(p, now: now)
        case .queryStream(let id, let stream):
            answer(p, c, id: id, stream: stream, now: now)
        case .queryAnswer(let id, let stream, let found, let edges):
            guard let q = queryIds.removeValue(forKey: id), q.peer == name, q.stream == stream else { return }
            let has = found && edges.contains { $0.carries(stream) }
            if has {
                merge(p, streams: [stream], edges: edges, now: now)
                p.subscribedByUs.insert(stream)
            }
            armGraceIfIdle(p, now: now)
            peerAnswered(name, stream: stream, found: has, outcome: has ? "found" : "not_found")
        case .heartbeat(let seq, false):
            c.send(.heartbeat(seq: seq, reply: true))
        case .heartbeat(let seq, true):
            if let sent = p.heartbeatSentNs.removeValue(forKey: seq) {
                p.rttMs = Double(ControlPlane.monotonicNs() &- sent) / 1e6
            }
        case .hello, .auth, .ready, .goodbye:
            break  // handled by the channel
        }
    }

    /// Replaces what `p` said about `streams` with `edges` (each carrying some of them).
    func merge(_ p: Peer, streams: Set<String>, edges: [PeerEdge], now: UInt64) {
        for (id, var entry) in p.edges where entry.edge.streams.contains(where: { streams.contains($0.name) }) {
            entry.edge.streams.removeAll { streams.contains($0.name) }
            p.edges[id] = entry.edge.streams.isEmpty ? nil : entry
        }
        for e in edges {
            var incoming = e
            incoming.streams.removeAll { !streams.contains($0.name) }
            if var existing = p.edges[e.nodeId]?.edge {
                let others = existing.streams
                existing = incoming
                existing.streams = others + incoming.streams
                p.edges[e.nodeId] = (existing, now)
            } else if !incoming.streams.isEmpty {
                p.edges[e.nodeId] = (incoming, now)
            }
        }
        remoteDirty = true
    }

    func answer(_ p: Peer, _ c: PeerChannel, id: UInt64, stream: String, now: UInt64) {
        let carrying = withInputs(routableLocalEdges(), for: stream)
        let found = !carrying.isEmpty
        served[found ? "found" : "not_found", default: 0] += 1
        if found { p.subscribedByThem.insert(stream) }
        c.send(.queryAnswer(id: id, stream: stream, found: found, edges: carrying.map { PeerEdge($0, only: [stream], names: plane.builder.names) }))
        armGraceIfIdle(p, now: now)
    }

    /// Hands every peer's edges (in configured order, by node ID) to the plane: renumbered into
    /// the next snapshot.
    func publishRemoteEdges() {
        remoteDirty = false
        var entries: [(edge: EdgeState, updatedMs: UInt64)] = []
        for name in order {
            guard let p = peers[name] else { continue }
            for (_, entry) in p.edges.sorted(by: { $0.key < $1.key }) { entries.append((entry.edge.edgeState(cluster: name, names: plane.builder.names), entry.updatedMs)) }
        }
        plane.setRemoteEdges(entries)
        if isOwner, let forwardRemote {
            for name in order {
                guard let p = peers[name] else { continue }
                forwardRemote(name, PeerMessage.edgeSummary(streams: nil, edges: p.edges.values.map(\.edge)).payload())
            }
        }
    }

    /// A follower: the owner's current edges of peer `cluster` (replicas), in place of its own.
    public func receiveForwardedRemote(cluster: String, payload: [UInt8]) {
        guard !isOwner, let p = peers[cluster] else { return }
        var refused: [String] = []
        guard case .edgeSummary(nil, let edges)? = try? PeerMessage.decode(.edgeSummary, payload, refused: &refused) else {
            plane.countRejectedInput(source: .replica)
            return
        }
        if !refused.isEmpty { plane.countRejectedInput(source: .replica, refused.count) }
        let now = ControlPlane.monotonicMs()
        var fresh: [String: (edge: PeerEdge, updatedMs: UInt64)] = [:]
        for e in edges { fresh[e.nodeId] = (e, now) }
        p.edges = fresh
        publishRemoteEdges()
    }
}
