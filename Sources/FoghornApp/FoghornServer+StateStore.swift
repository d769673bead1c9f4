import FoghornConfig
import FoghornControl
import FoghornRedis
import FoghornState
import Logging
#if canImport(Glibc)
import Glibc
#endif

extension FoghornServer {
    /// The configured state store: Redis when `state.redis_url` is set (replicas), else the
    /// SQLite file at `state_path`.
    func openStateStore() throws -> any StateStore {
        guard !config.stateRedisUrl.isEmpty else { return try SQLiteStateStore(path: config.statePath) }
        var address: RedisAddress
        do throws(RedisAddress.ParseError) { address = try RedisAddress.parse(config.stateRedisUrl) } catch {
            guard case .invalid(let problem) = error else { throw StateStoreError(code: "STATE_OPEN_FAILED", message: "state.redis_url") }
            throw StateStoreError(code: "STATE_OPEN_FAILED", message: "state.redis_url: \(problem)")
        }
        if !config.stateRedisPasswordFile.isEmpty {
            guard let text = FoghornServer.readSmallFile(config.stateRedisPasswordFile) else {
                throw StateStoreError(code: "STATE_OPEN_FAILED", message: "state.redis_password_file: cannot read \(config.stateRedisPasswordFile)")
            }
            address.password = String(text.prefix { $0 != "\n" && $0 != "\r" })
        }
        let replica = config.replicaId.isEmpty ? FoghornServer.defaultReplicaId() : config.replicaId
        let store = RedisStateStore(address: address, cluster: config.clusterId.isEmpty ? "default" : config.clusterId, replicaId: replica,
                                    changelogMaxLength: config.stateChangelogMax)
        let logger = self.logger
        store.log = { level, message in
            switch level {
            case "critical": logger.critical("\(message)")
            case "error": logger.error("\(message)")
            case "warning": logger.warning("\(message)")
            default: logger.info("\(message)")
            }
        }
        return store
    }

    /// `<host name>-<pid>-<4 hex>`: unique per process, readable in logs.
    static func defaultReplicaId() -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(cString: name)
        return "\(host.isEmpty ? "foghorn" : host)-\(getpid())-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
    }

    static func readSmallFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = fread(&buffer, 1, buffer.count, f)
        return String(decoding: buffer[..<n], as: UTF8.self)
    }
}
