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

    /// `best` by stream name (the control loop's `?source=`/`?ingest=`).
    public static func best(
        _ s: RoutingSnapshot, stream name: String?, mode: Mode, viewer: GeoPoint?, tags: CompiledTagAdjustment,
        capabilities: EdgeCapabilities = [], localPending: UnsafePointer<UInt64>? = nil
    ) -> (edge: Int, score: UInt64)? {
        guard var text = name else {
            return best(s, slot: nil, name: nil, mode: mode, viewer: viewer, tags: tags, capabilities: capabilities, localPending: localPending)
        }
        // Source mode reads the replicated flag per edge: resolve the name once (that takes the
        // name table's lock; source queries come from the control loop, never a data loop).
        var sourceStreamId: Int32?
        if case .source = mode { sourceStreamId = s.names.existingId(for: text) }
        let slot = s.streamIndex(named: text)
        return text.withUTF8 { bytes in
            best(s, slot: slot, name: UnsafeRawBufferPointer(bytes), sourceStreamId: sourceStreamId, mode: mode, viewer: viewer, tags: tags,
                 capabilities: capabilities, localPending: localPending)
        }
    }

    /// The best node for stream slot `slot` (nil: no edge carries it) named `name` (nil: no
    /// stream, `?ingest=`), or nil when none qualifies. One pass over the snapshot's hot rows in
    /// edge order (every node is a candidate here, not only the stream's carriers); an edge's
    /// full state is read only for a qualifying node that lists `conf_streams`. Allocates nothing.
    /// `capabilities`: `cap=`, every one required.
    public static func best(
        _ s: RoutingSnapshot, slot: Int?, name: UnsafeRawBufferPointer?, sourceStreamId: Int32? = nil, mode: Mode,
        viewer: GeoPoint?, tags: CompiledTagAdjustment, capabilities: EdgeCapabilities = [],
        localPending: UnsafePointer<UInt64>? = nil
    ) -> (edge: Int, score: UInt64)? {
        let w = s.weights
        let entry = slot.map { s.candidates(of: $0) }
        let required = capabilities.rawValue
        let isViewer = mode == .viewer
        var ingestPercent: UInt64 = 0
        var requester: String?
        var isSource = false
        switch mode {
        case .viewer: break
        case .ingest(let pct): ingestPercent = pct
        case .source(let r): requester = r; isSource = true
        }
        let hasViewer = viewer != nil
        let vx = viewer?.x ?? 0, vy = viewer?.y ?? 0, vz = viewer?.z ?? 0
        let hot = s.hot.baseAddress.unsafelyUnwrapped
        let maxExtra = (hasViewer ? w.geo : 0) &+ max(w.streamBonus, 1) &+ UInt64(max(tags.maxPositive, 0))
        // Cursor into the stream's candidates (ascending edge indices), moved forward only for
        // nodes still in the running: carrying is looked at after the cheaper bounds.
        var cursor = 0
        @inline(__always) func candidatePosition(_ i: Int) -> Int {
            guard let entry else { return -1 }
            let n = entry.edges.count
            while cursor < n && Int(entry.edges[cursor]) < i { cursor &+= 1 }
            return cursor < n && Int(entry.edges[cursor]) == i ? cursor : -1
        }
        var bestEdge = -1
        var bestScore: UInt64 = 0
        for i in 0..<s.edgeCount {
            let h = hot + i
            if h.pointee.remote { continue }  // a peer cluster's edge: MistUtilLoad's balancer knows its own nodes only
            var lastResort = false
            switch h.pointee.exclusion {
            case 0: break
            case Exclusion.noMetrics.rawValue:
                if isSource { lastResort = true } else { continue }
            case Exclusion.capability.rawValue:
                // Not a viewer edge: still a source or an ingest node (then only `cap=` decides).
                if isViewer { continue }
            default: continue
            }
            if h.pointee.capabilities & required != required { continue }
            let pendingHere = localPending?[i] ?? 0
            let used = h.pointee.used &+ pendingHere
            var score: UInt64
            let exhausted = lastResort || used >= h.pointee.limit
            if exhausted {
                guard isSource else { continue }
                score = 1
            } else {
                score = UInt64(h.pointee.cpuRamScore) &+ (pendingHere == 0 ? UInt64(h.pointee.bwBase) : w.bandwidthScore(used: used, limit: h.pointee.limit))
                // Cannot beat the best so far even with the full geo term, bonus and tag bonus
                // (ties lose to the lower index): nothing else about this node is looked at.
                if bestEdge >= 0 && score &+ maxExtra <= bestScore { continue }
                if hasViewer && h.pointee.geoValid {
                    let dot = min(1, max(-1, vx * h.pointee.ux + vy * h.pointee.uy + vz * h.pointee.uz))
                    if bestEdge >= 0 {
                        // The geo term without acos, bounded as ``Scorer`` does: ≤ W·(1+dot)/2 (+2)
                        // for dot ≥ 0 (acos(x)/π ≥ (1−x)/2 there), ≤ W/2 (+2) for dot < 0.
                        let geoBound = dot >= 0 ? UInt64(bitPattern: Int64(Double(w.geo) * (1 + dot) * 0.5)) &+ 2 : (w.geo >> 1) &+ 2
                        if geoBound < w.geo && score &+ maxExtra &- (w.geo &- geoBound) <= bestScore { continue }
                    }
                    score &+= GeoTerm.fast(weight: w.geo, dot: dot)
                }
            }
            let k = candidatePosition(i)
            let inputs: UInt32 = k >= 0 ? entry.unsafelyUnwrapped.inputs[k] : 0
            if isSource {
                guard inputs > 0, let id = sourceStreamId, !(s.edges[i].stats(forId: id)?.replicated ?? false) else { continue }
                if let requester, hostOf(s.edges[i]) == requester { continue }
            } else if !isViewer {
                if s.edges[i].cpuPermille &+ ingestPercent &* 10 >= 1000 { continue }
            }
            if !exhausted {
                if isViewer {
                    if k >= 0 && (inputs > 0 || entry.unsafelyUnwrapped.hasViewers(k)) { score &+= w.streamBonus }
                } else {
                    score &+= 1
                }
                if !tags.masks.isEmpty { score = TagAdjustment.apply(tags.total(tagBits: h.pointee.tagBits, edge: i, of: s), to: score) }
                if score == 0 { continue }
            }
            // Only a node that would win pays for its `conf_streams` check.
            if score > bestScore || bestEdge < 0 {
                if let name, !s.edges[i].configStreams.isEmpty, !allowed(name, s.edges[i].configStreams) { continue }
                bestEdge = i
                bestScore = score
            }
        }
        return bestEdge < 0 ? nil : (bestEdge, bestScore)
    }

    /// `conf_streams`: the name itself, or its base (before the first `+` or space).
    static func allowed(_ name: String, _ list: [String]) -> Bool {
        var text = name
        return text.withUTF8 { allowed(UnsafeRawBufferPointer($0), list) }
    }

    static func allowed(_ name: UnsafeRawBufferPointer, _ list: [String]) -> Bool {
        var baseEnd = 0
        while baseEnd < name.count && name[baseEnd] != UInt8(ascii: "+") && name[baseEnd] != UInt8(ascii: " ") { baseEnd &+= 1 }
        let base = UnsafeRawBufferPointer(rebasing: name[..<baseEnd])
        for item in list {
            var entry = item
            let match = entry.withUTF8 { e in
                let e = UnsafeRawBufferPointer(e)
                return e.elementsEqual(name) || (baseEnd > 0 && e.elementsEqual(base))
            }
            if match { return true }
        }
        return false
    }

    /// The host part of an edge's base URL (what MistUtilLoad answers).
    public static func hostOf(_ edge: EdgeState) -> String {
        if !edge.publicHost.isEmpty { return edge.publicHost }
        return URLParts.parse(edge.baseURL)?.host ?? edge.nodeId
    }
}
