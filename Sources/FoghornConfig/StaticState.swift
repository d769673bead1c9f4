public import FoghornModel
public import FoghornJSON

/// Edges and playback records declared in the config file, validated.
public enum StaticState {
    public static let edgeExtraFields: Set<String> = ["node_id", "tenant", "mode", "public_ip"]

    /// The config's static edges and records, typed and validated: those the loader already
    /// converted (``FoghornConfiguration/staticEdges``, ``FoghornConfiguration/staticPlayback``)
    /// followed by any still given as trees (``FoghornConfiguration/edges``/``playback``, e.g. set in code).
    /// Their streams are interned in `names` (the configuration's own table when nil); typed
    /// edges from another table are interned again.
    public static func parse(_ config: FoghornConfiguration, into names: StreamNameTable? = nil) throws(ConfigError) -> (edges: [EdgeState], playback: [PlaybackRecord]) {
        let names = names ?? config.streamNames
        var typed = config.staticEdges
        if names !== config.streamNames {
            for i in typed.indices { typed[i].setStreams(typed[i].streams(in: config.streamNames), in: names) }
        }
        if config.edges.isEmpty && config.playback.isEmpty { return (typed, config.staticPlayback) }
        var builder = Builder(edges: typed, playback: config.staticPlayback, names: names)
        for (i, item) in config.edges.enumerated() { try builder.addEdge(item, index: config.staticEdges.count + i) }
        for (i, item) in config.playback.enumerated() { try builder.addPlayback(item, index: config.staticPlayback.count + i) }
        return (builder.edges, builder.playback)
    }

    /// Moves the trees in `config.edges`/`config.playback` into the typed lists (validating them).
    public static func absorbTrees(_ config: inout FoghornConfiguration) throws(ConfigError) {
        guard !config.edges.isEmpty || !config.playback.isEmpty else { return }
        let typed = try parse(config)
        config.staticEdges = typed.edges
        config.staticPlayback = typed.playback
        config.edges = []
        config.playback = []
    }

    /// Converts static edges and playback records one at a time (the JSON loader feeds it each
    /// element as it is parsed, so a large file never exists as one tree), checking duplicates.
    public struct Builder {
        public private(set) var edges: [EdgeState]
        public private(set) var playback: [PlaybackRecord]
        private var nodeIds: Set<String>
        private var playbackIds: Set<String>

        /// The table stream names are interned in.
        public let names: StreamNameTable

        public init(edges: [EdgeState] = [], playback: [PlaybackRecord] = [], names: StreamNameTable) {
            self.names = names
            self.edges = edges
            self.playback = playback
            nodeIds = Set(edges.map(\.nodeId))
            playbackIds = Set(playback.map(\.playbackId))
        }

        /// `edges[index]`: `node_id` plus report fields, `tenant`, `mode`, `public_ip`.
        public mutating func addEdge(_ item: JSONValue, index i: Int) throws(ConfigError) {
            let key = "edges[\(i)]"
            guard let id = item["node_id"]?.stringValue, isValidNodeId(id) else {
                throw ConfigError(key: "\(key).node_id", problem: "required: 1-64 characters of [A-Za-z0-9_.-]", source: "file")
            }
            if nodeIds.contains(id) {
                throw ConfigError(key: "\(key).node_id", problem: "duplicate node_id \"\(id)\"", source: "file")
            }
            let report: EdgeReport
            do {
                report = try EdgeReport.parse(item, extraFields: edgeExtraFields, names: names)
            } catch {
                throw ConfigError(key: "\(key).\(error.field)", problem: error.problem, source: "file")
            }
            var edge = EdgeState(nodeId: id)
            edge.isStatic = true
            if let t = item["tenant"] {
                guard let s = t.stringValue else { throw ConfigError(key: "\(key).tenant", problem: "must be a string", source: "file") }
                edge.tenant = s
            }
            if let m = item["mode"] {
                guard let s = m.stringValue, let mode = EdgeMode(rawValue: s) else {
                    throw ConfigError(key: "\(key).mode", problem: "must be normal, draining or maintenance", source: "file")
                }
                edge.mode = mode
            }
            if let ip = item["public_ip"]?.stringValue { edge.publicIP = ip }
            report.apply(to: &edge, nowMs: 0)
            nodeIds.insert(id)
            edges.append(edge)
        }

        /// `playback[index]`: `{id, stream, tenant?, cluster?}`.
        public mutating func addPlayback(_ item: JSONValue, index i: Int) throws(ConfigError) {
            let key = "playback[\(i)]"
            guard case .object(let members) = item else { throw ConfigError(key: key, problem: "must be an object {id, stream}", source: "file") }
            for (k, _) in members where !["id", "stream", "tenant", "cluster"].contains(k) {
                throw ConfigError(key: "\(key).\(k)", problem: "unknown field", source: "file")
            }
            guard let id = item["id"]?.stringValue, isValidPlaybackId(id) else {
                throw ConfigError(key: "\(key).id", problem: "required: 1-128 characters of [A-Za-z0-9_+-]", source: "file")
            }
            guard let stream = item["stream"]?.stringValue else {
                throw ConfigError(key: "\(key).stream", problem: "required: the internal stream name (1-256 bytes)", source: "file")
            }
            if let problem = InputRules.streamNameProblem(stream) { throw ConfigError(key: "\(key).stream", problem: problem, source: "file") }
            for field in ["tenant", "cluster"] {
                guard let v = item[field] else { continue }
                guard let text = v.stringValue else { throw ConfigError(key: "\(key).\(field)", problem: "must be a string", source: "file") }
                if let problem = InputRules.textProblem(text, maxBytes: 128) { throw ConfigError(key: "\(key).\(field)", problem: problem, source: "file") }
            }
            guard playbackIds.insert(id).inserted else {
                throw ConfigError(key: "\(key).id", problem: "duplicate playback id \"\(id)\"", source: "file")
            }
            playback.append(PlaybackRecord(
                playbackId: id, stream: stream, tenant: item["tenant"]?.stringValue ?? "", cluster: item["cluster"]?.stringValue ?? ""))
        }
    }

    public static func isValidNodeId(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x5F || b == 0x2D || b == 0x2E
        }
    }

    public static func isValidPlaybackId(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= PlaybackPath.maxIdBytes && id.utf8.allSatisfy { PlaybackPath.isIdByte($0) }
    }
}
