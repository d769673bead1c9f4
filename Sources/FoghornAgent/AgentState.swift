public import FoghornJSON
#if canImport(Glibc)
import Glibc
#endif

/// What enrolment gave this edge, kept in the agent's state file (mode 0600: it holds the
/// credential). Written once at enrolment — to a temporary file, synced, renamed over the old
/// one — so a crash leaves either the old state or the new one, never half of one.
public struct AgentState: Sendable, Equatable {
    public var nodeId: String
    public var edgeToken: String
    public var domain: String
    public var clusterId: String
    public var baseURL: String
    public var reportURL: String
    public var reportIntervalS: Int
    /// The enrolment token's ID (not the token): a different token on the command line means
    /// "enrol again"; the same one is not needed any more.
    public var enrolledWithToken: String
    public var enrolledAtUnix: Int64

    public init(nodeId: String, edgeToken: String, domain: String, clusterId: String, baseURL: String, reportURL: String,
                reportIntervalS: Int, enrolledWithToken: String, enrolledAtUnix: Int64) {
        self.nodeId = nodeId
        self.edgeToken = edgeToken
        self.domain = domain
        self.clusterId = clusterId
        self.baseURL = baseURL
        self.reportURL = reportURL
        self.reportIntervalS = reportIntervalS
        self.enrolledWithToken = enrolledWithToken
        self.enrolledAtUnix = enrolledAtUnix
    }

    public struct FileError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    var json: JSONValue {
        .object([
            (key: "node_id", value: .string(nodeId)), (key: "edge_token", value: .string(edgeToken)), (key: "domain", value: .string(domain)),
            (key: "cluster_id", value: .string(clusterId)), (key: "base_url", value: .string(baseURL)), (key: "report_url", value: .string(reportURL)),
            (key: "report_interval_s", value: .int(Int64(reportIntervalS))), (key: "enrolled_with_token", value: .string(enrolledWithToken)),
            (key: "enrolled_at", value: .int(enrolledAtUnix)),
        ])
    }

    /// Reads `path`: nil when it does not exist; an error when it exists but is not ours.
    public static func load(_ path: String) throws(FileError) -> AgentState? {
        guard let bytes = try AgentFiles.read(path) else { return nil }
        guard let v = try? JSONParser.parse(bytes), let node = v["node_id"]?.stringValue, !node.isEmpty,
              let token = v["edge_token"]?.stringValue, !token.isEmpty else {
            throw FileError(description: "\(path) is not an edge-agent state file (node_id and edge_token missing); move it away to enrol again")
        }
        return AgentState(nodeId: node, edgeToken: token, domain: v["domain"]?.stringValue ?? "", clusterId: v["cluster_id"]?.stringValue ?? "",
                          baseURL: v["base_url"]?.stringValue ?? "", reportURL: v["report_url"]?.stringValue ?? "",
                          reportIntervalS: Int(v["report_interval_s"]?.intValue ?? 5), enrolledWithToken: v["enrolled_with_token"]?.stringValue ?? "",
                          enrolledAtUnix: v["enrolled_at"]?.intValue ?? 0)
    }

    /// Writes atomically with mode 0600.
    public func save(_ path: String) throws(FileError) {
        try AgentFiles.writeAtomically(path, Array(json.jsonText.utf8) + [10], mode: 0o600)
    }

    /// The ID inside an enrolment token (`fhe1.<payload>.<mac>`), read without verifying it
    /// (only Foghorn can); nil when it is not shaped like one.
    public static func tokenId(_ token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "fhe1", let payload = base64URLDecode(parts[1]),
              let v = try? JSONParser.parse(payload), let id = v["id"]?.stringValue else { return nil }
        return id
    }

    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var acc: UInt32 = 0, bits = 0
        for c in text.utf8 {
            let v: UInt32
            switch c {
            case 65...90: v = UInt32(c - 65)
            case 97...122: v = UInt32(c - 71)
            case 48...57: v = UInt32(c + 4)
            case 45: v = 62
            case 95: v = 63
            case 61: continue
            default: return nil
            }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}

/// The agent's few file operations, on libc.
enum AgentFiles {
    /// The file's bytes (at most 16 MiB), nil when it does not exist.
    static func read(_ path: String, limit: Int = 16 << 20) throws(AgentState.FileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw AgentState.FileError(description: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw AgentState.FileError(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `mkdir -p` with mode 0700 for what it creates (the state holds a credential).
    static func makeDirectories(_ dir: String) throws(AgentState.FileError) {
        var st = stat()
        if stat(dir, &st) == 0 { return }
        let parent = directory(of: dir)
        if parent != dir && parent != "." && parent != "/" { try makeDirectories(parent) }
        if mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw AgentState.FileError(description: "cannot create \(dir): \(String(cString: strerror(errno)))")
        }
    }

    /// Text of a small file (`/proc`), nil when unreadable.
    static func text(_ path: String) -> String? {
        guard let b = try? read(path, limit: 1 << 20) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    /// Writes `bytes` to `path` through `path.tmp` (created with `mode`), fsync, rename, and a
    /// sync of the directory.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(AgentState.FileError) {
        try makeDirectories(directory(of: path))
        let tmp = path + ".tmp"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AgentState.FileError(description: "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                let e = String(cString: strerror(errno))
                close(fd)
                unlink(tmp)
                throw AgentState.FileError(description: "cannot write \(tmp): \(e)")
            }
            offset += n
        }
        _ = fchmod(fd, mode)  // whatever the umask
        guard fsync(fd) == 0 else {
            close(fd)
            unlink(tmp)
            throw AgentState.FileError(description: "cannot sync \(tmp): \(String(cString: strerror(errno)))")
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw AgentState.FileError(description: "cannot rename \(tmp) to \(path): \(String(cString: strerror(errno)))")
        }
        let dfd = open(directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}
