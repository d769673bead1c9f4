/// Weights of the score terms. Defaults are MistUtilLoad's and Foghorn's:
/// cpu 500, ram 500, bandwidth 1000, geo 1000, stream bonus 50 (max score 3050).
public struct ScoringWeights: Sendable, Equatable {
    public var cpu: UInt64
    public var ram: UInt64
    public var bandwidth: UInt64
    public var geo: UInt64
    public var streamBonus: UInt64

    public init(cpu: UInt64 = 500, ram: UInt64 = 500, bandwidth: UInt64 = 1000, geo: UInt64 = 1000, streamBonus: UInt64 = 50) {
        self.cpu = cpu
        self.ram = ram
        self.bandwidth = bandwidth
        self.geo = geo
        self.streamBonus = streamBonus
    }

    public static let defaults = ScoringWeights()
    /// Each weight must be at most this (keeps every sum far from overflow).
    public static let maxWeight: UInt64 = 1_000_000

    /// Every weight within `0...maxWeight` (weights read back from a state store are checked).
    public var isValid: Bool { [cpu, ram, bandwidth, geo, streamBonus].allSatisfy { $0 <= ScoringWeights.maxWeight } }

    /// `W_cpu − cpu‰·W_cpu/1000`; 0 above 1000‰.
    ///
    /// Example: 300‰ with `W_cpu = 500` → `500 − 150 = 350`.
    @inline(__always) public func cpuScore(permille: UInt64) -> UInt64 {
        permille > 1000 ? 0 : cpu &- permille &* cpu / 1000
    }

    /// `W_ram − used·W_ram/max`; 0 without data or when used ≥ max (the
    /// reference underflows there; we clamp).
    ///
    /// Example: 4 GiB used of 16 GiB with `W_ram = 500` → `500 − 125 = 375`.
    @inline(__always) public func ramScore(used: UInt64, max: UInt64) -> UInt64 {
        if max == 0 || used >= max { return 0 }
        return ram &- ScoringWeights.mulDiv(used, ram, max)
    }

    /// `W_bw − used·W_bw/limit` for `used < limit` (else the edge is excluded).
    ///
    /// Example: 25 MB/s used of a 125 MB/s limit with `W_bw = 1000` → `1000 − 200 = 800`.
    @inline(__always) public func bandwidthScore(used: UInt64, limit: UInt64) -> UInt64 {
        bandwidth &- ScoringWeights.mulDiv(used, bandwidth, limit)
    }

    /// Bandwidth a remote (peer cluster) edge is measured against: 10 Gbps in bytes/s.
    public static let remoteReferenceBytesPerSec: UInt64 = 1_250_000_000
    /// Subtracted from every remote edge's score; remote edges scoring ≤ this are dropped.
    public static let crossClusterPenalty: UInt64 = 200

    /// A remote edge's bandwidth term: `min(available, ref)·W_bw/ref` with ref = 10 Gbps.
    ///
    /// Example: 625 MB/s free with `W_bw = 1000` → `1000·0.5 = 500`; 2×ref free → 1000.
    @inline(__always) public func remoteBandwidthScore(available: UInt64) -> UInt64 {
        let ref = ScoringWeights.remoteReferenceBytesPerSec
        return ScoringWeights.mulDiv(min(available, ref), bandwidth, ref)
    }

    /// `a·b/c` in integers without overflow (c > 0, result < 2⁶⁴ when a < c).
    @inline(__always) static func mulDiv(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        // Common case: the product fits in 64 bits → one 64-bit division.
        let (small, overflow) = a.multipliedReportingOverflow(by: b)
        if !overflow { return small / c }
        let product = a.multipliedFullWidth(by: b)
        if product.high >= c { return UInt64.max }
        return c.dividingFullWidth(product).quotient
    }
}
