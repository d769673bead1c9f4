/// What one routing decision needs besides the snapshot.
public struct ScoringRequest {
    public var stream: Int
    /// The playback record's tenant index (-1: none).
    public var tenant: Int32
    public var viewer: GeoPoint?
    public var tags: CompiledTagAdjustment
    /// Score points: among candidates within this band of the best, pick by
    /// rendezvous hash (0 = exact compatibility, no stickiness).
    public var stickyBand: UInt64
    /// Hash of the client's /24 (IPv4) or /48 (IPv6).
    public var clientHash: UInt64
    /// ``EdgeCapabilities`` every candidate must have (`cap=`; 0 = no filter beyond `edge`).
    public var capabilities: UInt8

    public init(stream: Int, tenant: Int32 = -1, viewer: GeoPoint? = nil, tags: CompiledTagAdjustment = .none,
                stickyBand: UInt64 = 0, clientHash: UInt64 = 0, capabilities: EdgeCapabilities = []) {
        self.capabilities = capabilities.rawValue
        self.stream = stream
        self.tenant = tenant
        self.viewer = viewer
        self.tags = tags
        self.stickyBand = stickyBand
        self.clientHash = clientHash
    }
}

/// The best candidates, best first: at most ``capacity`` edge indices and scores.
public struct TopCandidates: Sendable {
    public static let capacity = 5
    public private(set) var count = 0
    private var indices = InlineArray<5, Int32>(repeating: -1)
    private var scores = InlineArray<5, UInt64>(repeating: 0)
    /// Candidates seen that were excluded, by reason (for metrics).
    public var excluded = InlineArray<16, UInt32>(repeating: 0)
    /// Candidates whose exact score was computed (the rest were pruned by bounds).
    public var scored: UInt32 = 0
    /// Index nodes whose children or members were looked at.
    public var nodesVisited: UInt32 = 0

    public init() {}

    public subscript(i: Int) -> (edge: Int, score: UInt64) { (Int(indices[i]), scores[i]) }

    public var isEmpty: Bool { count == 0 }
    public var worstScore: UInt64 { count == TopCandidates.capacity ? scores[count - 1] : 0 }
    public var isFull: Bool { count == TopCandidates.capacity }

    /// Index of the 5th best (ties below it lose to a lower index).
    public var worstEdge: Int32 { count == TopCandidates.capacity ? indices[count - 1] : Int32.max }

    /// Inserts keeping (score desc, index asc), whatever order candidates arrive in.
    @inline(__always) mutating func insert(edge: Int32, score: UInt64) {
        var pos = count
        while pos > 0 && (scores[pos - 1] < score || (scores[pos - 1] == score && indices[pos - 1] > edge)) { pos -= 1 }
        if pos >= TopCandidates.capacity { return }
        var j = min(count, TopCandidates.capacity - 1)
        while j > pos {
            scores[j] = scores[j - 1]
            indices[j] = indices[j - 1]
            j -= 1
        }
        scores[pos] = score
        indices[pos] = edge
        if count < TopCandidates.capacity { count += 1 }
    }

    /// Moves entry `i` to the front (sticky winner), keeping the others' order.
    mutating func promote(_ i: Int) {
        guard i > 0 && i < count else { return }
        let s = scores[i], e = indices[i]
        var j = i
        while j > 0 { scores[j] = scores[j - 1]; indices[j] = indices[j - 1]; j -= 1 }
        scores[0] = s
        indices[0] = e
    }

    mutating func replaceFront(edge: Int32, score: UInt64) {
        // A sticky winner outside the top 5: it becomes primary, the rest shift down.
        var j = min(count, TopCandidates.capacity - 1)
        while j > 0 { scores[j] = scores[j - 1]; indices[j] = indices[j - 1]; j -= 1 }
        scores[0] = score
        indices[0] = edge
        if count < TopCandidates.capacity { count += 1 }
    }
}

/// One candidate's score broken into terms, for `/debug/score`.
public struct ScoreBreakdown: Sendable {
    public var edge: Int
    public var nodeId: String
    public var cpu: UInt64 = 0
    public var ram: UInt64 = 0
    public var bandwidth: UInt64 = 0
    public var geo: UInt64 = 0
    public var streamBonus: UInt64 = 0
    public var tagAdjustment: Int64 = 0
    public var total: UInt64 = 0
    public var usedBytesPerSec: UInt64 = 0
    public var pendingBytesPerSec: UInt64 = 0
    public var geoDistanceKm: Double?
    public var inputs: UInt32 = 0
    public var exclusion: Exclusion?
    /// The peer cluster of a remote edge ("" for local ones).
    public var cluster: String = ""
    /// Subtracted from a remote edge's raw score (0 for local ones).
    public var crossClusterPenalty: UInt64 = 0
}

/// MistUtilLoad/Foghorn-compatible scoring (docs/SCORING.md):
///
///     score = cpu + ram + bw + geo + streamBonus (+ tag adjustments)
///     cpu   = W_cpu − cpu‰·W_cpu/1000
///     ram   = W_ram − used·W_ram/max
///     bw    = W_bw  − (up + pending)·W_bw/limit      (excluded when up + pending ≥ limit)
///     geo   = W_geo − ⌊W_geo · acos(u_viewer·u_edge)/π⌋   (0 when either position is unknown)
///
/// Worked example (weights 500/500/1000/1000/50): cpu 400‰ → 300, RAM 1 of 5 GB
/// → 400, 0 of 1000 B/s used → 1000, viewer at the edge → 1000, carries the
/// stream → 50: total **2750**.
///
/// The fast path keeps the top 5 by partial selection (no sort, no
/// allocation) and prunes candidates whose best possible score cannot enter
/// it; ``explain(_:_:localPending:)`` computes every term for every candidate
/// with the same arithmetic, so both name the same winner.
public enum Scorer {
    /// Scores the candidates of `request.stream`. `localPending` (bytes/s per
    /// edge index, this loop's own unshipped redirects) may be nil.
    ///
    /// Walks the stream's ``CandidateIndex`` best-first and skips every node whose bound
    /// cannot reach the 5th best; candidates excluded whatever the viewer are counted from
    /// the snapshot's tally. The linear path (every candidate, in edge order) serves streams of
    /// at most ``CandidateIndex/linearMaxCount`` candidates (not indexed), streams
    /// with tenant-reserved edges and loops whose own pending redirects exhaust an edge
    /// (`pendingMayExclude`: ``RoutingSnapshot/pendingExhausts(edge:pending:)``), so every
    /// exclusion is still counted. Both name the same winners and scores.
    public static func top(
        _ s: RoutingSnapshot, _ request: ScoringRequest, localPending: UnsafePointer<UInt64>? = nil,
        pendingMayExclude: Bool = true
    ) -> TopCandidates {
        let index = s.index
        if (index.roots[request.stream] < 0 && !index.isFlat(stream: request.stream)) || index.tenantRestricted[request.stream]
            || (localPending != nil && pendingMayExclude) {
            return linearTop(s, request, localPending: localPending)
        }
        var top = index.isFlat(stream: request.stream)
            ? flatTop(s, request, localPending: localPending) : indexedTop(s, request, localPending: localPending)
        if request.stickyBand > 0 && !top.isEmpty { applySticky(s, request, &top, localPending: localPending) }
        return top
    }

    /// Every candidate in edge order (the reference behaviour ``indexedTop`` must match).
    public static func linearTop(
        _ s: RoutingSnapshot, _ request: ScoringRequest, localPending: UnsafePointer<UInt64>? = nil
    ) -> TopCandidates {
        var top = TopCandidates()
        let stream = s.candidates(of: request.stream)
        let w = s.weights
        let maxGeo = request.viewer != nil ? w.geo : 0
        let maxExtra = UInt64(max(request.tags.maxPositive, 0)) &+ w.streamBonus &+ maxGeo
        let edges = stream.edges, inputs = stream.inputs
        for k in 0..<edges.count {
            let i = Int(edges[k])
            switch score(s, request, edge: i, inputs: inputs[k], localPending: localPending,
                         pruneBelow: top.isFull ? top.worstScore : nil, maxExtra: maxExtra) {
            case .scored(let value): top.scored &+= 1; top.insert(edge: Int32(i), score: value)
            case .excluded(let reason): top.excluded[Int(reason.rawValue)] &+= 1
            case .pruned: break
            }
        }
        if request.stickyBand > 0 && !top.isEmpty { applySticky(s, request, &top, localPending: localPending) }
        return top
    }

    /// The viewer-independent exclusions of `stream`, counted from the snapshot's tally.
    @inline(__always) static func countTally(_ bounds: IndexBounds, stream: Int, into top: inout TopCandidates) {
        var t = Int(bounds.tallyStart[stream])
        let tallyEnd = Int(bounds.tallyStart[stream + 1])
        while t < tallyEnd {
            let item = bounds.tally[t]
            top.excluded[Int(item >> 24)] &+= item & 0xFF_FFFF
            t += 1
        }
    }

    /// Best-first walk of the stream's ``CandidateIndex``: a node is skipped when
    /// `max non-geo part of its members + tag bonus + geo bound of the node` is below the 5th
    /// best so far; a member when its own bound is. Survivors are scored exactly by
    /// ``score(_:_:edge:inputs:localPending:pruneBelow:maxExtra:)``.
    static func indexedTop(_ s: RoutingSnapshot, _ request: ScoringRequest, localPending: UnsafePointer<UInt64>?) -> TopCandidates {
        var top = TopCandidates()
        let bounds = s.bounds
        let stream = request.stream
        countTally(bounds, stream: stream, into: &top)
        let index = s.index
        let root = index.roots[stream]
        guard root >= 0 else { return top }
        let nodes = UnsafePointer(index.nodes.baseAddress.unsafelyUnwrapped)
        let blocks = UnsafePointer(index.blocks.baseAddress.unsafelyUnwrapped)
        let nodeMax = UnsafePointer(bounds.nodeMax.values.baseAddress.unsafelyUnwrapped)
        let extras = max(request.tags.maxPositive, 0)
        let viewer = request.viewer
        let vx = viewer?.x ?? 0, vy = viewer?.y ?? 0, vz = viewer?.z ?? 0
        let hasViewer = viewer != nil
        let bounder = BlockBounder(s, request)

        /// The geo term of any member of `node` is at most this (0 without positions).
        @inline(__always) func nodeGeo(_ node: UnsafePointer<CandidateIndex.Node>) -> Int64 {
            let r = node.pointee.radius
            if !hasViewer || r < 0 { return 0 }
            let dot = vx * node.pointee.cx + vy * node.pointee.cy + vz * node.pointee.cz
            return CandidateIndex.geoBound(weight: s.weights.geo, approximateAngle: GeoTerm.approximateAngle(min(1, max(-1, dot))), radius: r)
        }
        @inline(__always) func below(_ bound: Int64, _ top: TopCandidates) -> Bool {
            top.isFull && bound < Int64(top.worstScore)
        }

        /// Scores the members of a leaf that can still enter the top 5: their bounds four at a
        /// time (``BlockBounder``, as the flat scan), a block skipped with one compare when no
        /// lane reaches the 5th best.
        @inline(__always) func scanLeaf(_ node: UnsafePointer<CandidateIndex.Node>, _ top: inout TopCandidates) {
            let first = Int(node.pointee.start)
            for b in first..<(first &+ (Int(node.pointee.count) &+ 3) >> 2) {
                let value = bounder.bounds(b)
                if top.isFull {
                    let floor = Int64(top.worstScore) &- extras
                    if !any(value .>= SIMD4(repeating: Int32(clamping: floor))) { continue }
                }
                for lane in 0..<4 {
                    let v = value[lane]
                    if v == Int32.min { continue }  // padding, no inputs (tallied) or excluded
                    let e = blocks[b].edge[lane]
                    if top.isFull {
                        let floor = Int64(top.worstScore), bound = Int64(v) &+ extras
                        if bound < floor || (bound == floor && e > top.worstEdge) { continue }
                    }
                    scoreExactly(s, request, edge: e, localPending: localPending, into: &top)
                }
            }
        }
        @inline(__always) func childBound(_ c: Int) -> Int64 {
            Int64(nodeMax[c]) &+ extras &+ nodeGeo(nodes + c)
        }
        /// Depth-first walk of one subtree (only when the frontier heap is full).
        func walk(_ from: Int, _ top: inout TopCandidates) {
            var stack = InlineArray<64, Int32>(repeating: 0)
            var sp = 1
            stack[0] = Int32(from)
            while sp > 0 {
                sp -= 1
                let node = nodes + Int(stack[sp])
                let left = Int(node.pointee.left)
                if left < 0 { scanLeaf(node, &top); continue }
                let right = Int(node.pointee.right)
                if nodeMax[right] != IndexBounds.excluded && !below(childBound(right), top) { stack[sp] = Int32(right); sp += 1 }
                if nodeMax[left] != IndexBounds.excluded && !below(childBound(left), top) { stack[sp] = Int32(left); sp += 1 }
            }
        }

        // Best first: a max-heap of (bound, node) keys; once the best bound left is below the
        // 5th best score, nothing left can enter.
        var heap = InlineArray<128, UInt64>(repeating: 0)
        let heapCapacity = heap.count
        var count = 0
        @inline(__always) func key(_ bound: Int64, _ node: Int) -> UInt64 {
            UInt64(min(max(bound &+ 0x8000_0000, 0), 0xFFFF_FFFF)) << 32 | UInt64(node)
        }
        @inline(__always) func push(_ k: UInt64, _ heap: inout InlineArray<128, UInt64>, _ count: inout Int) {
            var i = count
            count += 1
            while i > 0 {
                let parent = (i - 1) >> 1
                if heap[parent] >= k { break }
                heap[i] = heap[parent]
                i = parent
            }
            heap[i] = k
        }
        @inline(__always) func pop(_ heap: inout InlineArray<128, UInt64>, _ count: inout Int) -> UInt64 {
            let best = heap[0]
            count -= 1
            let last = heap[count]
            var i = 0
            while true {
                var c = 2 * i + 1
                if c >= count { break }
                if c + 1 < count && heap[c + 1] > heap[c] { c += 1 }
                if heap[c] <= last { break }
                heap[i] = heap[c]
                i = c
            }
            if count > 0 { heap[i] = last }
            return best
        }
        push(key(Int64.max, Int(root)), &heap, &count)
        while count > 0 {
            let k = pop(&heap, &count)
            if below(Int64(k >> 32) &- 0x8000_0000, top) { break }
            var n = Int(k & 0xFFFF_FFFF)
            // Down the better child while it is still the best node of the frontier: the same
            // order as popping it, without its push and pop.
            while true {
                let node = nodes + n
                top.nodesVisited &+= 1
                let left = Int(node.pointee.left)
                if left < 0 { scanLeaf(node, &top); break }
                let right = Int(node.pointee.right)
                let leftBound = nodeMax[left] != IndexBounds.excluded ? childBound(left) : Int64.min
                let rightBound = nodeMax[right] != IndexBounds.excluded ? childBound(right) : Int64.min
                let (better, betterBound, other, otherBound) = leftBound >= rightBound
                    ? (left, leftBound, right, rightBound) : (right, rightBound, left, leftBound)
                if otherBound != Int64.min && !below(otherBound, top) {
                    if count < heapCapacity { push(key(otherBound, other), &heap, &count) } else { walk(other, &top) }
                }
                if betterBound == Int64.min || below(betterBound, top) { break }
                let betterKey = key(betterBound, better)
                if count > 0 && betterKey < heap[0] {
                    if count < heapCapacity { push(betterKey, &heap, &count) } else { walk(better, &top) }
                    break
                }
                n = better
            }
        }
        return top
    }

    enum Outcome {
        case scored(UInt64)
        case excluded(Exclusion)
        /// Cannot beat `pruneBelow` (ties lose: candidates come in ascending index order).
        case pruned
    }

    /// One candidate's score with the fast geo term; the single definition the
    /// fast path and stickiness share.
    @inline(__always)
    static func score(_ s: RoutingSnapshot, _ request: ScoringRequest, edge i: Int, inputs: UInt32,
                      localPending: UnsafePointer<UInt64>?, pruneBelow: UInt64?, maxExtra: UInt64) -> Outcome {
        let h = s.hot.baseAddress.unsafelyUnwrapped + i
        let exclusion = h.pointee.exclusion
        if exclusion != 0 { return .excluded(Exclusion(rawValue: exclusion).unsafelyUnwrapped) }
        if inputs == 0 { return .excluded(.streamNoInputs) }
        if h.pointee.capabilities & request.capabilities != request.capabilities { return .excluded(.capability) }
        let tenant = h.pointee.tenant
        if tenant >= 0 && tenant != request.tenant { return .excluded(.tenantMismatch) }
        let pendingHere = localPending?[i] ?? 0
        let used = h.pointee.used &+ pendingHere
        let limit = h.pointee.limit
        if used >= limit { return .excluded(.bandwidthExhausted) }
        let w = s.weights
        let remote = h.pointee.remote
        let hasGeo = request.viewer != nil && h.pointee.geoValid
        let cpuRam = UInt64(h.pointee.cpuRamScore)
        @inline(__always) func dotWithViewer() -> Double {
            guard let v = request.viewer, hasGeo else { return 0 }
            return min(1, max(-1, v.x * h.pointee.ux + v.y * h.pointee.uy + v.z * h.pointee.uz))
        }
        var dot: Double?
        if let floor = pruneBelow {
            // Cheap upper bounds first: the bandwidth term without this loop's pending (no
            // division), then — only if that does not prune — the geo term bounded without acos:
            // geo ≤ W·(1+dot)/2 (+2) for dot ≥ 0 (acos is concave there, so acos(x)/π ≥ (1−x)/2),
            // ≤ W/2 (+2) for dot < 0 (the angle is ≥ π/2).
            var bound = cpuRam &+ UInt64(h.pointee.bwBase) &+ maxExtra
            if remote { bound = bound > ScoringWeights.crossClusterPenalty ? bound &- ScoringWeights.crossClusterPenalty : 0 }
            if bound <= floor { return .pruned }
            if hasGeo {
                let d = dotWithViewer()
                dot = d
                // Int64 conversion: one instruction (UInt64(Double) is a branchy sequence on x86).
                let geoBound = d >= 0 ? UInt64(bitPattern: Int64(Double(w.geo) * (1 + d) * 0.5)) &+ 2 : (w.geo >> 1) &+ 2
                if geoBound < w.geo && bound &- (w.geo &- geoBound) <= floor { return .pruned }
            }
        }
        let bandwidth = pendingHere == 0 ? UInt64(h.pointee.bwBase)
            : (remote ? w.remoteBandwidthScore(available: limit &- used) : w.bandwidthScore(used: used, limit: limit))
        var total = cpuRam &+ bandwidth &+ (remote ? 0 : w.streamBonus)
        if hasGeo { total &+= GeoTerm.fast(weight: w.geo, dot: dot ?? dotWithViewer()) }
        if remote {
            if total <= ScoringWeights.crossClusterPenalty { return .excluded(.belowCrossClusterPenalty) }
            total &-= ScoringWeights.crossClusterPenalty
        }
        if !request.tags.masks.isEmpty {
            total = TagAdjustment.apply(request.tags.total(tagBits: h.pointee.tagBits, edge: i, of: s), to: total)
        }
        if total == 0 { return .excluded(.adjustedToZero) }
        return .scored(total)
    }

    /// Rendezvous weight of (client, stream, node): the highest wins.
    @inline(__always) static func rendezvous(_ client: UInt64, _ stream: UInt64, _ node: UInt64) -> UInt64 {
        var z = client ^ (stream &* 0x9E37_79B9_7F4A_7C15) ^ (node &* 0xC2B2_AE3D_27D4_EB4F)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Among every candidate within `stickyBand` of the best, the one with the
    /// highest rendezvous weight for this client network becomes primary.
    private static func applySticky(_ s: RoutingSnapshot, _ request: ScoringRequest, _ top: inout TopCandidates, localPending: UnsafePointer<UInt64>?) {
        let best = top[0].score
        let floor = best > request.stickyBand ? best - request.stickyBand : 1
        let streamHash = s.streams[request.stream].nameHash
        var winner = -1
        var winnerWeight: UInt64 = 0
        var winnerScore: UInt64 = 0
        let maxGeo = request.viewer != nil ? s.weights.geo : 0
        let maxExtra = UInt64(max(request.tags.maxPositive, 0)) &+ s.weights.streamBonus &+ maxGeo
        let stream = s.candidates(of: request.stream)
        for k in 0..<stream.edges.count {
            let i = Int(stream.edges[k])
            // Prune what cannot reach the band (strictly below floor).
            guard case .scored(let value) = score(s, request, edge: i, inputs: stream.inputs[k], localPending: localPending,
                                                  pruneBelow: floor > 0 ? floor - 1 : nil, maxExtra: maxExtra),
                  value >= floor else { continue }
            let weight = rendezvous(request.clientHash, streamHash, s.nodeHash[i])
            if winner < 0 || weight > winnerWeight || (weight == winnerWeight && i < winner) {
                winner = i
                winnerWeight = weight
                winnerScore = value
            }
        }
        guard winner >= 0 else { return }
        for i in 0..<top.count where top[i].edge == winner {
            top.promote(i)
            return
        }
        top.replaceFront(edge: Int32(winner), score: winnerScore)
    }

    /// Every candidate of the stream with each term and its exclusion, in edge order.
    public static func candidates(_ s: RoutingSnapshot, _ request: ScoringRequest, localPending: UnsafePointer<UInt64>? = nil) -> [ScoreBreakdown] {
        let stream = s.candidates(of: request.stream)
        let w = s.weights
        var out: [ScoreBreakdown] = []
        out.reserveCapacity(stream.edges.count)
        for k in 0..<stream.edges.count {
            let i = Int(stream.edges[k])
            var b = ScoreBreakdown(edge: i, nodeId: s.nodeIds[i])
            b.inputs = stream.inputs[k]
            let pendingLocal = localPending?[i] ?? 0
            let h = s.hot[i]
            b.pendingBytesPerSec = s.pending[i] &+ pendingLocal
            b.usedBytesPerSec = h.used &+ pendingLocal
            b.cpu = w.cpuScore(permille: s.edges[i].cpuPermille)
            b.ram = w.ramScore(used: s.edges[i].ramUsedBytes, max: s.edges[i].ramMaxBytes)
            if let v = request.viewer, h.geoValid {
                let dot = min(1, max(-1, v.x * h.ux + v.y * h.uy + v.z * h.uz))
                b.geo = GeoTerm.exact(weight: w.geo, dot: dot)
                b.geoDistanceKm = 6371 * acosDouble(dot)
            }
            if h.exclusion != 0 {
                b.exclusion = Exclusion(rawValue: h.exclusion)
            } else if stream.inputs[k] == 0 {
                b.exclusion = .streamNoInputs
            } else if h.capabilities & request.capabilities != request.capabilities {
                b.exclusion = .capability
            } else if h.tenant >= 0 && h.tenant != request.tenant {
                b.exclusion = .tenantMismatch
            } else if b.usedBytesPerSec >= h.limit {
                b.exclusion = .bandwidthExhausted
            }
            b.cluster = s.edges[i].remoteCluster
            if b.exclusion == nil {
                var raw: UInt64
                if h.remote {
                    b.bandwidth = w.remoteBandwidthScore(available: h.limit &- b.usedBytesPerSec)
                    raw = b.cpu &+ b.ram &+ b.bandwidth &+ b.geo
                    b.crossClusterPenalty = ScoringWeights.crossClusterPenalty
                    if raw <= b.crossClusterPenalty {
                        b.exclusion = .belowCrossClusterPenalty
                        out.append(b)
                        continue
                    }
                    raw -= b.crossClusterPenalty
                } else {
                    b.bandwidth = w.bandwidthScore(used: b.usedBytesPerSec, limit: h.limit)
                    b.streamBonus = w.streamBonus
                    raw = b.cpu &+ b.ram &+ b.bandwidth &+ b.geo &+ b.streamBonus
                }
                b.tagAdjustment = request.tags.total(tagBits: h.tagBits, edge: i, of: s)
                b.total = request.tags.masks.isEmpty ? raw : TagAdjustment.apply(b.tagAdjustment, to: raw)
                if b.total == 0 { b.exclusion = .adjustedToZero }
            }
            out.append(b)
        }
        return out
    }

    /// The explain path: every candidate, plus the winner and fallbacks chosen
    /// exactly as ``top(_:_:localPending:)`` would.
    public static func explain(_ s: RoutingSnapshot, _ request: ScoringRequest, localPending: UnsafePointer<UInt64>? = nil)
        -> (candidates: [ScoreBreakdown], ranking: [Int])
    {
        let all = candidates(s, request, localPending: localPending)
        var ranked = all.filter { $0.exclusion == nil }
        ranked.sort { $0.total != $1.total ? $0.total > $1.total : $0.edge < $1.edge }
        var ranking = ranked.prefix(TopCandidates.capacity).map(\.edge)
        if request.stickyBand > 0, let best = ranked.first {
            let floor = best.total > request.stickyBand ? best.total - request.stickyBand : 1
            let streamHash = s.streams[request.stream].nameHash
            var winner = -1
            var winnerWeight: UInt64 = 0
            for b in ranked where b.total >= floor {
                let weight = rendezvous(request.clientHash, streamHash, s.nodeHash[b.edge])
                if winner < 0 || weight > winnerWeight || (weight == winnerWeight && b.edge < winner) {
                    winner = b.edge
                    winnerWeight = weight
                }
            }
            if let pos = ranking.firstIndex(of: winner) {
                ranking.remove(at: pos)
            } else if ranking.count == TopCandidates.capacity {
                ranking.removeLast()
            }
            ranking.insert(winner, at: 0)
        }
        return (all, ranking)
    }
}
