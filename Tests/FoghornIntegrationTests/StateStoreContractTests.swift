import Foundation
import Testing
import FoghornHTTP
import FoghornModel
import FoghornRedis
import FoghornState
import FoghornSync
import FoghornTesting

/// One suite, both stores (docs/DEPLOYMENT.md): what a commit writes a fresh store loads back,
/// and a token's last use is decided by the store — SQLite on a real file, Redis on a real
/// `redis-server` driven from a real event loop.
@Suite(.serialized) struct StateStoreContractTests {
    enum Backend: String, CaseIterable { case sqlite, redis }

    /// A store of `backend` and a way to open a second one on the same data.
    final class Harness: @unchecked Sendable {
        let backend: Backend
        var redis: RedisServer?
        let path: String
        let loop = EventLoop(name: "contract", background: true)
        var store: (any StateStore)!

        init(_ backend: Backend) throws {
            self.backend = backend
            path = try ScratchDirectory.make("foghorn-contract") + "/state.db"
            if backend == .redis { redis = try RedisServer() }
            loop.start()
            store = try open()
        }

        /// What a fresh store on the same data loads (a store that is not started).
        func loadFresh() throws -> DurableState {
            switch backend {
            case .sqlite:
                let s = try SQLiteStateStore(path: path)
                defer { s.close() }
                return try s.load()
            case .redis:
                return try RedisStateStore(address: try RedisAddress.parse(redis!.url), cluster: "contract", replicaId: "fresh").load()
            }
        }

        func open() throws -> any StateStore {
            switch backend {
            case .sqlite:
                return try SQLiteStateStore(path: path)
            case .redis:
                let s = RedisStateStore(address: try RedisAddress.parse(redis!.url), cluster: "contract", replicaId: "r\(UInt16.random(in: 0...9999))")
                _ = try s.load()
                let started = DispatchSemaphore(value: 0)
                let loop = self.loop
                loop.execute {
                    s.start(on: loop)
                    started.signal()
                }
                started.wait()
                // Commits wait for the connection (bounded).
                for _ in 0..<300 {
                    let ready = Locked(false)
                    let asked = DispatchSemaphore(value: 0)
                    loop.execute { ready.withLock { $0 = s.isAvailable }; asked.signal() }
                    asked.wait()
                    if ready.withLock({ $0 }) { break }
                    usleep(10_000)
                }
                return s
            }
        }

        /// Commits on the store's thread of use (the loop for Redis) and waits (bounded).
        func commit(_ m: [StateMutation], on s: (any StateStore)? = nil) -> Result<Void, StateStoreError>? {
            let target = s ?? store!
            let result = Locked<Result<Void, StateStoreError>?>(nil)
            let done = DispatchSemaphore(value: 0)
            let box = UncheckedBox(value: target)
            loop.execute {
                box.value.commit(m) { r in
                    result.withLock { $0 = r }
                    done.signal()
                }
            }
            _ = done.wait(timeout: .now() + 10)
            return result.withLock { $0 }
        }

        func close() {
            let done = DispatchSemaphore(value: 0)
            let box = UncheckedBox(value: store!)
            loop.execute {
                (box.value as? RedisStateStore)?.shutdown()
                box.value.close()
                done.signal()
            }
            _ = done.wait(timeout: .now() + 5)
            loop.stop()
            loop.join()
        }
    }

    struct UncheckedBox<T>: @unchecked Sendable { let value: T }

    @Test(arguments: Backend.allCases)
    func whatACommitWritesAFreshStoreLoads(_ backend: Backend) throws {
        let h = try Harness(backend)
        defer { h.close() }
        var expected = DurableState()
        for m in SQLiteStateStoreFixture.everyKind { expected.apply(m) }
        #expect(try h.commit(Array(SQLiteStateStoreFixture.everyKind[..<5])).map { try $0.get() } != nil)
        #expect(try h.commit(Array(SQLiteStateStoreFixture.everyKind[5...])).map { try $0.get() } != nil)
        #expect(try h.loadFresh() == expected, "\(backend)")
    }

    @Test(arguments: Backend.allCases)
    func aTokensLastUseIsTakenOnce(_ backend: Backend) throws {
        let h = try Harness(backend)
        defer { h.close() }
        let redeem = StateMutation.redeemToken(tokenId: "00112233445566ff", maxUses: 2, expiresAt: 4_102_444_800)
        #expect(h.commit([redeem]).map { (try? $0.get()) != nil } == true)
        #expect(h.commit([redeem]).map { (try? $0.get()) != nil } == true)
        guard case .failure(let e)? = h.commit([redeem, .setPlayback(PlaybackRecord(playbackId: "with-it", stream: "live+w"))]) else {
            Issue.record("a third use was accepted by \(backend)")
            return
        }
        #expect(e == .tokenUsedUp)
        let loaded = try h.loadFresh()
        #expect(loaded.tokens["00112233445566ff"]?.uses == 2)
        #expect(loaded.playback["with-it"] == nil, "a refused batch writes nothing (\(backend))")
    }
}

/// The mutation list both stores' tests commit.
enum SQLiteStateStoreFixture {
    static let registration = EdgeRegistration(
        nodeId: "a1b2c3d4e5f6", tenant: "t1", domain: "edge-a1b2c3d4e5f6.eu1.example.net", publicIP: "203.0.113.7", lat: 52.37, lon: 4.9,
        location: "Amsterdam", baseURL: "https://a.example/", capabilities: [.edge, .ingest], enrolledAtUnixMs: 1_764_892_800_000)

    static let everyKind: [StateMutation] = [
        .registerEdge(registration),
        .registerEdge(EdgeRegistration(nodeId: "0f0f0f0f0f0f", tenant: "", domain: "d", publicIP: "2001:db8::7", enrolledAtUnixMs: 1)),
        .registerEdge(EdgeRegistration(nodeId: "dropped00000", tenant: "", domain: "d", publicIP: "203.0.113.9", enrolledAtUnixMs: 2)),
        .removeEdge(nodeId: "dropped00000"),
        .tokenUses(tokenId: "00112233445566ff", uses: 2, expiresAt: 4_102_444_800),
        .revokeToken(tokenId: "ffeeddccbbaa9988", expiresAt: 4_102_444_800),
        .setMode(nodeId: "a1b2c3d4e5f6", mode: .draining),
        .setMode(nodeId: "s1", mode: .maintenance),
        .setMode(nodeId: "s1", mode: .normal),
        .setPlayback(PlaybackRecord(playbackId: "pb-1", stream: "live+one", tenant: "t1", cluster: "c2")),
        .setPlayback(PlaybackRecord(playbackId: "pb-2", stream: "live+two")),
        .removePlayback(playbackId: "pb-2"),
        .setWeights(ScoringWeights(cpu: 7, geo: 11), fileWeights: ScoringWeights()),
        .mistNode(nodeId: "10.0.0.5:4343", address: "10.0.0.5:4343/100", present: true),
        .mistNode(nodeId: "mist.example", address: "mist.example", present: false),
    ]
}
