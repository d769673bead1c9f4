import Foundation
import Testing
import FoghornTesting

/// Running out of file descriptors (EMFILE) must neither crash nor busy-loop, and the server
/// must serve again once descriptors are free.
@Suite(.serialized) struct ResourceLimitTests {
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test func emfileDoesNotSpinAndRecovers() throws {
        let foghorn = try FoghornProcess(arguments: [
            "-c", "ulimit -n 48 && exec \"$0\" serve --http-listen 127.0.0.1:0 --internal-listen 127.0.0.1:0 --loops 1 --log-level warning",
            FoghornProcess.binaryPath,
        ], executable: "/bin/sh")
        try foghorn.waitUntilReady()
        let port = foghorn.httpPort
        // Far more connections than descriptors.
        var clients: [TestClient] = []
        for _ in 0..<80 {
            if let c = try? TestClient(port: port) {
                try? c.send("GET /livez HTTP/1.1\r\nHost: x\r\n")  // keep them open: head not finished
                clients.append(c)
            }
        }
        usleep(300_000)
        let pid = foghorn.processIdentifier
        let before = Self.cpuSeconds(pid)
        usleep(1_000_000)
        let used = Self.cpuSeconds(pid) - before
        #expect(used < 0.1, "server burned \(used) s of CPU in 1 s while out of descriptors")
        for c in clients { c.close() }
        clients.removeAll()
        // Serving again.
        var ok = false
        for _ in 0..<40 {
            if let r = try? TestClient.get(port: foghorn.internalPort, "/livez"), r.status == 200,
               let v = try? TestClient.get(port: port, "/nope"), v.status == 404 {
                ok = true
                break
            }
            usleep(100_000)
        }
        #expect(ok)
        // Counted and said (once per 10 s, with how many failed).
        let metrics = try TestClient.get(port: foghorn.internalPort, "/metrics").bodyText
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("foghorn_http_accept_errors_total{listener=\"viewer\",reason=\"emfile\"} ") }
        #expect((line.flatMap { Int($0.split(separator: " ").last!) } ?? 0) >= 1, "\(line ?? "no line")")
        foghorn.signal(SIGTERM)
        #expect(foghorn.waitForExit(timeoutMs: 5000) == 0)
        let log = foghorn.standardErrorText
        #expect(log.contains("cannot accept connections: too many open files in this process (EMFILE)"), "\(log.suffix(1500))")
        #expect(log.contains("RLIMIT_NOFILE is 48 (hard 48)"))
    }

    @Test func loopsZeroCountsTheCPUsThisProcessMayUse() throws {
        // Pinned to one CPU (a cpuset, taskset): one data loop, however many cores the host has.
        let foghorn = try FoghornProcess(arguments: [
            "-c", "0", FoghornProcess.binaryPath, "serve", "--http-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0", "--loops", "0",
        ], executable: "/usr/bin/taskset")
        try foghorn.waitUntilReady()
        let metrics = try TestClient.get(port: foghorn.internalPort, "/metrics").bodyText
        #expect(metrics.contains("foghorn_data_loops 1\n"), "\(metrics.split(separator: "\n").filter { $0.contains("data_loops") })")
        foghorn.signal(SIGTERM)
        #expect(foghorn.waitForExit(timeoutMs: 5000) == 0)
        #expect(foghorn.standardErrorText.contains("\"affinity_cpus\":\"1\""))
    }

    @Test func theSoftDescriptorLimitIsRaisedToTheHardOne() throws {
        let foghorn = try FoghornProcess(arguments: [
            "--nofile=256:8192", FoghornProcess.binaryPath, "serve", "--http-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0", "--loops", "1",
            "--set", "max_connections_per_loop=1000",
        ], executable: "/usr/bin/prlimit")
        try foghorn.waitUntilReady()
        let limits = try String(contentsOfFile: "/proc/\(foghorn.processIdentifier)/limits", encoding: .utf8)
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }.map(String.init) ?? ""
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2).map(String.init) == ["8192", "8192"], "\(line)")
        foghorn.signal(SIGTERM)
        #expect(foghorn.waitForExit(timeoutMs: 5000) == 0)
        let log = foghorn.standardErrorText
        #expect(log.contains("\"msg\":\"raised the open-file limit\""), "\(log.prefix(2000))")
        #expect(log.contains("\"soft_before\":\"256\""))
        #expect(!log.contains("RLIMIT_NOFILE is"))  // 8192 covers 1 loop × 1000
    }
}
