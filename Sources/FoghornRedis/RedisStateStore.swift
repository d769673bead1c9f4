public import FoghornHTTP
public import FoghornState
import FoghornJSON
import FoghornModel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The state store for replicas: durable records in Redis, every commit also a changelog entry
/// (a Redis stream) that every other replica tails and applies, and edge reports fanned out to
/// every replica over pub/sub. Runs on the control loop (hiredis's libuv adapter): three
/// connections — commands, the changelog tail (`XREAD BLOCK`), the report subscription.
///
/// Redis unreachable or stalled (no answer within ``commandTimeoutMs``): commits fail at once
/// (503 `STATE_UNAVAILABLE`), routing goes on from memory, reports apply locally; the connection
/// is re-dialled with a backoff and, once back, the replica reads everything again (a resync)
/// and tails from there. Redis back *empty* (its epoch key gone): the replica re-seeds it from
/// memory before anything else and logs it.
public final class RedisStateStore: StateStore, @unchecked Sendable {
    public let backend = "redis"
    public var location: String { address.description }
    public let address: RedisAddress
    public let replicaId: String
    let prefix: String
    let changelogMaxLength: Int
    /// A command unanswered this long marks the connection dead (a stopped or partitioned Redis).
    public static let commandTimeoutMs: UInt64 = 2000
    static let startupTimeoutMs = 3000

    // Control-loop state.
    private var loop: EventLoop?
    private var cmd: RedisAsyncClient?
    private var tail: RedisAsyncClient?
    private var sub: RedisAsyncClient?
    private var ticker: LoopTimer?
    private var reconnectTimer: LoopTimer?
    private var backoffMs: UInt64 = 100
    /// The last changelog entry applied (`0-0`: none).
    public private(set) var lastAppliedId = "0-0"
    /// The changelog's newest entry as last seen (once a second).
    public private(set) var headId = "0-0"
    /// How far this replica's applied changelog trails its head, in the entries' own clock (ms).
    public var lagMs: UInt64 {
        let head = RedisStateStore.entryMs(headId), applied = RedisStateStore.entryMs(lastAppliedId)
        return head > applied ? head - applied : 0
    }
    static func entryMs(_ id: String) -> UInt64 { UInt64(id.prefix { $0 != "-" }) ?? 0 }
    static func entrySeq(_ id: String) -> UInt64 { id.firstIndex(of: "-").flatMap { UInt64(id[id.index(after: $0)...]) } ?? 0 }
    /// Whether stream entry ID `a` precedes `b`.
    static func isBefore(_ a: String, _ b: String) -> Bool {
        let (am, bm) = (entryMs(a), entryMs(b))
        return am != bm ? am < bm : entrySeq(a) < entrySeq(b)
    }
    /// Times the changelog had been trimmed past this replica's position (each followed by a resync).
    public private(set) var gaps: UInt64 = 0
    /// Called when commits become possible or impossible (Redis reachable and caught up, or not).
    public var onAvailability: ((Bool) -> Void)?
    /// The dataset's epoch as last read (`nil`: not read yet).
    private var epoch: String?
    /// Ready for commits: connected and caught up.
    public private(set) var isAvailable = false {
        didSet { if isAvailable != oldValue { onAvailability?(isAvailable) } }
    }
    private var resyncing = false
    /// Commands waiting for their answer, by sequence number: when sent, and what to tell.
    private var pending: [Int: (sentMs: UInt64, done: @Sendable (Result<Void, StateStoreError>) -> Void)] = [:]
    private var pendingIds = 0
    private var tailSentMs: UInt64 = 0
    private var lastPingMs: UInt64 = 0
    public private(set) var reconnects: UInt64 = 0
    public private(set) var resyncs: UInt64 = 0
    public private(set) var reseeds: UInt64 = 0
    public private(set) var remoteEntriesApplied: UInt64 = 0
    public private(set) var reportsPublished: UInt64 = 0
    public private(set) var reportsReceived: UInt64 = 0

    /// Other replicas' committed mutations, in changelog order (on the control loop).
    public var onRemote: (([StateMutation]) -> Void)?
    /// Everything as Redis holds it after a reconnect (on the control loop).
    public var onResync: ((DurableState) -> Void)?
    /// This replica's durable state, to re-seed an emptied Redis.
    public var seedSource: (() -> DurableState)?
    /// An edge report another replica received: node ID and the report's JSON body.
    public var onReport: ((String, [UInt8]) -> Void)?
    /// Pending bandwidth another replica assigned, by edge (every ≤ 100 ms while it redirects).
    public var onPending: (([(nodeId: String, bytesPerSec: UInt64)]) -> Void)?
    /// This replica's redirects not yet shared, and the timer that shares them.
    private var pendingOut: [String: UInt64] = [:]
    private var pendingTimer: LoopTimer?
    /// How often a replica shares its redirects: the anti-herd estimate another replica
    /// routes on is at most this (plus a pub/sub hop) behind.
    public static let pendingShareMs: UInt64 = 100
    public private(set) var pendingShared: UInt64 = 0
    public private(set) var pendingReceived: UInt64 = 0
    /// PeerChannel ownership (replicas): the lease, and what the owner and followers exchange.
    public enum PeerMessageKind: String, Sendable { case remote, query, answer }
    public var onPeer: ((PeerMessageKind, String, [UInt8]) -> Void)?
    /// This replica gained (true) or lost (false) the peer-channel lease.
    public var onOwnership: ((Bool) -> Void)?
    public private(set) var ownsPeering = false
    private var leaseMs: UInt64 = 0
    private var leaseAttemptMs: UInt64 = 0
    private var leaseHeldMs: UInt64 = 0
    public private(set) var ownershipChanges: UInt64 = 0
    /// A line for the log (level, message).
    public var log: ((String, String) -> Void)?

    public init(address: RedisAddress, cluster: String, replicaId: String, changelogMaxLength: Int = 100_000) {
        self.address = address
        self.replicaId = replicaId
        prefix = "foghorn:\(cluster):"
        self.changelogMaxLength = changelogMaxLength
    }

    // MARK: Start-up

    /// Reads everything (blocking, before the loops run); fails when Redis cannot be reached.
    /// A Redis with no epoch gets one (an empty dataset starts here).
    public func load() throws(StateStoreError) -> DurableState {
        let c = try RedisSyncConnection(address, timeoutMs: Self.startupTimeoutMs)
        defer { c.close() }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        _ = try c.command(["EVAL", RedisScripts.dropExpiredTokens, "1", prefix, String(now.tv_sec)])
        var reply = try c.command(["EVAL", RedisScripts.load, "1", prefix])
        if reply.array?.first == .null {
            _ = try c.command(["SET", prefix + "epoch", Self.newEpoch(), "NX"])
            reply = try c.command(["EVAL", RedisScripts.load, "1", prefix])
        }
        guard let (state, lastId, epoch) = Self.decodeLoad(reply) else {
            throw StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis load failed: \(reply.errorText ?? "unexpected reply")")
        }
        lastAppliedId = lastId
        self.epoch = epoch
        return state
    }

    public func sharedSecret(creatingWith candidate: [UInt8]) throws(StateStoreError) -> [UInt8] {
        let c = try RedisSyncConnection(address, timeoutMs: Self.startupTimeoutMs)
        defer { c.close() }
        _ = try c.command(["SET", prefix + "secret", Hex.encode(candidate), "NX"])
        guard let text = try c.command(["GET", prefix + "secret"]).text, let bytes = Hex.decode(text), !bytes.isEmpty else {
            throw StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis: cannot read the cluster secret")
        }
        return bytes
    }

    /// Connects on `loop` (the control loop) and starts tailing from the loaded state.
    public func start(on loop: EventLoop) {
        self.loop = loop
        ticker = LoopTimer(loop: loop) { [unowned self] in tick() }
        ticker?.start(afterMs: 250, repeatMs: 250)
        reconnectTimer = LoopTimer(loop: loop) { [unowned self] in connectAll() }
        connectAll()
    }

    /// Nothing left to close once ``shutdown()`` ran on the control loop (a shutdown hook);
    /// hiredis's handles live on that loop and cannot be closed after it stopped.
    public func close() {
        if ticker == nil { failPending("the state store is closed") }
    }

    /// Closes every connection; on the control loop, before it stops.
    public func shutdown() {
        ticker?.close()
        reconnectTimer?.close()
        pendingTimer?.close()
        ticker = nil
        reconnectTimer = nil
        pendingTimer = nil
        for c in [cmd, tail, sub] { c?.close() }
        cmd = nil; tail = nil; sub = nil
        failPending("the state store is closed")
        isAvailable = false
    }

    // MARK: Connections

    /// Called once, on the control loop, when this replica first listens to every channel the
    /// others publish on (reports, pending bandwidth, peer messages): what they publish before
    /// then never reaches it (pub/sub keeps nothing), so the process is not ready until then.
    public var onListening: (() -> Void)?

    private func connectAll() {
        guard let loop else { return }
        if cmd == nil || !(cmd!.isOpen) {
            let c = RedisAsyncClient(loop: loop, address: address)
            c.onConnected = { [unowned self] in commandConnected() }
            c.onDisconnected = { [unowned self] error in connectionLost("commands", error) }
            cmd = c
            c.connect()
        }
        if sub == nil || !(sub!.isOpen) {
            let s = RedisAsyncClient(loop: loop, address: address)
            s.onDisconnected = { [unowned self] error in connectionLost("reports", error) }
            s.onConnected = { [unowned self, weak s] in
                var confirmed = 0
                let channels = 5
                let confirm = { [unowned self] in
                    confirmed += 1
                    if confirmed == channels, let listening = onListening {
                        onListening = nil  // once: a later reconnect does not make the replica unready meanwhile
                        listening()
                    }
                }
                s?.subscribe(prefix + "reports", onSubscribed: confirm) { [unowned self] payload in received(payload) }
                s?.subscribe(prefix + "pending", onSubscribed: confirm) { [unowned self] payload in receivedPending(payload) }
                for kind in [PeerMessageKind.remote, .query, .answer] {
                    s?.subscribe(prefix + "peer-" + kind.rawValue, onSubscribed: confirm) { [unowned self] payload in receivedPeer(kind, payload) }
                }
            }
            sub = s
            s.connect()
        }
    }

    private func connectionLost(_ which: String, _ error: String) {
        if isAvailable || which == "commands" { log?("warning", "Redis \(which) connection lost: \(error); routing goes on from memory, admin writes answer 503") }
        if which == "commands" {
            isAvailable = false
            cmd = nil
            tail?.close()
            tail = nil
            failPending("Redis connection lost: \(error)")
        } else {
            sub = nil
        }
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        guard let reconnectTimer, !reconnectTimer.isActive else { return }
        reconnects += 1
        reconnectTimer.start(afterMs: backoffMs)
        backoffMs = min(backoffMs * 2, 2000)
    }

    private func commandConnected() {
        backoffMs = 100
        if !everConnected && epoch != nil {
            // The first connection after the start-up load: nothing to catch up but the tail.
            everConnected = true
            isAvailable = true
            startTail()
        } else {
            everConnected = true
            resync()
        }
    }

    private var everConnected = false

    /// Reads everything again (after an outage), re-seeding an emptied Redis first.
    private func resync() {
        guard let cmd, !resyncing else { return }
        resyncing = true
        resyncs += 1
        cmd.send(["EVAL", RedisScripts.load, "1", prefix]) { [unowned self] reply in
            resyncing = false
            guard let reply, let (state, lastId, loadedEpoch) = Self.decodeLoad(reply) else {
                if let reply { log?("error", "Redis resync failed: \(reply.errorText ?? "unexpected reply")") }
                return
            }
            if loadedEpoch == nil || loadedEpoch != epoch {
                reseed(reason: loadedEpoch == nil ? "Redis came back without data (restarted empty?)" : "Redis's dataset was replaced")
                return
            }
            lastAppliedId = lastId
            onResync?(state)
            isAvailable = true
            startTail()
        }
    }

    /// Writes this replica's durable state into Redis (merged with what other replicas wrote),
    /// sets a new epoch if none is set, then resyncs.
    private func reseed(reason: String) {
        guard let cmd else { return }
        let mine = seedSource?() ?? DurableState()
        let fresh = Self.newEpoch()
        reseeds += 1
        log?("critical", "\(reason): re-seeding it from this replica's memory (\(mine.edges.count) registrations, \(mine.playback.count) playback records)")
        let body = JSONValue.array(mine.mutations.map(\.json)).jsonText
        cmd.send(["EVAL", RedisScripts.commit, "1", prefix, replicaId, String(changelogMaxLength), body, "seed", fresh]) { [unowned self] reply in
            if let reply, reply.isError { log?("error", "Redis re-seed failed: \(reply.errorText ?? "")") }
            cmd.send(["GET", prefix + "epoch"]) { [unowned self] r in
                epoch = r?.text
                resync()
            }
        }
    }

    private func startTail() {
        guard let loop else { return }
        if tail == nil || !(tail!.isOpen) {
            let t = RedisAsyncClient(loop: loop, address: address)
            t.onDisconnected = { [unowned self] error in
                tail = nil
                if isAvailable { log?("warning", "Redis changelog connection lost: \(error)") }
                scheduleReconnect()
            }
            t.onConnected = { [unowned self] in readTail() }
            tail = t
            t.connect()
        } else {
            readTail()
        }
    }

    private func readTail() {
        guard let tail, tail.isConnected else { return }
        tailSentMs = loop?.nowMs ?? 0
        tail.send(["XREAD", "COUNT", "1000", "BLOCK", "1000", "STREAMS", prefix + "log", lastAppliedId]) { [unowned self] reply in
            tailSentMs = 0
            guard let reply else { return }  // the connection dropped: reconnect handles it
            applyTail(reply)
            readTail()
        }
    }

    private func applyTail(_ reply: RedisReply) {
        // [[stream, [[id, [field, value, …]], …]]] or null on timeout.
        guard let streams = reply.array, let first = streams.first?.array, first.count == 2, let entries = first[1].array else { return }
        for entry in entries {
            guard let parts = entry.array, parts.count == 2, let id = parts[0].text, let fields = parts[1].array else { continue }
            lastAppliedId = id
            var from = "", body: [UInt8] = []
            var i = 0
            while i + 1 < fields.count {
                if fields[i].text == "r" { from = fields[i + 1].text ?? "" }
                if fields[i].text == "m", case .string(let b) = fields[i + 1] { body = b }
                i += 2
            }
            if RedisStateStore.entryMs(id) > RedisStateStore.entryMs(headId) { headId = id }
            guard from != replicaId else { continue }
            guard let list = (try? JSONParser.parse(body))?.arrayValue else {
                log?("warning", "Redis changelog entry \(id) is not a JSON array: skipped")
                continue
            }
            var mutations: [StateMutation] = []
            for item in list {
                do throws(StateMutation.DecodeError) { mutations.append(try StateMutation(json: item)) } catch {
                    log?("warning", "Redis changelog entry \(id): \(error.problem): skipped")
                }
            }
            remoteEntriesApplied += 1
            onRemote?(mutations)
        }
    }

    // MARK: Commits

    public func commit(_ mutations: [StateMutation], done: @escaping @Sendable (Result<Void, StateStoreError>) -> Void) {
        guard let cmd, isAvailable, let loop else {
            done(.failure(StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis \(address.description) is unreachable")))
            return
        }
        let body = JSONValue.array(mutations.map(\.json)).jsonText
        pendingIds += 1
        let id = pendingIds
        pending[id] = (loop.nowMs, done)
        cmd.send(["EVAL", RedisScripts.commit, "1", prefix, replicaId, String(changelogMaxLength), body, "commit"]) { [unowned self] reply in
            guard let entry = pending.removeValue(forKey: id) else { return }  // failed already (timeout, close)
            finishCommit(reply, entry.done)
        }
    }

    private func finishCommit(_ reply: RedisReply?, _ done: @Sendable (Result<Void, StateStoreError>) -> Void) {
        guard let reply else {
            done(.failure(StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis connection lost before the commit was answered")))
            return
        }
        switch reply {
        case .error(let e) where e.contains("ENROLLMENT_TOKEN_USED"):  // Redis may prefix "ERR "
            done(.failure(.tokenUsedUp))
        case .error(let e) where e.contains("STATE_EPOCH_MISSING"):
            isAvailable = false
            done(.failure(StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis lost its data; re-seeding it")))
            resync()
        case .error(let e):
            done(.failure(StateStoreError(code: "STATE_UNAVAILABLE", message: "Redis refused the commit: \(e)")))
        default:
            done(.success(()))
        }
    }

    private func failPending(_ message: String) {
        let waiting = pending.sorted { $0.key < $1.key }
        pending.removeAll()
        for (_, p) in waiting { p.done(.failure(StateStoreError(code: "STATE_UNAVAILABLE", message: message))) }
    }

    /// Every 250 ms: a command or changelog read unanswered for ``commandTimeoutMs`` means a
    /// stalled Redis — the connection is dropped (its waiters fail) and re-dialled; an idle
    /// command connection is pinged once a second so a stall is noticed without writes.
    private func tick() {
        guard let loop else { return }
        let now = loop.nowMs
        tendLease(now: now)
        if let oldest = pending.values.map(\.sentMs).min(), now &- oldest > Self.commandTimeoutMs, let c = cmd {
            log?("warning", "Redis did not answer within \(Self.commandTimeoutMs) ms: reconnecting")
            c.close()
            connectionLost("commands", "no answer within \(Self.commandTimeoutMs) ms")
            return
        }
        if tailSentMs != 0, now &- tailSentMs > Self.commandTimeoutMs + 1000 {
            // A stalled changelog read: Redis is stalled for the commands too. Drop both; the
            // reconnect resyncs.
            tailSentMs = 0
            cmd?.close()
            connectionLost("commands", "changelog read stalled")
            return
        }
        if let c = cmd, c.isConnected, pending.isEmpty, now &- lastPingMs >= 1000 {
            lastPingMs = now
            pendingIds += 1
            let id = pendingIds
            pending[id] = (now, { _ in })
            // Liveness, the changelog's head and the newest entry it trimmed, in one round trip: a
            // trimmed entry newer than the last one applied means this replica fell behind by
            // more than `changelog_max` and missed it: read everything again.
            c.send(["EVAL", RedisScripts.ends, "1", prefix]) { [unowned self] reply in
                pending[id] = nil
                guard let ends = reply?.array, ends.count == 2 else { return }
                if let head = ends[1].text, head != "0-0" { headId = head }
                if let trimmed = ends[0].text, trimmed != "0-0", isAvailable, !resyncing, RedisStateStore.isBefore(lastAppliedId, trimmed) {
                    log?("warning", "Redis changelog trimmed past this replica's position (\(lastAppliedId) < \(trimmed)): reading everything again")
                    gaps += 1
                    resync()
                }
            }
        }
    }

    // MARK: Reports

    /// Publishes an edge report this replica received, for the others to apply.
    public func publishReport(nodeId: String, body: [UInt8]) {
        guard let cmd, cmd.isConnected else { return }
        reportsPublished += 1
        var payload = Array("\(replicaId)\n\(nodeId)\n".utf8)
        payload.append(contentsOf: body)
        cmd.send([Array("PUBLISH".utf8), Array((prefix + "reports").utf8), payload]) { _ in }
    }

    private func received(_ payload: [UInt8]) {
        guard let a = payload.firstIndex(of: 10), let b = payload[(a + 1)...].firstIndex(of: 10) else { return }
        let from = String(decoding: payload[..<a], as: UTF8.self)
        guard from != replicaId else { return }
        let node = String(decoding: payload[(a + 1)..<b], as: UTF8.self)
        reportsReceived += 1
        onReport?(node, Array(payload[(b + 1)...]))
    }

    // MARK: PeerChannel ownership

    /// Competes for the cluster's peer-channel lease (`SET … NX PX`), renewed every third of
    /// `ms`; a holder that could not renew for two thirds of it steps down before the lease can
    /// pass to another replica. `ms` is `peering.dead_after_s`: an owner's death hands the
    /// channels over within it.
    public func enablePeeringLease(ms: UInt64) { leaseMs = max(ms, 1500) }

    private var leaseKey: String { prefix + "peering-owner" }

    private func tendLease(now: UInt64) {
        guard leaseMs > 0 else { return }
        if ownsPeering && now &- leaseHeldMs > leaseMs * 2 / 3 { setOwnership(false) }
        guard let c = cmd, c.isConnected, now &- leaseAttemptMs >= leaseMs / 3 else { return }
        leaseAttemptMs = now
        if ownsPeering {
            c.send(["EVAL", "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end",
                    "1", leaseKey, replicaId, String(leaseMs)]) { [unowned self] reply in
                if reply == .integer(1) { leaseHeldMs = loop?.nowMs ?? leaseHeldMs } else if reply != nil { setOwnership(false) }
            }
        } else {
            c.send(["SET", leaseKey, replicaId, "NX", "PX", String(leaseMs)]) { [unowned self] reply in
                if reply == .status("OK") {
                    leaseHeldMs = loop?.nowMs ?? 0
                    setOwnership(true)
                }
            }
        }
    }

    private func setOwnership(_ owner: Bool) {
        guard owner != ownsPeering else { return }
        ownsPeering = owner
        ownershipChanges += 1
        onOwnership?(owner)
    }

    /// Publishes to the peer-channel owner or its followers.
    public func publishPeer(_ kind: PeerMessageKind, _ name: String, _ body: [UInt8]) {
        guard let cmd, cmd.isConnected else { return }
        var payload = Array("\(replicaId)\n\(name)\n".utf8)
        payload.append(contentsOf: body)
        cmd.send([Array("PUBLISH".utf8), Array((prefix + "peer-" + kind.rawValue).utf8), payload]) { _ in }
    }

    private func receivedPeer(_ kind: PeerMessageKind, _ payload: [UInt8]) {
        guard let a = payload.firstIndex(of: 10), let b = payload[(a + 1)...].firstIndex(of: 10) else { return }
        guard String(decoding: payload[..<a], as: UTF8.self) != replicaId else { return }
        let name = String(decoding: payload[(a + 1)..<b], as: UTF8.self)
        guard !name.isEmpty, name.utf8.count <= 256 else { return }
        onPeer?(kind, name, Array(payload[(b + 1)...]))
    }

    // MARK: Pending bandwidth (anti-herd across replicas)

    /// Adds this replica's redirects to the next share (at most ``pendingShareMs`` away).
    public func sharePending(_ amounts: [(nodeId: String, bytesPerSec: UInt64)]) {
        for (node, bytes) in amounts { pendingOut[node, default: 0] &+= bytes }
        guard let loop, !pendingOut.isEmpty else { return }
        if pendingTimer == nil { pendingTimer = LoopTimer(loop: loop) { [unowned self] in flushPending() } }
        if let t = pendingTimer, !t.isActive { t.start(afterMs: Self.pendingShareMs) }
    }

    private func flushPending() {
        guard !pendingOut.isEmpty else { return }
        guard let cmd, cmd.isConnected else {
            pendingOut.removeAll()  // an estimate: not worth keeping through an outage
            return
        }
        var payload = Array("\(replicaId)\n".utf8)
        for (node, bytes) in pendingOut { payload.append(contentsOf: Array("\(node) \(bytes)\n".utf8)) }
        pendingOut.removeAll(keepingCapacity: true)
        pendingShared += 1
        cmd.send([Array("PUBLISH".utf8), Array((prefix + "pending").utf8), payload]) { _ in }
    }

    private func receivedPending(_ payload: [UInt8]) {
        let lines = payload.split(separator: 10)
        guard let first = lines.first, String(decoding: first, as: UTF8.self) != replicaId else { return }
        var amounts: [(nodeId: String, bytesPerSec: UInt64)] = []
        for line in lines.dropFirst() {
            guard let space = line.lastIndex(of: 32), let bytes = UInt64(String(decoding: line[(space + 1)...], as: UTF8.self)),
                  bytes <= 1 << 40 else { continue }
            let node = String(decoding: line[line.startIndex..<space], as: UTF8.self)
            guard !node.isEmpty, node.utf8.count <= 256 else { continue }
            amounts.append((node, bytes))
        }
        pendingReceived += 1
        if !amounts.isEmpty { onPending?(amounts) }
    }

    // MARK: Decoding

    static func decodeLoad(_ reply: RedisReply) -> (DurableState, String, String?)? {
        guard let a = reply.array, a.count == 8, let lastId = a[1].text else { return nil }
        var s = DurableState()
        func pairs(_ r: RedisReply) -> [(String, [UInt8])] {
            guard let items = r.array else { return [] }
            var out: [(String, [UInt8])] = []
            var i = 0
            while i + 1 < items.count {
                if let k = items[i].text, case .string(let v) = items[i + 1] { out.append((k, v)) }
                i += 2
            }
            return out
        }
        func mutation(_ bytes: [UInt8]) -> StateMutation? {
            guard let v = try? JSONParser.parse(bytes) else { return nil }
            return try? StateMutation(json: v)
        }
        for (_, v) in pairs(a[2]) { if let m = mutation(v) { s.apply(m) } }
        for (id, v) in pairs(a[3]) {
            guard let j = try? JSONParser.parse(v), let uses = j["uses"]?.intValue, let exp = j["exp"]?.intValue else { continue }
            s.tokens[id] = .init(uses: Int(clamping: uses), expiresAt: exp, revoked: j["revoked"] == .bool(true))
        }
        for (_, v) in pairs(a[4]) { if let m = mutation(v) { s.apply(m) } }
        for (_, v) in pairs(a[5]) { if let m = mutation(v) { s.apply(m) } }
        for (_, v) in pairs(a[6]) { if let m = mutation(v) { s.apply(m) } }
        if case .string(let w) = a[7], let m = mutation(w) { s.apply(m) }
        return (s, lastId, a[0].text)
    }

    static func newEpoch() -> String {
        var bytes = [UInt8](repeating: 0, count: 8)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return Hex.encode(bytes)
    }
}
