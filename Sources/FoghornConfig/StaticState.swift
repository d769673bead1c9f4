public import FoghornModel
import FoghornJSON

/// Edges and playback records declared in the config file, validated.
public enum StaticState {
    public static let edgeExtraFields: Set<String> = ["node_id", "tenant", "mode", "public_ip"]

    public static func parse(_ config: FoghornConfiguration) throws(ConfigError) -> (edges: [EdgeState], playback: [PlaybackRecord]) {
        var edges: [EdgeState] = []
        edges.reserveCapacity(config.edges.count)
        var seenNodeIds = Set<String>(minimumCapacity: config.edges.count)
        for (i, item) in config.edges.enumerated() {
            let key = "edges[\(i)]"
            guard let id = item["node_id"]?.stringValue, isValidNodeId(id) else {
                throw ConfigError(key: "\(key).node_id", problem: "required: 1-64 characters of [A-Za-z0-9_.-]", source: "file")
            }
            if !seenNodeIds.insert(id).inserted {
                throw ConfigError(key: "\(key).node_id", problem: "duplicate node_id \"\(id)\"", source: "file")
            }
            let report: EdgeReport
            do {
                report = try EdgeReport.parse(item, extraFields: edgeExtraFields)
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
            edges.append(edge)
        }
        var playback: [PlaybackRecord] = []
        playback.reserveCapacity(config.playback.count)
        var seenPlaybackIds = Set<String>(minimumCapacity: config.playback.count)
        for (i, item) in config.playback.enumerated() {
            let key = "playback[\(i)]"
            guard case .object(let members) = item else { throw ConfigError(key: key, problem: "must be an object {id, stream}", source: "file") }
            for (k, _) in members where !["id", "stream", "tenant", "cluster"].contains(k) {
                throw ConfigError(key: "\(key).\(k)", problem: "unknown field", source: "file")
            }
            guard let id = item["id"]?.stringValue, isValidPlaybackId(id) else {
                throw ConfigError(key: "\(key).id", problem: "required: 1-128 characters of [A-Za-z0-9_+-]", source: "file")
            }
            guard let stream = item["stream"]?.stringValue, !stream.isEmpty, stream.utf8.count <= 256 else {
                throw ConfigError(key: "\(key).stream", problem: "required: the internal stream name (1-256 bytes)", source: "file")
            }
            if !seenPlaybackIds.insert(id).inserted {
                throw ConfigError(key: "\(key).id", problem: "duplicate playback id \"\(id)\"", source: "file")
            }
            playback.append(PlaybackRecord(
                playbackId: id, stream: stream, tenant: item["tenant"]?.stringValue ?? "", cluster: item["cluster"]?.stringValue ?? ""))
        }
        return (edges, playback)
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
