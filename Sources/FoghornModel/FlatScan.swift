extension Scorer {
    /// Angle (radians) subtracted from the SIMD lanes' `acos` approximation so their geo bound
    /// stays above the exact term: the polynomial's error (7e-5), the Float unit vectors'
    /// rounding (``CandidateIndex/floatAngleError``), the Float dot product's (≤ 4e-7 in the
    /// dot: ≤ 6.4e-4 rad next to ±1, where acos is steepest) and the approximate square root's
    /// (relative ≤ 5e-6: ≤ 1.2e-5 rad), with room to spare.
    static let flatAngleMargin: Float = Float(7e-5 + CandidateIndex.floatAngleError + 1e-3)

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
    /// enter and is scored; 2,700 and below are not. Same winners and scores as ``linearTop(_:_:localPending:)``.
    static func flatTop(_ s: RoutingSnapshot, _ request: ScoringRequest, localPending: UnsafePointer<UInt64>?) -> TopCandidates {
        var top = TopCandidates()
        let stream = request.stream
        countTally(s.bounds, stream: stream, into: &top)
        top.nodesVisited = 1
        let index = s.index
        let first = Int(index.blockStart[stream])
        let blocks = UnsafePointer(index.blocks.baseAddress.unsafelyUnwrapped) + first
        let blockCount = Int(index.blockStart[stream + 1] - index.blockStart[stream])
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
        @inline(__always) func exact(_ m: Int, _ top: inout TopCandidates) {
            let e = blocks[m >> 2].edge[m & 3]
            top.scored &+= 1
            switch score(s, request, edge: Int(e), inputs: 1, localPending: localPending, pruneBelow: nil, maxExtra: 0) {
            case .scored(let value): top.insert(edge: e, score: value)
            case .excluded(let reason): top.excluded[Int(reason.rawValue)] &+= 1
            case .pruned: break
            }
        }
        // Blocks with no lane at the threshold are skipped with one vector compare.
        let fifthLanes = SIMD4<Int32>(repeating: fifth)
        for b in 0..<blockCount {
            let value = bound[b]
            guard any(value .>= fifthLanes) else { continue }
            for lane in 0..<4 where value[lane] != skip && value[lane] >= fifth { exact(b &* 4 &+ lane, &top) }
        }
        guard fifth != skip else { return top }
        for b in 0..<blockCount {
            let value = bound[b]
            // Members still able to enter: bound + extras ≥ the 5th best score (ties: below).
            let floor = top.isFull ? Int64(top.worstScore) &- extras : Int64(skip) &+ 1
            let floorLanes = SIMD4<Int32>(repeating: Int32(clamping: floor))
            guard any((value .>= floorLanes) .& (value .< fifthLanes)) else { continue }
            for lane in 0..<4 {
                let v = value[lane]
                if v == skip || v >= fifth { continue }
                if top.isFull {
                    let floor = Int64(top.worstScore)
                    let full = Int64(v) &+ extras
                    if full < floor || (full == floor && blocks[b].edge[lane] > top.worstEdge) { continue }
                }
                exact(b &* 4 &+ lane, &top)
            }
        }
        return top
    }
}

/// Bounds of four candidates at once (a ``CandidateIndex/FlatBlock``) for one request: each
/// lane's edge's best non-geo part (``IndexBounds/BlockBase``, precomputed per snapshot) plus
/// the geo term at the nearest its Float vector can be — W when within the margin of the
/// viewer, else W − (angle − margin)·W/π, + 3
/// (the exact term's floor, this bound's rounding) + W·1e-6 (Float rounding of values up to
/// W ≤ ScoringWeights.maxWeight < 2^23). The request's tag bonus is not included (the same for
/// every lane). Lanes that cannot be scored (padding, no inputs, excluded edges) are `Int32.min`.
///
/// (The generic SIMD helpers — pointwiseMax, clamped, vector conversions, `squareRoot()` — are
/// not specialized here and cost more than scalar code; arithmetic, masks and bit operations are.)
struct BlockBounder {
    let blocks: UnsafePointer<CandidateIndex.FlatBlock>
    /// Each block's lanes' best non-geo part (``IndexBounds/BlockBase``).
    let blockBase: UnsafePointer<SIMD4<Int32>>
    let hasViewer: Bool
    let vx: SIMD4<Float>, vy: SIMD4<Float>, vz: SIMD4<Float>
    let full: SIMD4<Float>, wOverPi: SIMD4<Float>, slack: SIMD4<Float>, margin: SIMD4<Float>

    init(_ s: RoutingSnapshot, _ request: ScoringRequest) {
        blocks = UnsafePointer(s.index.blocks.baseAddress.unsafelyUnwrapped)
        blockBase = UnsafePointer(s.bounds.blockBase.values.baseAddress.unsafelyUnwrapped)
        hasViewer = request.viewer != nil
        vx = SIMD4(repeating: Float(request.viewer?.x ?? 0))
        vy = SIMD4(repeating: Float(request.viewer?.y ?? 0))
        vz = SIMD4(repeating: Float(request.viewer?.z ?? 0))
        let wF = Float(s.weights.geo)
        full = SIMD4(repeating: wF)
        wOverPi = SIMD4(repeating: wF / Float.pi)
        slack = SIMD4(repeating: 3 + wF * 1e-6)
        margin = SIMD4(repeating: Scorer.flatAngleMargin)
    }

    /// Block `b` of the index's blocks.
    @_transparent func bounds(_ b: Int) -> SIMD4<Int32> {
        let block = blocks + b
        let one = SIMD4<Float>(repeating: 1), zero = SIMD4<Float>(repeating: 0)
        var geo = SIMD4<Int32>(repeating: 0)
        if hasViewer {
            let dot = vx * block.pointee.x + vy * block.pointee.y + vz * block.pointee.z
            let negative = dot .< zero
            var a = unsafeBitCast(unsafeBitCast(dot, to: SIMD4<UInt32>.self) & 0x7FFF_FFFF, to: SIMD4<Float>.self)
            a.replace(with: one, where: a .> one)
            // GeoTerm.approximateAngle, four lanes.
            let poly = ((SIMD4<Float>(repeating: -0.0187293) * a + 0.0742610) * a - 0.2121144) * a + 1.5707288
            var angle = SIMD4<Float>.approximateSquareRoot(one - a) * poly
            angle.replace(with: Float.pi - angle, where: negative)
            let beyond = angle - margin
            var g = full - beyond * wOverPi + slack
            g.replace(with: full, where: beyond .<= zero)
            // To Int32 without per-lane conversions: for 0 ≤ g < 2^23, g + 2^23 keeps the exponent
            // of 2^23 and its mantissa is g rounded to nearest (≥ g − 0.5: the slack has room).
            let magic = SIMD4<Float>(repeating: 8_388_608)
            geo = unsafeBitCast(g + magic, to: SIMD4<Int32>.self) &- unsafeBitCast(magic, to: SIMD4<Int32>.self)
        }
        // Padding, no inputs (tallied) and excluded edges: `excluded` (Int32.min) in the base.
        let base = blockBase[b]
        return (base &+ geo).replacing(with: Int32.min, where: base .== SIMD4(repeating: IndexBounds.excluded))
    }
}

extension SIMD4 where Scalar == Float {
    /// √x for 0 ≤ x ≤ 1 in four lanes without a square root instruction per lane (Swift lowers
    /// `squareRoot()` on vectors to four scalar calls with a negative-input branch each): the
    /// bit-level reciprocal square root estimate (relative error ≤ 3.5 %) refined by two Newton
    /// steps (≤ 5e-6), times x. Exact 0 for x = 0 (the estimate stays finite).
    ///
    /// Example: x = 0.25 → estimate ≈ 1.9967, refined ≈ 2.0000, √x ≈ 0.5000.
    @inline(__always) static func approximateSquareRoot(_ x: SIMD4<Float>) -> SIMD4<Float> {
        let bits = unsafeBitCast(x, to: SIMD4<UInt32>.self)
        var y = unsafeBitCast(SIMD4<UInt32>(repeating: 0x5F37_59DF) &- (bits &>> 1), to: SIMD4<Float>.self)
        let halfX = 0.5 * x
        // (halfX · y) · y: 0 for x = 0 before y · y could overflow.
        y = y * (1.5 - halfX * y * y)
        y = y * (1.5 - halfX * y * y)
        return x * y
    }
}
