/// The fields the scoring loop reads for one edge, packed into one 64-byte
/// cache line. Candidates of a stream are visited by index, so one line per
/// candidate beats one line per field.
public struct EdgeHot: Sendable {
    public var ux: Double
    public var uy: Double
    public var uz: Double
    /// cpu + ram terms under the snapshot's weights (≤ 2·10⁶: weights are capped at 10⁶).
    public var cpuRamScore: UInt32
    /// The bandwidth term at `used` (this loop's own unshipped redirects not included): an
    /// upper bound of the exact term, and the exact term while the loop has none pending.
    public var bwBase: UInt32
    /// Up bandwidth plus pending (anti-herd) bytes/s known to the control loop.
    public var used: UInt64
    public var limit: UInt64
    public var tagBits: UInt64
    /// Index into the snapshot's tenants, -1 for a shared edge.
    public var tenant: Int32
    /// 0, or an ``Exclusion`` raw value that applies whatever the stream.
    public var exclusion: UInt8
    public var geoValid: Bool
    /// A peer cluster's edge: `limit` is the 10 Gbps reference and `used` is
    /// reference − available (+ pending); scored without stream bonus, minus the penalty.
    public var remote: Bool
    /// ``EdgeCapabilities`` raw value (the `cap=` filter; the 64th byte of the line).
    public var capabilities: UInt8

    /// A row for an edge not placed yet (an added edge before its incremental step).
    static let blank = EdgeHot(ux: 0, uy: 0, uz: 0, cpuRamScore: 0, bwBase: 0, used: 0, limit: 0, tagBits: 0, tenant: -1, exclusion: 0,
                               geoValid: false, remote: false, capabilities: 0)

    /// Tags with a bit of their own (in the order edges first carry them); bit 63 marks an edge
    /// with any other tag (``CompiledTagAdjustment/overflowBit``).
    static let tagBitCount = 63

    /// The bandwidth term at this row's `used` (0 when used ≥ limit: the edge is excluded then).
    @inline(__always) func bandwidthTerm(_ w: ScoringWeights) -> UInt32 {
        if limit == 0 || used >= limit { return 0 }
        let v = remote ? w.remoteBandwidthScore(available: limit &- used) : w.bandwidthScore(used: used, limit: limit)
        return UInt32(truncatingIfNeeded: v)
    }

    /// This row with `used` = `base` + `pending` and the bandwidth term at it (a pending or load
    /// refresh of an edge whose placement and exclusion stay).
    @inline(__always) func withUsage(base: UInt64, pending: UInt64, _ w: ScoringWeights) -> EdgeHot {
        var row = self
        row.used = base &+ pending
        row.bwBase = row.bandwidthTerm(w)
        return row
    }

    /// Sets the parts that place edge `e`: unit vector (zero and not valid without a position),
    /// peer flag, tenant index and tag bits (a tag not in `tagBit` takes the next bit while there
    /// are fewer than 64; later ones never match). The one definition full and incremental
    /// builds share.
    mutating func place(_ e: borrowing EdgeState, tenant: Int32, tagBit: inout [String: Int]) {
        remote = e.isRemote
        capabilities = e.capabilities.rawValue
        if let p = e.position {
            ux = p.x; uy = p.y; uz = p.z; geoValid = true
        } else {
            ux = 0; uy = 0; uz = 0; geoValid = false
        }
        self.tenant = tenant
        tagBits = 0
        for tag in e.tags {
            if let b = tagBit[tag] {
                tagBits |= 1 << UInt64(b)
            } else if tagBit.count < EdgeHot.tagBitCount {
                let b = tagBit.count
                tagBit[tag] = b
                tagBits |= 1 << UInt64(b)
            } else {
                tagBits |= CompiledTagAdjustment.overflowBit  // matched by name (``RoutingSnapshot/compile(_:)``)
            }
        }
    }

    /// Sets the load-dependent parts from edge `e` (cpu + ram term, usage with `pending`, limit,
    /// bandwidth term, viewer-independent exclusion); returns its usage without pending. The one
    /// definition full builds and refreshes share.
    ///
    /// Worked example (default weights cpu 500, ram 500, bandwidth 1,000): an edge at 250‰ CPU,
    /// 4 of 16 GB RAM, 250 of 1,000 MB/s up and 50 MB/s pending gets cpuRamScore 375 + 375 = 750,
    /// used 300 MB/s and a bandwidth term of 700.
    @discardableResult
    mutating func setLoad(_ e: borrowing EdgeState, pending: UInt64, weights w: ScoringWeights, staleness: StalenessPolicy,
                          nowMs: UInt64) -> UInt64 {
        cpuRamScore = UInt32(truncatingIfNeeded: w.cpuScore(permille: e.cpuPermille) &+ w.ramScore(used: e.ramUsedBytes, max: e.ramMaxBytes))
        let base = EdgeHot.used(e)
        used = base &+ pending
        limit = e.isRemote ? ScoringWeights.remoteReferenceBytesPerSec : e.bwLimitBytesPerSec
        bwBase = bandwidthTerm(w)
        var ex: Exclusion?
        switch staleness.health(of: e, nowMs: nowMs) {
        case .stale, .evict: ex = .stale
        case .fresh: break
        }
        if e.mode == .maintenance { ex = .maintenance } else if e.mode == .draining, ex == nil { ex = .draining }
        if ex == nil && (e.ramMaxBytes == 0 || (e.bwLimitBytesPerSec == 0 && !e.isRemote)) { ex = .noMetrics }
        if ex == nil && !e.capabilities.contains(.edge) { ex = .capability }
        if !e.pollError.isEmpty { ex = .pollFailed }
        exclusion = ex?.rawValue ?? 0
        return base
    }

    /// What a scoring row counts as used, pending aside: up bandwidth for local edges; for
    /// remote ones, reference − min(available, reference).
    static func used(_ e: borrowing EdgeState) -> UInt64 {
        if e.isRemote {
            let ref = ScoringWeights.remoteReferenceBytesPerSec
            return ref - min(e.remoteBwAvailableBytesPerSec, ref)
        }
        return e.upBytesPerSec
    }
}
