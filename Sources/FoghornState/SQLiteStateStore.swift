public import FoghornModel
import FoghornSync
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The embedded state store: one SQLite file (`state_path`) in WAL mode, written by one writer
/// thread. ``commit(_:done:)`` queues; the writer takes everything queued, commits it in one
/// transaction (`synchronous=FULL`: on disk when `done` runs, a power cut included) and calls
/// each `done` in order. One batch that fails (a constraint, say) is rolled back alone (a
/// savepoint per batch); a failed commit fails every batch in it.
///
/// Example: 1,000 admin writes arriving together cost one fsync, not 1,000.
public final class SQLiteStateStore: StateStore, @unchecked Sendable {
    public let backend = "sqlite"
    public let location: String
    private let db: SQLiteDatabase
    private var statements: [String: SQLiteDatabase.Statement] = [:]
    private typealias Job = (mutations: [StateMutation], done: @Sendable (Result<Void, StateStoreError>) -> Void)
    private let queue = Locked<[Job]>([])
    private let wake = WakeupSignal()
    private let stopping = Atomic<Bool>(false)
    private var thread: pthread_t?
    /// Transactions committed (writer thread; how well writes are grouped).
    private let committedCount = Atomic<UInt64>(0)
    public var commits: UInt64 { committedCount.load(ordering: .relaxed) }
    /// The schema version the file had when opened (0: a new file).
    public let openedVersion: Int

    /// Opens or creates `path` (`:memory:`: nothing on disk) and migrates it to the current schema.
    public init(path: String) throws(StateStoreError) {
        location = path
        db = try SQLiteDatabase(path: path)
        if path != ":memory:" {
            try db.exec("PRAGMA journal_mode = WAL")
        }
        try db.exec("PRAGMA synchronous = FULL")
        openedVersion = try StateSchema.migrate(db)
        // Expired tokens' uses no longer matter (an expired token is refused first).
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        try db.prepare("DELETE FROM enrollment_tokens WHERE expires_at <= ?").run([.int(Int64(now.tv_sec))])
    }

    public static var schemaVersion: Int { StateSchema.currentVersion }

    /// Sets the file's schema version (tests: a file as a newer release leaves it).
    func setUserVersion(_ version: Int) throws(StateStoreError) {
        try db.exec("PRAGMA user_version = \(version)")
    }

    // MARK: Loading

    public func load() throws(StateStoreError) -> DurableState {
        var s = DurableState()
        let edges = try db.prepare("SELECT node_id, tenant, domain, public_ip, lat, lon, location, base_url, capabilities, enrolled_at_ms FROM edges")
        while try edges.step() {
            let r = EdgeRegistration(
                nodeId: edges.text(0), tenant: edges.text(1), domain: edges.text(2), publicIP: edges.text(3), lat: edges.real(4), lon: edges.real(5),
                location: edges.text(6), baseURL: edges.text(7), capabilities: EdgeCapabilities(rawValue: UInt8(truncatingIfNeeded: edges.int(8))),
                enrolledAtUnixMs: edges.int(9))
            s.edges[r.nodeId] = r
        }
        let tokens = try db.prepare("SELECT token_id, uses, expires_at, revoked FROM enrollment_tokens")
        while try tokens.step() {
            s.tokens[tokens.text(0)] = .init(uses: Int(clamping: tokens.int(1)), expiresAt: tokens.int(2), revoked: tokens.int(3) != 0)
        }
        let modes = try db.prepare("SELECT node_id, mode FROM edge_modes")
        while try modes.step() {
            if let mode = EdgeMode(rawValue: modes.text(1)) { s.modes[modes.text(0)] = mode }
        }
        let playback = try db.prepare("SELECT playback_id, stream, tenant, cluster FROM playback")
        while try playback.step() {
            let r = PlaybackRecord(playbackId: playback.text(0), stream: playback.text(1), tenant: playback.text(2), cluster: playback.text(3))
            s.playback[r.playbackId] = r
        }
        let weights = try db.prepare("SELECT cpu, ram, bandwidth, geo, stream_bonus, file_cpu, file_ram, file_bandwidth, file_geo, file_stream_bonus FROM weights")
        if try weights.step() {
            func w(_ c: Int32) -> UInt64 { UInt64(clamping: weights.int(c)) }
            s.weights = .init(weights: ScoringWeights(cpu: w(0), ram: w(1), bandwidth: w(2), geo: w(3), streamBonus: w(4)),
                              fileWeights: ScoringWeights(cpu: w(5), ram: w(6), bandwidth: w(7), geo: w(8), streamBonus: w(9)))
        }
        let mist = try db.prepare("SELECT node_id, address, present FROM mist_nodes")
        while try mist.step() { s.mistNodes[mist.text(0)] = .init(address: mist.text(1), present: mist.int(2) != 0) }
        return s
    }

    public func sharedSecret(creatingWith candidate: [UInt8]) throws(StateStoreError) -> [UInt8] {
        let read = try db.prepare("SELECT value FROM meta WHERE key = 'cluster_secret'")
        if try read.step(), let bytes = Hex.decode(read.text(0)), !bytes.isEmpty { return bytes }
        try db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('cluster_secret', ?)").run([.text(Hex.encode(candidate))])
        return candidate
    }

    // MARK: Writing

    public func commit(_ mutations: [StateMutation], done: @escaping @Sendable (Result<Void, StateStoreError>) -> Void) {
        if stopping.load(ordering: .acquiring) {
            done(.failure(StateStoreError(code: "STATE_UNAVAILABLE", message: "the state store is closed")))
            return
        }
        queue.withLock { $0.append((mutations, done)) }
        startIfNeeded()
        wake.notify()
    }

    public func close() {
        stopping.store(true, ordering: .releasing)
        wake.notify()
        if let t = thread { pthread_join(t, nil); thread = nil }
        drain()  // whatever was queued before the close
        statements = [:]
        db.close()
    }

    private let started = Atomic<Bool>(false)

    private func startIfNeeded() {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        pthread_create(&tid, nil, { arg in
            let store = Unmanaged<SQLiteStateStore>.fromOpaque(arg!).takeRetainedValue()
            store.run()
            return nil
        }, box)
        thread = tid
    }

    private func run() {
        while !stopping.load(ordering: .acquiring) {
            if !drain() {
                wake.wait(timeoutMs: 1000) { stopping.load(ordering: .acquiring) || queue.withLock { !$0.isEmpty } }
            }
        }
    }

    /// Commits everything queued; false when nothing was.
    @discardableResult
    private func drain() -> Bool {
        let jobs = queue.withLock { q -> [Job] in
            let taken = q
            q.removeAll(keepingCapacity: true)
            return taken
        }
        guard !jobs.isEmpty else { return false }
        let results: [Result<Void, StateStoreError>]
        do throws(StateStoreError) {
            results = try write(jobs.map(\.mutations))
            committedCount.add(1, ordering: .relaxed)
        } catch {
            results = Array(repeating: .failure(StateStoreError(code: "STATE_UNAVAILABLE", message: "state store commit failed: \(error.message)")), count: jobs.count)
        }
        for (job, result) in zip(jobs, results) { job.done(result) }
        return true
    }

    /// One transaction; a savepoint per batch.
    private func write(_ batches: [[StateMutation]]) throws(StateStoreError) -> [Result<Void, StateStoreError>] {
        try db.exec("BEGIN IMMEDIATE")
        var results: [Result<Void, StateStoreError>] = []
        do throws(StateStoreError) {
            for batch in batches {
                try db.exec("SAVEPOINT batch")
                do throws(StateStoreError) {
                    for m in batch { try apply(m) }
                    try db.exec("RELEASE batch")
                    results.append(.success(()))
                } catch {
                    try db.exec("ROLLBACK TO batch")
                    try db.exec("RELEASE batch")
                    results.append(.failure(error))
                }
            }
            try db.exec("COMMIT")
        } catch {
            try? db.exec("ROLLBACK")
            throw error
        }
        return results
    }

    private func statement(_ sql: String) throws(StateStoreError) -> SQLiteDatabase.Statement {
        if let s = statements[sql] { return s }
        let s = try db.prepare(sql)
        statements[sql] = s
        return s
    }

    private func apply(_ m: StateMutation) throws(StateStoreError) {
        switch m {
        case .registerEdge(let r):
            try statement("""
                INSERT OR REPLACE INTO edges(node_id, tenant, domain, public_ip, lat, lon, location, base_url, capabilities, enrolled_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).run([.text(r.nodeId), .text(r.tenant), .text(r.domain), .text(r.publicIP), r.lat.map(SQLValue.real) ?? .null,
                          r.lon.map(SQLValue.real) ?? .null, .text(r.location), .text(r.baseURL), .int(Int64(r.capabilities.rawValue)),
                          .int(r.enrolledAtUnixMs)])
        case .removeEdge(let id):
            try statement("DELETE FROM edges WHERE node_id = ?").run([.text(id)])
            try statement("DELETE FROM edge_modes WHERE node_id = ?").run([.text(id)])
        case .redeemToken(let id, let maxUses, let exp):
            try statement("""
                INSERT INTO enrollment_tokens(token_id, uses, expires_at) VALUES (?, 1, ?)
                ON CONFLICT(token_id) DO UPDATE SET uses = uses + 1 WHERE uses < ? AND revoked = 0
                """).run([.text(id), .int(exp), .int(Int64(maxUses))])
            if db.changes == 0 { throw StateStoreError.tokenUsedUp }
        case .tokenUses(let id, let uses, let exp):
            try statement("""
                INSERT INTO enrollment_tokens(token_id, uses, expires_at) VALUES (?, ?, ?)
                ON CONFLICT(token_id) DO UPDATE SET uses = max(uses, excluded.uses), expires_at = excluded.expires_at
                """).run([.text(id), .int(Int64(uses)), .int(exp)])
        case .revokeToken(let id, let exp):
            try statement("""
                INSERT INTO enrollment_tokens(token_id, uses, expires_at, revoked) VALUES (?, 0, ?, 1)
                ON CONFLICT(token_id) DO UPDATE SET revoked = 1
                """).run([.text(id), .int(exp)])
        case .setMode(let id, let mode):
            if mode == .normal {
                try statement("DELETE FROM edge_modes WHERE node_id = ?").run([.text(id)])
            } else {
                try statement("INSERT OR REPLACE INTO edge_modes(node_id, mode) VALUES (?, ?)").run([.text(id), .text(mode.rawValue)])
            }
        case .setPlayback(let r):
            try statement("INSERT OR REPLACE INTO playback(playback_id, stream, tenant, cluster) VALUES (?, ?, ?, ?)")
                .run([.text(r.playbackId), .text(r.stream), .text(r.tenant), .text(r.cluster)])
        case .removePlayback(let id):
            try statement("DELETE FROM playback WHERE playback_id = ?").run([.text(id)])
        case .setWeights(let w, let f):
            func v(_ x: UInt64) -> SQLValue { .int(Int64(clamping: x)) }
            try statement("""
                INSERT OR REPLACE INTO weights(id, cpu, ram, bandwidth, geo, stream_bonus, file_cpu, file_ram, file_bandwidth, file_geo, file_stream_bonus)
                VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).run([v(w.cpu), v(w.ram), v(w.bandwidth), v(w.geo), v(w.streamBonus), v(f.cpu), v(f.ram), v(f.bandwidth), v(f.geo), v(f.streamBonus)])
        case .mistNode(let id, let address, let present):
            try statement("INSERT OR REPLACE INTO mist_nodes(node_id, address, present) VALUES (?, ?, ?)")
                .run([.text(id), .text(address), .int(present ? 1 : 0)])
        }
    }
}
