import Foundation
import Testing
import FoghornHTTP
import FoghornModel
import FoghornRedis
import FoghornState
import FoghornSync
import FoghornTesting
import FoghornStateFixtures

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
        for m in StateFixtures.everyKind { expected.apply(m) }
        #expect(try h.commit(Array(StateFixtures.everyKind[..<5])).map { try $0.get() } != nil)
        #expect(try h.commit(Array(StateFixtures.everyKind[5...])).map { try $0.get() } != nil)
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

    @Test(arguments: Backend.allCases)
    func expiredTokensAreDroppedWhenAStoreOpens(_ backend: Backend) throws {
        let h = try Harness(backend)
        defer { h.close() }
        #expect(h.commit([.tokenUses(tokenId: "00000000000000aa", uses: 1, expiresAt: 1000),
                          .revokeToken(tokenId: "00000000000000bb", expiresAt: 1000),
                          .tokenUses(tokenId: "00000000000000cc", uses: 3, expiresAt: 4_102_444_800)]).map { (try? $0.get()) != nil } == true)
        let loaded = try h.loadFresh()
        #expect(Set(loaded.tokens.keys) == ["00000000000000cc"], "\(backend)")
        #expect(loaded.tokens["00000000000000cc"]?.uses == 3)
    }
}
