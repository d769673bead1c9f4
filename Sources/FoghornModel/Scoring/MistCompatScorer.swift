/// MistUtilLoad's own selection rules, for the drop-in compatible API
/// (`GET /<stream>`, `/?source=`, `/?ingest=`). Unlike `/play`, every online
/// node is a candidate (a Mist edge pulls a stream it lacks through the
/// balancer); carrying the stream earns the bonus. Same terms and weights as
/// ``Scorer``; ties go to the lowest node ID.
public enum MistCompatScorer {
    public enum Mode: Sendable, Equatable {
        /// `GET /<stream>`: any online node; `W_bonus` if it carries the stream.
        case viewer
        /// `/?source=`: only nodes with a live, non-replicated input, never the requester;
        /// full or metric-less nodes score 1 (last resort); +1 instead of the bonus.
        case source(requesterHost: String?)
        /// `/?ingest=<cpu%>`: nodes where cpu‰ + 10·pct < 1000.
        case ingest(cpuPercent: UInt64)
    }

    public static func best(
        _ s: RoutingSnapshot, stream name: String?, mode: Mode, viewer: GeoPoint?, tags: CompiledTagAdjustment,
        localPending: UnsafePointer<UInt64>? = nil
    ) -> (edge: Int, score: UInt64)? {
        let w = s.weights
        let entry = name.flatMap { s.streamIndex(named: $0) }.map { s.candidates(of: $0) }
        // Source mode reads the replicated flag per edge: resolve the name once (that takes the
        // name table's lock; source queries come from the control loop, never a data loop).
        var sourceStreamId: Int32?
        if case .source = mode, let name { sourceStreamId = s.names.existingId(for: name) }
        var k = 0  // cursor into entry.edges (ascending, like i)
        var best: (edge: Int, score: UInt64)?
        for i in 0..<s.edgeCount {
            var carries = false
            var inputs: UInt32 = 0
            if let entry {
                while k < entry.edges.count && Int(entry.edges[k]) < i { k += 1 }
                if k < entry.edges.count && Int(entry.edges[k]) == i {
                    inputs = entry.inputs[k]
                    carries = entry.inputs[k] > 0 || entry.hasViewers(k)
                }
            }
            let h = s.hot[i]
            var lastResort = false
            switch h.exclusion {
            case 0: break
            case Exclusion.noMetrics.rawValue:
                if case .source = mode { lastResort = true } else { continue }
            default: continue
            }
            // Read edge fields in place (no copy of the whole EdgeState per node).
            if let name, !s.edges[i].configStreams.isEmpty, !allowed(name, s.edges[i].configStreams) { continue }
            switch mode {
            case .viewer:
                break
            case .source(let requester):
                guard inputs > 0, let id = sourceStreamId, !(s.edges[i].stats(forId: id)?.replicated ?? false) else { continue }
                if let requester, hostOf(s.edges[i]) == requester { continue }
            case .ingest(let pct):
                if s.edges[i].cpuPermille + pct * 10 >= 1000 { continue }
            }
            let used = h.used &+ (localPending?[i] ?? 0)
            var score: UInt64
            if lastResort || used >= h.limit {
                if case .source = mode { score = 1 } else { continue }
            } else {
                score = UInt64(h.cpuRamScore) &+ w.bandwidthScore(used: used, limit: h.limit)
                if let v = viewer, h.geoValid {
                    let dot = min(1, max(-1, v.x * h.ux + v.y * h.uy + v.z * h.uz))
                    score &+= GeoTerm.fast(weight: w.geo, dot: dot)
                }
                switch mode {
                case .viewer: if carries { score &+= w.streamBonus }
                case .source, .ingest: score &+= 1
                }
                if !tags.masks.isEmpty { score = TagAdjustment.apply(tags.total(tagBits: h.tagBits, edge: i, of: s), to: score) }
                if score == 0 { continue }
            }
            if best == nil || score > best!.score { best = (i, score) }
        }
        return best
    }

    /// `conf_streams`: the name itself, or its base (before the first `+` or space).
    static func allowed(_ name: String, _ list: [String]) -> Bool {
        if list.contains(name) { return true }
        let base = name.split(whereSeparator: { $0 == "+" || $0 == " " }).first.map(String.init) ?? name
        return list.contains(base)
    }

    /// The host part of an edge's base URL (what MistUtilLoad answers).
    public static func hostOf(_ edge: EdgeState) -> String {
        if !edge.publicHost.isEmpty { return edge.publicHost }
        return URLParts.parse(edge.baseURL)?.host ?? edge.nodeId
    }
}
