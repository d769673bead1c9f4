#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics (Prometheus client conventions), read from `/proc/self` at
/// scrape time.
enum ProcessStats {
    struct Sample {
        var cpuSeconds: Double = 0
        var residentBytes: Double = 0
        var virtualBytes: Double = 0
        var openFds: Double = 0
        var maxFds: Double = 0
    }

    static func read() -> Sample {
        var s = Sample()
        if let stat = ProcessLimits.readSmall("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state(0) … utime(11) stime(12) … vsize(20) rss(21).
            if fields.count > 21 {
                let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
                s.cpuSeconds = ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / max(ticks, 1)
                s.virtualBytes = Double(fields[20]) ?? 0
                s.residentBytes = (Double(fields[21]) ?? 0) * Double(sysconf(Int32(_SC_PAGESIZE)))
            }
        }
        if let dir = opendir("/proc/self/fd") {
            var n = 0
            // d_name is read in place: a dirent is allocated only as long as its name
            // (copying the 256-byte field out of it reads past the allocation).
            let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19
            while let entry = readdir(dir) {
                let first = UnsafeRawPointer(entry).load(fromByteOffset: nameOffset, as: UInt8.self)
                if first != UInt8(ascii: ".") { n += 1 }
            }
            closedir(dir)
            s.openFds = Double(max(n - 1, 0))  // the directory stream's own descriptor
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { s.maxFds = Double(limit.rlim_cur) }
        return s
    }
}
