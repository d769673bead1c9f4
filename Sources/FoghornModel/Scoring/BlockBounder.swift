/// Bounds of four candidates at once (a ``CandidateIndex/FlatBlock``) for one request: each
/// lane's edge's best non-geo part (``IndexBounds/BlockBase``, precomputed per snapshot) plus
/// the geo term at the nearest its Float vector can be — W when within ``angleMargin`` of the
/// viewer, else W − (angle − margin)·W/π, + 3 (the exact term's floor, this bound's rounding)
/// + W·1e-6 (Float rounding of values up to W ≤ ScoringWeights.maxWeight < 2^23). The
/// request's tag bonus is not included (the same for every lane). Lanes that cannot be scored (padding, no inputs, excluded edges) are `Int32.min`.
///
/// (The generic SIMD helpers — pointwiseMax, clamped, vector conversions, `squareRoot()` — are
/// not specialized here and cost more than scalar code; arithmetic, masks and bit operations are.)
struct BlockBounder {
    /// Angle (radians) subtracted from the SIMD lanes' `acos` approximation so their geo bound
    /// stays above the exact term: the polynomial's error (7e-5), the Float unit vectors'
    /// rounding (``CandidateIndex/floatAngleError``), the Float dot product's (≤ 4e-7 in the
    /// dot: ≤ 6.4e-4 rad next to ±1, where acos is steepest) and the approximate square root's
    /// (relative ≤ 5e-6: ≤ 1.2e-5 rad), with room to spare.
    static let angleMargin: Float = Float(7e-5 + CandidateIndex.floatAngleError + 1e-3)

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
        margin = SIMD4(repeating: BlockBounder.angleMargin)
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
