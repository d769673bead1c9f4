public import FoghornJSON
public import FoghornModel

/// Builds the body of `POST /v1/edges/<id>/report` from what the agent sampled: the local
/// MistServer's document (streams, outputs, location, tags, its own counters) and the host's
/// `/proc` figures, which win for CPU, RAM and network when present (they cover the whole host,
/// not only MistServer). Rates are counter deltas over the time between two samples (0 on the
/// first one or after a counter reset), as MistUtilLoad and FrameWorks' Helmsman compute them.
///
/// ```swift
/// // host: 25 % CPU since the last sample, 16 GiB RAM with 4 GiB available, 1 MB sent in 1 s
/// // mist: stream "live+a" with 3 viewers and 1 input
/// // → {"cpu_permille": 250, "ram_max_bytes": 17179869184, "ram_used_bytes": 12884901888,
/// //    "up_bytes_per_sec": 1000000, "bw_limit_bytes_per_sec": 134217728, "capabilities": ["edge"],
/// //    "streams": {"live+a": {"inputs": 1, "viewers": 3, "up_bytes_per_sec": …}}, …}
/// ```
public struct EdgeReportBuilder: Sendable {
    /// Fixed by the operator (flags); nil: from the samples.
    public var bwLimitBytesPerSec: UInt64?
    public var baseURL: String?
    public var lat: Double?
    public var lon: Double?
    public var location: String?

    public init() {}

    public struct Sample: Sendable {
        public var mist: MistSample?
        public var host: HostSample?
        public var atMs: UInt64
        public init(mist: MistSample?, host: HostSample?, atMs: UInt64) {
            self.mist = mist
            self.host = host
            self.atMs = atMs
        }
    }

    /// The bandwidth limit used when neither the flag nor MistServer sets one: MistUtilLoad's
    /// and Helmsman's default, 128 MiB/s (≈ 1 Gbit/s).
    public static var defaultBandwidthLimit: UInt64 { MistSample.defaultBandwidthLimit }

    /// The report for `now`, given the previous sample (rates) — `mistDown`: MistServer did not
    /// answer, so the edge reports no streams (viewers are not sent to an edge that cannot serve).
    public func build(_ now: Sample, previous: Sample?, mistDown: Bool) -> JSONValue {
        let elapsedMs = previous.map { now.atMs > $0.atMs ? now.atMs - $0.atMs : 0 } ?? 0
        func rate(_ current: UInt64, _ before: UInt64?) -> UInt64 {
            guard let before, current >= before, elapsedMs > 0 else { return 0 }
            return (current - before) * 1000 / elapsedMs
        }
        var members: [(key: String, value: JSONValue)] = []
        func uint(_ key: String, _ v: UInt64) { members.append((key, .int(Int64(min(v, UInt64(Int64.max)))))) }
        let host = now.host, mist = now.mist
        // CPU: the host's, else MistServer's.
        if let cpu = host?.cpuPermille(since: previous?.host) {
            uint("cpu_permille", cpu)
        } else if let mist {
            uint("cpu_permille", mist.cpuPermille)
        }
        // RAM: the host's, else MistServer's (MistUtilLoad's view: mem + shm in use).
        if let host, host.hasMemory {
            uint("ram_max_bytes", host.memTotalBytes)
            uint("ram_used_bytes", host.memUsedBytes)
        } else if let mist, mist.memTotal > 0 {
            uint("ram_max_bytes", mist.memTotal)
            uint("ram_used_bytes", min(mist.memTotal, mist.memUsed &+ mist.shmUsed))
        }
        // Network: the host's interfaces, else MistServer's counters.
        if let host, host.hasNetwork {
            uint("up_bytes_per_sec", rate(host.txBytes, previous?.host?.hasNetwork == true ? previous?.host?.txBytes : nil))
            uint("down_bytes_per_sec", rate(host.rxBytes, previous?.host?.hasNetwork == true ? previous?.host?.rxBytes : nil))
        } else if let mist {
            uint("up_bytes_per_sec", rate(mist.upTotal, previous?.mist?.upTotal))
            uint("down_bytes_per_sec", rate(mist.downTotal, previous?.mist?.downTotal))
        }
        let limit = bwLimitBytesPerSec ?? (mist.map { $0.bwLimit > 0 ? $0.bwLimit : Self.defaultBandwidthLimit } ?? Self.defaultBandwidthLimit)
        uint("bw_limit_bytes_per_sec", limit)
        members.append(("capabilities", .array([.string("edge")])))
        let lat = self.lat ?? mist?.lat, lon = self.lon ?? mist?.lon
        if let lat, let lon, GeoPoint.isValid(lat: lat, lon: lon) {
            members.append(("lat", .double(lat)))
            members.append(("lon", .double(lon)))
        }
        if let location = location ?? (mist?.location.isEmpty == false ? mist?.location : nil) {
            members.append(("location", .string(location)))
        }
        if let baseURL { members.append(("base_url", .string(baseURL))) }
        if let mist {
            if !mist.tags.isEmpty { members.append(("tags", .array(mist.tags.map(JSONValue.string)))) }
            if !mist.outputs.isEmpty { members.append(("outputs", .object(mist.outputs.map { (key: $0.name, value: JSONValue.string($0.template)) }))) }
        }
        if mistDown {
            members.append(("streams", .object([])))
        } else if let mist {
            var streams: [(key: String, value: JSONValue)] = []
            for (name, s) in mist.streams.sorted(by: { $0.key < $1.key }).prefix(EdgeReport.maxStreams) {
                let up = rate(s.upTotal, previous?.mist?.streams[name]?.upTotal)
                streams.append((name, .object([
                    ("inputs", .int(Int64(min(s.inputs, UInt64(UInt32.max))))), ("viewers", .int(Int64(min(s.viewers, UInt64(UInt32.max))))),
                    ("up_bytes_per_sec", .int(Int64(min(up, UInt64(Int64.max))))), ("replicated", .bool(s.replicated)),
                    ("bytes_up", .int(Int64(min(s.upTotal, UInt64(Int64.max))))), ("bytes_down", .int(Int64(min(s.downTotal, UInt64(Int64.max))))),
                ])))
            }
            members.append(("streams", .object(streams)))
        }
        return .object(members)
    }
}
