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
            "-c", "ulimit -n 48 && exec \"$0\" serve --http-listen 127.0.0.1:0 --internal-listen 127.0.0.1:0 --loops 1 --log-level critical",
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
        foghorn.signal(SIGTERM)
        #expect(foghorn.waitForExit(timeoutMs: 5000) == 0)
    }
}
