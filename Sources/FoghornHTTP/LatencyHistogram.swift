/// A latency histogram per label value (an outcome), written by one thread without locks
/// (``RelaxedCounters``) and read at scrape time, where the histograms of every loop are merged
/// into one Prometheus histogram (cumulative `le` buckets, `_sum`, `_count`).
///
/// Recording is a comparison walk over 17 bounds and two relaxed stores.
///
/// ```swift
/// let h = LatencyHistogram(labels: ["hit", "miss"])
/// h.record(label: 0, ns: 180_000)            // 180 µs → bucket le="0.00025"
/// h.snapshot(label: 0).count                 // 1
/// ```
public final class LatencyHistogram: @unchecked Sendable {
    /// Upper bounds in seconds (Prometheus `le`), and in nanoseconds for recording.
    public static let boundsSeconds: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let boundsNs: [UInt64] = boundsSeconds.map { UInt64(($0 * 1e9).rounded()) }
    /// Slots per label: one per bound, one above the last, the sum of nanoseconds.
    static let slotsPerLabel = boundsNs.count + 2

    public let labels: [String]
    let counters: RelaxedCounters

    public init(labels: [String]) {
        self.labels = labels
        counters = RelaxedCounters(count: labels.count * LatencyHistogram.slotsPerLabel)
    }

    /// A monotonic clock in nanoseconds, to time what is recorded.
    @inline(__always) public static func nowNs() -> UInt64 { HTTPConnection.monotonicNs() }

    /// Records one observation of `ns` under `labels[label]`. Only the owning thread may call it.
    @inline(__always) public func record(label: Int, ns: UInt64) {
        let base = label &* LatencyHistogram.slotsPerLabel
        var bucket = 0
        LatencyHistogram.boundsNs.withUnsafeBufferPointer { bounds in
            while bucket < bounds.count && ns > bounds[bucket] { bucket &+= 1 }
        }
        counters.add(base &+ bucket)
        counters.add(base &+ LatencyHistogram.slotsPerLabel &- 1, ns)
    }

    public struct Snapshot: Sendable, Equatable {
        /// Observations per bucket (not cumulative), the last one above every bound.
        public var buckets: [UInt64]
        public var sumNs: UInt64
        public var count: UInt64 { buckets.reduce(0, &+) }

        public static func empty() -> Snapshot {
            Snapshot(buckets: [UInt64](repeating: 0, count: LatencyHistogram.boundsNs.count + 1), sumNs: 0)
        }

        public mutating func merge(_ other: Snapshot) {
            for i in buckets.indices { buckets[i] &+= other.buckets[i] }
            sumNs &+= other.sumNs
        }
    }

    /// The current values for `labels[label]`, from any thread.
    public func snapshot(label: Int) -> Snapshot {
        let base = label * LatencyHistogram.slotsPerLabel
        var s = Snapshot.empty()
        for i in 0...LatencyHistogram.boundsNs.count { s.buckets[i] = counters.load(base + i) }
        s.sumNs = counters.load(base + LatencyHistogram.slotsPerLabel - 1)
        return s
    }

    /// Prometheus text for one histogram family: `name_bucket{<fixed>,label="…",le="…"}`, `_sum`, `_count`.
    public static func render(_ out: inout String, name: String, fixedLabels: String, labelName: String, values: [(String, Snapshot)]) {
        let prefix = fixedLabels.isEmpty ? "" : fixedLabels + ","
        for (value, s) in values {
            var cumulative: UInt64 = 0
            for (i, bound) in boundsSeconds.enumerated() {
                cumulative &+= s.buckets[i]
                out += "\(name)_bucket{\(prefix)\(labelName)=\"\(value)\",le=\"\(bound)\"} \(cumulative)\n"
            }
            cumulative &+= s.buckets[boundsSeconds.count]
            out += "\(name)_bucket{\(prefix)\(labelName)=\"\(value)\",le=\"+Inf\"} \(cumulative)\n"
            out += "\(name)_sum{\(prefix)\(labelName)=\"\(value)\"} \(Double(s.sumNs) / 1e9)\n"
            out += "\(name)_count{\(prefix)\(labelName)=\"\(value)\"} \(cumulative)\n"
        }
    }
}
