import CFoghornShims
import FoghornModel
#if canImport(Glibc)
import Glibc
#endif

/// What the host or container grants this process: CPUs (affinity and cgroup quota) and open
/// descriptors (RLIMIT_NOFILE).
public enum ProcessLimits {
    /// CPUs this process may use (``CPUBudget``): `sched_getaffinity`, capped by every cgroup v2
    /// `cpu.max` from its own cgroup to the root.
    public static func cpuBudget() -> (cpus: Int, affinity: Int, quotaSource: String?) {
        var affinity = Int(foghorn_affinity_cpu_count())
        if affinity <= 0 { affinity = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
        var quotas: [String] = []
        var source: String?
        if let text = readSmall("/proc/self/cgroup"), let path = CPUBudget.cgroupPath(text) {
            for file in CPUBudget.cpuMaxFiles(cgroupPath: path) {
                guard let line = readSmall(file) else { continue }
                quotas.append(line)
                if let q = CPUBudget.quota(line), q < affinity, source == nil { source = "\(file): \(line.split(separator: "\n").first ?? "")" }
            }
        }
        return (CPUBudget.cpus(affinity: affinity, quotas: quotas), affinity, source)
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit: (soft before, hard, soft now), nil if the
    /// limits could not be read.
    public static func raiseOpenFileLimit() -> (before: UInt64, hard: UInt64, now: UInt64)? {
        var before: UInt64 = 0, hard: UInt64 = 0, now: UInt64 = 0
        if foghorn_raise_nofile_limit(&before, &hard, &now) != 0 && before == 0 && hard == 0 { return nil }
        return (before, hard, now)
    }

    static func readSmall(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }
}
