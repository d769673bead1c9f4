extension Scorer {
    /// Top 5 of a stream stored as ``CandidateIndex/FlatBlock``s
    /// (``CandidateIndex/linearMaxCount`` < candidates ≤ ``CandidateIndex/flatMaxCount``).
    ///
    /// 1. Every member's bound — its edge's best non-geo part (``IndexBounds``) + the tag bonus +
    ///    the geo term at the nearest its Float vector can be — four lanes at a time, and a
    ///    threshold at most the 5th best bound (the 5th best of each lane's two best).
    /// 2. Exact scores (``score(_:_:edge:inputs:localPending:pruneBelow:maxExtra:)``) for the
    ///    members bounded at or above that threshold: at least five when there are.
    /// 3. Exact scores for any other member whose bound still reaches the 5th best *score*
    ///    (a tie at it loses to the lower edge index, as everywhere).
    ///
    /// Worked example (weights 500/500/1000/1000/50): bounds 2,950, 2,900, 2,880, 2,870,
    /// 2,860, 2,800, 2,700, …, threshold 2,860: the five bounded ≥ 2,860 are scored exactly,
    /// say the 5th best is then 2,790; of the rest only the member bounded 2,800 can still
    /// enter and is scored; 2,700 and below are not. Same winners and scores as
    /// ``linearTop(_:_:localPending:)``.
    static func flatTop(_ s: RoutingSnapshot, _ request: ScoringRequest, localPending: UnsafePointer<UInt64>?) -> TopCandidates {
        var top = TopCandidates()
        let stream = request.stream
        countTally(s.bounds, stream: stream, into: &top)
        top.nodesVisited = 1
        let index = s.index
        let range = index.blockRanges[stream]
        let first = Int(range.start)
        let blocks = UnsafePointer(index.blocks.baseAddress.unsafelyUnwrapped) + first
        let blockCount = Int(range.end &- range.start)
        let extras = max(request.tags.maxPositive, 0)
        let skip = Int32.min
        // 256 candidates = 64 blocks (flatMaxCount).
        var bound = InlineArray<64, SIMD4<Int32>>(repeating: SIMD4(repeating: skip))
        // Per lane, the best and second best bound (branch-free): eight distinct members' bounds,
        // whose 5th best is at most the stream's 5th best bound — a threshold that still has at
        // least five members at or above it. (Any threshold is exact: pass 3 scores whatever
        // below it can still enter; a lower one only scores a few more members in pass 2.)
        var bestPerLane = SIMD4<Int32>(repeating: skip), secondPerLane = SIMD4<Int32>(repeating: skip)
        let bounder = BlockBounder(s, request)
        for b in 0..<blockCount {
            let value = bounder.bounds(first &+ b)
            bound[b] = value
            let higher = value .> bestPerLane
            secondPerLane.replace(with: value, where: .!higher .& (value .> secondPerLane))
            secondPerLane.replace(with: bestPerLane, where: higher)
            bestPerLane.replace(with: value, where: higher)
        }
        var eight = InlineArray<8, Int32>(repeating: skip)
        for lane in 0..<4 { eight[lane] = bestPerLane[lane]; eight[4 &+ lane] = secondPerLane[lane] }
        // Insertion sort, descending (eight values).
        for i in 1..<8 {
            let v = eight[i]
            var k = i
            while k > 0 && eight[k - 1] < v { eight[k] = eight[k - 1]; k -= 1 }
            eight[k] = v
        }
        let fifth = eight[4]
        guard fifth != skip || eight[0] != skip else { return top }
        // Pass 2. Blocks with no lane at the threshold are skipped with one vector compare.
        let fifthLanes = SIMD4<Int32>(repeating: fifth)
        for b in 0..<blockCount {
            let value = bound[b]
            guard any(value .>= fifthLanes) else { continue }
            for lane in 0..<4 where value[lane] != skip && value[lane] >= fifth {
                scoreExactly(s, request, edge: blocks[b].edge[lane], localPending: localPending, into: &top)
            }
        }
        guard fifth != skip else { return top }
        // Pass 3: what was bounded below the threshold but can still enter.
        for b in 0..<blockCount {
            let value = bound[b]
            let floor = top.isFull ? Int64(top.worstScore) &- extras : Int64(skip) &+ 1
            let floorLanes = SIMD4<Int32>(repeating: Int32(clamping: floor))
            guard any((value .>= floorLanes) .& (value .< fifthLanes)) else { continue }
            for lane in 0..<4 {
                let v = value[lane]
                if v == skip || v >= fifth { continue }
                let e = blocks[b].edge[lane]
                if top.isFull {
                    let worst = Int64(top.worstScore), full = Int64(v) &+ extras
                    if full < worst || (full == worst && e > top.worstEdge) { continue }
                }
                scoreExactly(s, request, edge: e, localPending: localPending, into: &top)
            }
        }
        return top
    }

    /// Scores `edge` exactly and offers it to `top` (an exclusion is counted instead).
    @inline(__always) static func scoreExactly(_ s: RoutingSnapshot, _ request: ScoringRequest, edge e: Int32,
                                               localPending: UnsafePointer<UInt64>?, into top: inout TopCandidates) {
        top.scored &+= 1
        switch score(s, request, edge: Int(e), inputs: 1, localPending: localPending, pruneBelow: nil, maxExtra: 0) {
        case .scored(let value): top.insert(edge: e, score: value)
        case .excluded(let reason): top.excluded[Int(reason.rawValue)] &+= 1
        case .pruned: break
        }
    }
}
