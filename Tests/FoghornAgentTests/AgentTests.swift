import Foundation
import Testing
@testable import FoghornAgent
import FoghornJSON
import FoghornModel

@Suite struct HostSampleTests {
    static let stat = "cpu  4705 356 584 3699 23 0 12 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\n"
    static let meminfo = "MemTotal:       16384 kB\nMemFree:         1024 kB\nMemAvailable:    4096 kB\nBuffers: 1 kB\n"
    static let netDev = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo: 999999     10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0
          eth0: 1000       10    0    0    0     0          0         0     5000      10    0    0    0     0       0          0
          eth1: 24         1    0    0    0     0          0         0       76      1    0    0    0     0       0          0
        """

    @Test func parsesProcAndSkipsLoopback() {
        let s = HostSample.parse(stat: Self.stat, meminfo: Self.meminfo, netDev: Self.netDev)
        #expect(s.cpuTotal == 4705 + 356 + 584 + 3699 + 23 + 0 + 12 + 0)
        #expect(s.cpuBusy == s.cpuTotal - 3699 - 23)
        #expect(s.memTotalBytes == 16384 * 1024)
        #expect(s.memUsedBytes == (16384 - 4096) * 1024)
        #expect(s.rxBytes == 1024)
        #expect(s.txBytes == 5076)
        #expect(s.hasCPU && s.hasMemory && s.hasNetwork)
        let eth0 = HostSample.parse(stat: nil, meminfo: nil, netDev: Self.netDev, interface: "eth0")
        #expect(eth0.rxBytes == 1000 && eth0.txBytes == 5000)
        #expect(!eth0.hasCPU && !eth0.hasMemory)
    }

    @Test func garbageParsesToNothingAndNeverTraps() {
        for text in ["", "cpu x y z", "cpu  1 2", "MemTotal: lots", "eth0: 1 2 3", String(repeating: ":", count: 10_000), "cpu  18446744073709551615 18446744073709551615 1 1"] {
            let s = HostSample.parse(stat: text, meminfo: text, netDev: text)
            #expect(!s.hasMemory)
            _ = s.cpuPermille(since: s)
        }
    }

    @Test func cpuPermilleIsTheBusyShareBetweenTwoSamples() {
        var a = HostSample(), b = HostSample()
        a.hasCPU = true; b.hasCPU = true
        a.cpuBusy = 100; a.cpuTotal = 1000
        b.cpuBusy = 350; b.cpuTotal = 2000
        #expect(b.cpuPermille(since: a) == 250)
        #expect(b.cpuPermille(since: nil) == nil)
        #expect(a.cpuPermille(since: b) == nil)  // counters went back (a reboot): no figure
    }
}

@Suite struct EdgeReportBuilderTests {
    static let mistDocument = """
        {"cpu": 300, "mem_total": 8000, "mem_used": 2000, "shm_used": 1000, "bw": [1000, 500], "bwlimit": 0,
         "loc": {"lat": 52.37, "lon": 4.9, "name": "Amsterdam"}, "tags": ["eu"],
         "streams": {"live+a": {"curr": [3, 1], "bw": [4000, 0]}, "live+b": {"curr": [0, 0], "bw": [0, 0]}},
         "outputs": {"HLS": "https://HOST/hls/$/index.m3u8"}}
        """

    @Test func theFirstSampleReportsLimitsAndStreamsWithZeroRates() throws {
        let mist = try MistSample.parse(JSONParser.parse(Self.mistDocument))
        let report = EdgeReportBuilder().build(.init(mist: mist, host: nil, atMs: 0), previous: nil, mistDown: false)
        #expect(report["cpu_permille"] == .int(300))
        #expect(report["ram_max_bytes"] == .int(8000))
        #expect(report["ram_used_bytes"] == .int(3000))
        #expect(report["up_bytes_per_sec"] == .int(0))
        #expect(report["bw_limit_bytes_per_sec"] == .int(134_217_728))
        #expect(report["lat"] == .double(52.37) && report["location"] == .string("Amsterdam"))
        #expect(report["streams"]?["live+a"]?["viewers"] == .int(3))
        #expect(report["streams"]?["live+a"]?["inputs"] == .int(1))
        #expect(report["outputs"]?["HLS"] == .string("https://HOST/hls/$/index.m3u8"))
        #expect(report["base_url"] == nil)  // enrolment's default stands
        // What Foghorn accepts.
        _ = try EdgeReport.parse(report, names: StreamNameTable())
    }

    @Test func theHostWinsAndRatesComeFromDeltas() throws {
        let mist0 = try MistSample.parse(JSONParser.parse(Self.mistDocument))
        var mist1 = mist0
        mist1.streams["live+a"]?.upTotal = 6000
        var h0 = HostSample(), h1 = HostSample()
        for h in [\HostSample.hasCPU, \.hasMemory, \.hasNetwork] { h0[keyPath: h] = true; h1[keyPath: h] = true }
        h0.cpuBusy = 0; h0.cpuTotal = 0; h1.cpuBusy = 100; h1.cpuTotal = 1000
        h0.memTotalBytes = 16_000; h0.memUsedBytes = 4000; h1.memTotalBytes = 16_000; h1.memUsedBytes = 5000
        h0.txBytes = 0; h1.txBytes = 2_000_000; h0.rxBytes = 0; h1.rxBytes = 500_000
        var builder = EdgeReportBuilder()
        builder.bwLimitBytesPerSec = 125_000_000
        builder.baseURL = "https://edge.example/"
        let report = builder.build(.init(mist: mist1, host: h1, atMs: 2000), previous: .init(mist: mist0, host: h0, atMs: 0), mistDown: false)
        #expect(report["cpu_permille"] == .int(100))
        #expect(report["ram_max_bytes"] == .int(16_000))
        #expect(report["ram_used_bytes"] == .int(5000))
        #expect(report["up_bytes_per_sec"] == .int(1_000_000))
        #expect(report["down_bytes_per_sec"] == .int(250_000))
        #expect(report["bw_limit_bytes_per_sec"] == .int(125_000_000))
        #expect(report["base_url"] == .string("https://edge.example/"))
        #expect(report["streams"]?["live+a"]?["up_bytes_per_sec"] == .int(1000))
    }

    @Test func mistDownReportsNoStreams() throws {
        var host = HostSample()
        host.hasMemory = true
        host.memTotalBytes = 1000
        let report = EdgeReportBuilder().build(.init(mist: nil, host: host, atMs: 0), previous: nil, mistDown: true)
        #expect(report["streams"] == .object([]))
        #expect(report["ram_max_bytes"] == .int(1000))
        _ = try EdgeReport.parse(report, names: StreamNameTable())
    }
}

@Suite struct AgentStateTests {
    @Test func savedWithMode0600AndReadBack() throws {
        let dir = NSTemporaryDirectory() + "agent-state-\(UUID().uuidString)"
        let path = dir + "/nested/state.json"
        let state = AgentState(nodeId: "0123456789ab", edgeToken: "cred", domain: "edge-0123456789ab.eu.example", clusterId: "eu",
                               baseURL: "https://edge-0123456789ab.eu.example/", reportURL: "https://f/v1/edges/0123456789ab/report",
                               reportIntervalS: 5, enrolledWithToken: "abcdef0123456789", enrolledAtUnix: 1_700_000_000)
        try state.save(path)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(stat(dir + "/nested", &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(try AgentState.load(path) == state)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        #expect(try AgentState.load(dir + "/missing.json") == nil)
        try "{\"something\": 1}".write(toFile: dir + "/other.json", atomically: true, encoding: .utf8)
        #expect(throws: AgentState.FileError.self) { try AgentState.load(dir + "/other.json") }
    }

    @Test func theTokenIdIsReadWithoutTheSecret() {
        // {"id":"00112233aabbccdd","tenant":"t","exp":1,"max":1}
        let payload = Data(#"{"id":"00112233aabbccdd","tenant":"t","exp":1,"max":1}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        #expect(AgentState.tokenId("fhe1.\(payload).sig") == "00112233aabbccdd")
        #expect(AgentState.tokenId("nope") == nil)
        #expect(AgentState.tokenId("fhe1.!!!.x") == nil)
    }
}
