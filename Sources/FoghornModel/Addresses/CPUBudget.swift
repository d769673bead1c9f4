/// How many CPUs a process may use: the CPUs it may run on (affinity, a cpuset), capped by its
/// cgroup v2 CPU quota (`cpu.max`: `quota period`, or `max`) on its own cgroup and every parent.
/// `loops: 0` starts one data loop per CPU of this budget — a 2-CPU pod on a 64-core node gets 2.
///
/// ```swift
/// CPUBudget.cpus(affinity: 64, quotas: ["200000 100000", "max 100000"])   // 2
/// CPUBudget.cpus(affinity: 64, quotas: ["150000 100000"])                 // 2 (1.5 rounds up)
/// CPUBudget.cpus(affinity: 4, quotas: ["max 100000"])                     // 4
/// ```
public enum CPUBudget {
    public static func cpus(affinity: Int, quotas: [String]) -> Int {
        var budget = max(affinity, 1)
        for text in quotas {
            if let q = quota(text) { budget = min(budget, q) }
        }
        return max(budget, 1)
    }

    /// CPUs a `cpu.max` line allows (rounded up), nil for `max` or text that does not parse.
    public static func quota(_ text: String) -> Int? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count >= 1, parts[0] != "max", let q = UInt64(parts[0]), q > 0 else { return nil }
        let period = parts.count >= 2 ? (UInt64(parts[1]) ?? 100_000) : 100_000
        guard period > 0 else { return nil }
        return Int(min(q / period + (q % period == 0 ? 0 : 1), UInt64(Int32.max)))
    }

    /// The cgroup v2 path of this process from `/proc/self/cgroup` (`0::/kubepods/pod…/…`), nil
    /// when there is no v2 entry.
    public static func cgroupPath(_ procSelfCgroup: String) -> String? {
        for line in procSelfCgroup.split(separator: "\n") where line.hasPrefix("0::") {
            let path = String(line.dropFirst(3))
            return path.hasPrefix("/") ? path : nil
        }
        return nil
    }

    /// The directories whose `cpu.max` bound a process in cgroup `path`: its own and each parent
    /// up to the root (`/sys/fs/cgroup` + path).
    public static func cpuMaxFiles(cgroupPath path: String, root: String = "/sys/fs/cgroup") -> [String] {
        var out: [String] = []
        var parts = path.split(separator: "/").map(String.init)
        while true {
            let dir = root + (parts.isEmpty ? "" : "/" + parts.joined(separator: "/"))
            out.append(dir + "/cpu.max")
            if parts.isEmpty { break }
            parts.removeLast()
        }
        return out
    }
}
