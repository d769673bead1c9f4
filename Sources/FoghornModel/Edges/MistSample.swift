public import FoghornJSON

/// One poll of a MistServer controller's `/<passphrase>.json` (the document
/// MistUtilLoad reads): CPU ‰, memory, cumulative bandwidth counters, limits,
/// location, tags, streams, configured streams and output templates.
public struct MistSample: Sendable {
    public struct Stream: Sendable, Equatable {
        public var viewers: UInt64
        public var inputs: UInt64
        public var upTotal: UInt64
        public var downTotal: UInt64
        public var replicated: Bool
    }

    public var cpuPermille: UInt64 = 0
    public var memTotal: UInt64 = 0
    public var memUsed: UInt64 = 0
    public var shmTotal: UInt64 = 0
    public var shmUsed: UInt64 = 0
    public var viewers: UInt64 = 0
    public var upTotal: UInt64 = 0
    public var downTotal: UInt64 = 0
    public var bwLimit: UInt64 = 0
    public var lat: Double?
    public var lon: Double?
    public var location = ""
    public var tags: [String] = []
    public var streams: [String: Stream] = [:]
    public var configStreams: [String] = []
    public var outputs: [(name: String, template: String)] = []
    /// What the document carried but Foghorn refused (``InputRules``): a stream name, output
    /// template, tag or location name with control bytes, a template with a foreign scheme. The
    /// rest of the document is used; the poller logs and counts these.
    public var rejected: [(field: String, problem: String)] = []

    public struct Invalid: Error, Equatable, CustomStringConvertible, Sendable {
        public var field: String
        public var description: String { "invalid or missing \(field)" }
    }

    /// Parses the controller's JSON. Only `cpu` and `mem_total` are required (a
    /// controller without them is not the right endpoint); everything else defaults.
    public static func parse(_ v: JSONValue) throws(Invalid) -> MistSample {
        guard case .object = v else { throw Invalid(field: "document") }
        var s = MistSample()
        guard let cpu = v["cpu"]?.intValue, cpu >= 0 else { throw Invalid(field: "cpu") }
        s.cpuPermille = UInt64(min(cpu, 1000))
        guard let memTotal = v["mem_total"]?.intValue, memTotal >= 0 else { throw Invalid(field: "mem_total") }
        s.memTotal = UInt64(memTotal)
        s.memUsed = try uint(v["mem_used"], "mem_used")
        s.shmTotal = try uint(v["shm_total"], "shm_total")
        s.shmUsed = try uint(v["shm_used"], "shm_used")
        if let curr = v["curr"]?.arrayValue, let first = curr.first { s.viewers = try uint(first, "curr") }
        if let bw = v["bw"]?.arrayValue {
            guard bw.count >= 2 else { throw Invalid(field: "bw") }
            s.upTotal = try uint(bw[0], "bw")
            s.downTotal = try uint(bw[1], "bw")
        }
        s.bwLimit = try uint(v["bwlimit"], "bwlimit")
        if let loc = v["loc"], case .object = loc {
            if let lat = loc["lat"]?.doubleValue, let lon = loc["lon"]?.doubleValue, GeoPoint.isValid(lat: lat, lon: lon) {
                s.lat = lat
                s.lon = lon
            }
            let name = loc["name"]?.stringValue ?? ""
            if let problem = InputRules.textProblem(name) {
                s.rejected.append(("loc.name", problem))
            } else {
                s.location = name
            }
        }
        if let tags = v["tags"]?.arrayValue {
            s.tags = tags.compactMap(\.stringValue).filter { tag in
                guard !tag.isEmpty && !tag.contains(",") else { return false }
                if let problem = InputRules.textProblem(tag, maxBytes: 64) { s.rejected.append(("tags", problem)); return false }
                return true
            }.prefix(64).map { $0 }
        }
        if let conf = v["conf_streams"]?.arrayValue { s.configStreams = conf.compactMap(\.stringValue) }
        if let streams = v["streams"]?.objectValue {
            for (name, st) in streams.prefix(100_000) {
                if let problem = InputRules.streamNameProblem(name) {
                    s.rejected.append(("streams", problem))
                    continue
                }
                var stream = Stream(viewers: 0, inputs: 0, upTotal: 0, downTotal: 0, replicated: false)
                if let curr = st["curr"]?.arrayValue {
                    if curr.count > 0 { stream.viewers = try uint(curr[0], "streams.\(name).curr") }
                    if curr.count > 1 { stream.inputs = try uint(curr[1], "streams.\(name).curr") }
                }
                if let bw = st["bw"]?.arrayValue, bw.count >= 2 {
                    stream.upTotal = try uint(bw[0], "streams.\(name).bw")
                    stream.downTotal = try uint(bw[1], "streams.\(name).bw")
                }
                if let rep = st["rep"] { stream.replicated = rep.boolValue ?? ((rep.intValue ?? 0) != 0) }
                s.streams[name] = stream
            }
        }
        if let outputs = v["outputs"]?.objectValue {
            for (name, t) in outputs.prefix(64) {
                guard let template = t.stringValue ?? t.arrayValue?.first?.stringValue, !template.isEmpty else { continue }
                let field = InputRules.textProblem(name, maxBytes: 64) == nil ? "outputs.\(name)" : "outputs"
                if let problem = InputRules.textProblem(name, maxBytes: 64) ?? InputRules.templateProblem(template) {
                    s.rejected.append((field, problem))
                    continue
                }
                s.outputs.append((name, template))
            }
        }
        return s
    }

    private static func uint(_ v: JSONValue?, _ field: String) throws(Invalid) -> UInt64 {
        guard let v else { return 0 }
        if let d = v.doubleValue, d >= 0, d < 9e18 { return UInt64(d) }
        throw Invalid(field: field)
    }

    /// RAM use as MistUtilLoad computes it: the higher of (mem_used + shm_used)/mem_total
    /// and shm_used/shm_total, in parts per million (capped at 1,000,000).
    public var ramUsedPPM: UInt64 {
        var ratio = memTotal > 0 ? Double(memUsed + shmUsed) / Double(memTotal) : 1
        if shmTotal > 0 { ratio = max(ratio, Double(shmUsed) / Double(shmTotal)) }
        return UInt64(min(max(ratio, 0), 1) * 1_000_000)
    }

    /// MistUtilLoad's default cap when neither the address nor the node sets one: 128 MiB/s ("1G").
    public static let defaultBandwidthLimit: UInt64 = 128 * 1_048_576

    /// Folds this sample into `edge`. Rates are counter deltas over the wall
    /// time since `previous` (0 on the first poll or after a counter reset).
    public func apply(to edge: inout EdgeState, previous: MistSample?, elapsedMs: UInt64, address: MistNodeAddress, nowMs: UInt64,
                      names: StreamNameTable) {
        func rate(_ now: UInt64, _ before: UInt64?) -> UInt64 {
            guard let before, now >= before, elapsedMs > 0 else { return 0 }
            return (now - before) * 1000 / elapsedMs
        }
        var report = EdgeReport()
        report.cpuPermille = cpuPermille
        report.ramMaxBytes = 1_000_000
        report.ramUsedBytes = ramUsedPPM
        report.upBytesPerSec = rate(upTotal, previous?.upTotal)
        report.downBytesPerSec = rate(downTotal, previous?.downTotal)
        report.bwLimitBytesPerSec = bwLimit > 0 ? bwLimit : (address.bandwidthLimitBytesPerSec ?? MistSample.defaultBandwidthLimit)
        if let lat, let lon { report.lat = lat; report.lon = lon }
        report.location = location
        report.tags = tags
        report.capabilities = [.edge]
        let hostPart = address.host.contains(":") ? "[\(address.host)]" : address.host
        report.baseURL = "http://\(hostPart)/"
        report.outputs = outputs
        var streams: [String: EdgeStreamStats] = [:]
        for (name, s) in self.streams {
            let before = previous?.streams[name]
            let up = rate(s.upTotal, before?.upTotal)
            streams[name] = EdgeStreamStats(
                inputs: UInt32(min(s.inputs, UInt64(UInt32.max))), viewers: UInt32(min(s.viewers, UInt64(UInt32.max))),
                upBytesPerSec: up, replicated: s.replicated)
        }
        report.setStreams(streams, in: names)
        report.apply(to: &edge, nowMs: nowMs)
        edge.configStreams = configStreams
        edge.pollError = ""
    }
}
