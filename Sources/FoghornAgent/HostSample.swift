/// The host's load as `/proc` tells it: cumulative CPU jiffies, memory, and bytes sent and
/// received on every interface but loopback. Two samples give rates (``EdgeReportBuilder``).
///
/// ```swift
/// let s = HostSample.parse(stat: "cpu  100 0 50 800 50 0 0 0 0 0\n", meminfo: "MemTotal: 16384 kB\nMemAvailable: 4096 kB\n",
///                          netDev: "...\n...\n  eth0: 1000 0 0 0 0 0 0 0 5000 0 0 0 0 0 0 0\n")
/// s.cpuBusy, s.cpuTotal            // 150, 1000   (busy = total − idle − iowait)
/// s.memTotalBytes, s.memUsedBytes  // 16_777_216, 12_582_912
/// s.rxBytes, s.txBytes             // 1000, 5000
/// ```
public struct HostSample: Sendable, Equatable {
    public var cpuBusy: UInt64 = 0
    public var cpuTotal: UInt64 = 0
    public var memTotalBytes: UInt64 = 0
    public var memUsedBytes: UInt64 = 0
    public var rxBytes: UInt64 = 0
    public var txBytes: UInt64 = 0
    /// Which parts parsed (a container may hide some of `/proc`).
    public var hasCPU = false, hasMemory = false, hasNetwork = false

    public init() {}

    /// Parses the three files' text; a part that does not parse is left out (`has…` false).
    /// `interface`: count only that one (nil: every interface but `lo`).
    public static func parse(stat: String?, meminfo: String?, netDev: String?, interface: String? = nil) -> HostSample {
        var s = HostSample()
        if let stat, let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) {
            let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
            if fields.count >= 4 {
                let total = fields.prefix(8).reduce(0, &+)  // user nice system idle iowait irq softirq steal (guest is inside user)
                let idle = fields[3] &+ (fields.count > 4 ? fields[4] : 0)
                s.cpuTotal = total
                s.cpuBusy = total >= idle ? total - idle : 0
                s.hasCPU = true
            }
        }
        if let meminfo {
            var total: UInt64?, available: UInt64?
            for line in meminfo.split(separator: "\n") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                guard parts.count >= 2, let kb = UInt64(parts[1]), kb < UInt64.max / 1024 else { continue }
                if parts[0] == "MemTotal:" { total = kb * 1024 }
                if parts[0] == "MemAvailable:" { available = kb * 1024 }
            }
            if let total, total > 0 {
                s.memTotalBytes = total
                s.memUsedBytes = total - min(available ?? 0, total)
                s.hasMemory = true
            }
        }
        if let netDev {
            for line in netDev.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].trimmingSpaces()
                guard name != "lo", interface == nil || name == interface! else { continue }
                let fields = line[line.index(after: colon)...].split(separator: " ").compactMap { UInt64($0) }
                guard fields.count >= 9 else { continue }
                s.rxBytes &+= fields[0]
                s.txBytes &+= fields[8]
                s.hasNetwork = true
            }
        }
        return s
    }

    /// CPU use between `previous` and this sample, in ‰ of all cores (nil without two samples).
    public func cpuPermille(since previous: HostSample?) -> UInt64? {
        guard let previous, hasCPU, previous.hasCPU, cpuTotal > previous.cpuTotal, cpuBusy >= previous.cpuBusy else { return nil }
        return min(1000, (cpuBusy - previous.cpuBusy) * 1000 / (cpuTotal - previous.cpuTotal))
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
