public import FoghornJSON

/// A validated edge lifecycle update (`POST /v1/edges/<id>/report`). Every
/// field is optional; present ones replace the edge's previous values
/// (`streams`, `outputs`, `tags` are replaced whole). Bandwidth is bytes/s.
public struct EdgeReport: Sendable {
    public var cpuPermille: UInt64?
    public var ramUsedBytes: UInt64?
    public var ramMaxBytes: UInt64?
    public var upBytesPerSec: UInt64?
    public var downBytesPerSec: UInt64?
    public var bwLimitBytesPerSec: UInt64?
    public var lat: Double?
    public var lon: Double?
    public var location: String?
    public var tags: [String]?
    public var capabilities: EdgeCapabilities?
    public var baseURL: String?
    public var outputs: [(name: String, template: String)]?
    /// Streams' cumulative byte counters (`bytes_up`/`bytes_down`, MistServer's `bw`) where the
    /// report gives them; nil when the report has no `streams`. Kept beside the edge (MistUtilLoad's
    /// `?streamstats=`, `/nodes/overview`), never in the routing snapshot.
    public var streamByteTotals: [(name: String, up: UInt64, down: UInt64)]?
    /// The reported streams as interned IDs and their figures (parallel; what
    /// ``apply(to:nowMs:)`` hands the edge), nil when the report has none.
    public private(set) var streamEntries: (ids: [Int32], stats: [EdgeStreamStats])?
    /// The reported streams by name (IDs in `names`), nil when the report has none.
    public func streams(in names: StreamNameTable) -> [String: EdgeStreamStats]? {
        streamEntries.map { e in
            var d: [String: EdgeStreamStats] = [:]
            for k in e.ids.indices { d[names.name(e.ids[k])] = e.stats[k] }
            return d
        }
    }

    /// Sets the reported streams by name, interning them in `names` (nil: the report has none).
    public mutating func setStreams(_ streams: [String: EdgeStreamStats]?, in names: StreamNameTable) {
        streamEntries = streams.map { (names.ids(for: Array($0.keys)), Array($0.values)) }
    }

    public init() {}

    /// A rejected report: which field, what is wrong. Answered as 400 `INVALID_FIELD`.
    public struct FieldError: Error, Equatable, CustomStringConvertible, Sendable {
        public var field: String
        public var problem: String
        public var description: String { "\(field): \(problem)" }
    }

    public static let fieldNames: Set<String> = [
        "cpu_permille", "ram_used_bytes", "ram_max_bytes", "up_bytes_per_sec", "down_bytes_per_sec",
        "bw_limit_bytes_per_sec", "lat", "lon", "location", "tags", "capabilities", "base_url", "outputs", "streams",
    ]

    public static let maxTags = 64
    public static let maxStreams = 100_000
    public static let maxOutputs = 64

    /// Parses and validates. `extraFields` are also accepted (and ignored here) —
    /// used by static edges in the config file, which add `node_id`, `tenant`, `mode`.
    public static func parse(_ value: JSONValue, extraFields: Set<String> = [], names: StreamNameTable) throws(FieldError) -> EdgeReport {
        guard case .object(let members) = value else { throw FieldError(field: "body", problem: "must be a JSON object") }
        var r = EdgeReport()
        // Stream names are interned only once the whole report is valid (a refused one adds nothing).
        var streamNames: [String] = [], streamFigures: [EdgeStreamStats]?
        for (key, v) in members {
            switch key {
            case "cpu_permille": r.cpuPermille = try uint(v, key, max: 1000)
            case "ram_used_bytes": r.ramUsedBytes = try uint(v, key)
            case "ram_max_bytes": r.ramMaxBytes = try uint(v, key)
            case "up_bytes_per_sec": r.upBytesPerSec = try uint(v, key)
            case "down_bytes_per_sec": r.downBytesPerSec = try uint(v, key)
            case "bw_limit_bytes_per_sec": r.bwLimitBytesPerSec = try uint(v, key)
            case "lat":
                guard let d = v.doubleValue, d >= -90, d <= 90 else { throw FieldError(field: key, problem: "must be a number in -90...90") }
                r.lat = d
            case "lon":
                guard let d = v.doubleValue, d >= -180, d <= 180 else { throw FieldError(field: key, problem: "must be a number in -180...180") }
                r.lon = d
            case "location":
                guard let s = v.stringValue, s.utf8.count <= 256 else { throw FieldError(field: key, problem: "must be a string of at most 256 bytes") }
                if let problem = InputRules.textProblem(s) { throw FieldError(field: key, problem: problem) }
                r.location = s
            case "tags":
                guard let items = v.arrayValue, items.count <= maxTags else {
                    throw FieldError(field: key, problem: "must be an array of at most \(maxTags) strings")
                }
                var tags: [String] = []
                for item in items {
                    guard let s = item.stringValue, !s.isEmpty, s.utf8.count <= 64, !s.contains(","), !s.hasPrefix("-"), InputRules.textProblem(s) == nil else {
                        throw FieldError(field: key, problem: "each tag must be a non-empty string of at most 64 bytes without ',', a leading '-' or control bytes")
                    }
                    if !tags.contains(s) { tags.append(s) }
                }
                r.tags = tags
            case "capabilities":
                guard let items = v.arrayValue else { throw FieldError(field: key, problem: "must be an array of edge|ingest|storage|processing") }
                var caps: EdgeCapabilities = []
                for item in items {
                    guard let s = item.stringValue, let c = EdgeCapabilities.named(s) else {
                        throw FieldError(field: key, problem: "unknown capability \(item.jsonText); expected edge|ingest|storage|processing")
                    }
                    caps.insert(c)
                }
                r.capabilities = caps
            case "base_url":
                guard let s = v.stringValue else { throw FieldError(field: key, problem: "must be an absolute http(s) URL with a host") }
                if let problem = InputRules.baseURLProblem(s) { throw FieldError(field: key, problem: problem) }
                r.baseURL = s
            case "outputs":
                guard case .object(let outs) = v, outs.count <= maxOutputs else {
                    throw FieldError(field: key, problem: "must be an object of at most \(maxOutputs) name → URL template strings")
                }
                var list: [(name: String, template: String)] = []
                for (name, t) in outs {
                    // Mist reports some outputs as [template, ...]; take the first string.
                    let template = t.stringValue ?? t.arrayValue?.first?.stringValue
                    guard let template, !template.isEmpty, template.utf8.count <= 2048, !name.isEmpty, name.utf8.count <= 64 else {
                        throw FieldError(field: "outputs.\(name)", problem: "must be a URL template string (at most 2048 bytes)")
                    }
                    if let problem = InputRules.templateProblem(template) { throw FieldError(field: "outputs.\(name)", problem: problem) }
                    if let problem = InputRules.textProblem(name, maxBytes: 64) { throw FieldError(field: "outputs", problem: "output name: \(problem)") }
                    list.append((name, template))
                }
                r.outputs = list
            case "streams":
                guard case .object(let items) = v, items.count <= maxStreams else {
                    throw FieldError(field: key, problem: "must be an object of stream name → {inputs, viewers, up_bytes_per_sec, bytes_up, bytes_down, replicated}")
                }
                var names: [String] = [], figures: [EdgeStreamStats] = []
                var totals: [(name: String, up: UInt64, down: UInt64)] = []
                names.reserveCapacity(items.count)
                figures.reserveCapacity(items.count)
                for (name, s) in items {
                    // The field's name only for an error (built for every stream, it cost ≈ 6 % of
                    // reading a 10,000-edge config file).
                    func field(_ sub: String = "") -> String { sub.isEmpty ? "streams.\(name)" : "streams.\(name).\(sub)" }
                    if let problem = InputRules.streamNameProblem(name) { throw FieldError(field: field(), problem: problem) }
                    guard case .object(let stats) = s else { throw FieldError(field: field(), problem: "must be an object") }
                    var st = EdgeStreamStats()
                    var bytesUp: UInt64?, bytesDown: UInt64?
                    for (k, sv) in stats {
                        switch k {
                        case "inputs": st.inputs = UInt32(try uint(sv, field: field("inputs"), max: UInt64(UInt32.max)))
                        case "viewers": st.viewers = UInt32(try uint(sv, field: field("viewers"), max: UInt64(UInt32.max)))
                        case "up_bytes_per_sec": st.upBytesPerSec = try uint(sv, field: field("up_bytes_per_sec"))
                        case "bytes_up": bytesUp = try uint(sv, field: field("bytes_up"))
                        case "bytes_down": bytesDown = try uint(sv, field: field("bytes_down"))
                        case "replicated":
                            guard let b = sv.boolValue else { throw FieldError(field: field("replicated"), problem: "must be a boolean") }
                            st.replicated = b
                        default: throw FieldError(field: field(k), problem: "unknown field")
                        }
                    }
                    names.append(name)
                    figures.append(st)
                    if bytesUp != nil || bytesDown != nil { totals.append((name, bytesUp ?? 0, bytesDown ?? 0)) }
                }
                streamNames = names
                r.streamByteTotals = totals
                streamFigures = figures
            default:
                if extraFields.contains(key) { continue }
                throw FieldError(field: key, problem: "unknown field")
            }
        }
        if let used = r.ramUsedBytes, let max = r.ramMaxBytes, used > max {
            throw FieldError(field: "ram_used_bytes", problem: "\(used) exceeds ram_max_bytes (\(max))")
        }
        if (r.lat == nil) != (r.lon == nil) {
            throw FieldError(field: r.lat == nil ? "lat" : "lon", problem: "lat and lon must be given together")
        }
        if let streamFigures { r.streamEntries = (names.ids(for: streamNames), streamFigures) }
        return r
    }

    private static func uint(_ v: JSONValue, _ field: String, max: UInt64 = 1 << 53) throws(FieldError) -> UInt64 {
        try uint(v, field: field, max: max)
    }

    /// `field` is evaluated only when `v` is refused.
    private static func uint(_ v: JSONValue, field: @autoclosure () -> String, max: UInt64 = 1 << 53) throws(FieldError) -> UInt64 {
        guard let i = v.intValue, i >= 0, UInt64(i) <= max else {
            throw FieldError(field: field(), problem: "must be an integer in 0...\(max)")
        }
        return UInt64(i)
    }

    /// Merges into `edge`; a report resets the edge's pending (anti-herd) bandwidth.
    public func apply(to edge: inout EdgeState, nowMs: UInt64) {
        if let v = cpuPermille { edge.cpuPermille = v }
        if let v = ramUsedBytes { edge.ramUsedBytes = v }
        if let v = ramMaxBytes { edge.ramMaxBytes = v }
        if let v = upBytesPerSec { edge.upBytesPerSec = v }
        if let v = downBytesPerSec { edge.downBytesPerSec = v }
        if let v = bwLimitBytesPerSec { edge.bwLimitBytesPerSec = v }
        if let lat, let lon, GeoPoint.isValid(lat: lat, lon: lon) {
            edge.lat = lat
            edge.lon = lon
        }
        if let v = location { edge.location = v }
        if let v = tags { edge.tags = v }
        if let v = capabilities { edge.capabilities = v }
        if let v = baseURL { edge.baseURL = v }
        if let v = outputs { edge.outputs = v }
        if let e = streamEntries { edge.setStreams(ids: e.ids, stats: e.stats) }
        if baseURL != nil || outputs != nil || edge.publicHost.isEmpty { edge.resolveURLs() }
        edge.lastReportMs = nowMs
        edge.clearPending()
        edge.reports += 1
    }
}
