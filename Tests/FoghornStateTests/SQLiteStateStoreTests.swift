import Foundation
import Testing
import FoghornModel
@testable import FoghornState
import FoghornSync
import FoghornTestSupport
import FoghornStateFixtures

/// The SQLite store on real files: every mutation kind round-trips, a burst commits in few
/// transactions and loses nothing, the previous schema's file opens and migrates, a newer one
/// is refused.
@Suite struct SQLiteStateStoreTests {
    static func scratch(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("foghorn-state-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    static func commit(_ store: SQLiteStateStore, _ m: [StateMutation]) throws {
        let done = DispatchSemaphore(value: 0)
        let result = Locked<Result<Void, StateStoreError>?>(nil)
        store.commit(m) { r in
            result.withLock { $0 = r }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 10) == .success)
        if case .failure(let e) = try #require(result.withLock { $0 }) { throw e }
    }

    @Test func everyMutationKindRoundTripsThroughTheFile() throws {
        let path = try Self.scratch("state.db")
        var expected = DurableState()
        for m in StateFixtures.everyKind { expected.apply(m) }
        #expect(expected.edges.count == 2 && expected.modes == ["a1b2c3d4e5f6": .draining] && expected.playback.count == 1)
        do {
            let store = try SQLiteStateStore(path: path)
            #expect(store.openedVersion == 0)
            try Self.commit(store, Array(StateFixtures.everyKind[..<5]))
            try Self.commit(store, Array(StateFixtures.everyKind[5...]))
            store.close()
        }
        let reopened = try SQLiteStateStore(path: path)
        defer { reopened.close() }
        #expect(reopened.openedVersion == SQLiteStateStore.schemaVersion)
        let loaded = try reopened.load()
        #expect(loaded == expected)
        #expect(loaded.edges["a1b2c3d4e5f6"] == StateFixtures.registration)
        #expect(loaded.edges["0f0f0f0f0f0f"]?.lat == nil)
        #expect(loaded.tokens["ffeeddccbbaa9988"]?.revoked == true)
        // Re-seeding from the loaded state gives the same state.
        var again = DurableState()
        for m in loaded.mutations { again.apply(m) }
        #expect(again == loaded)
    }

    @Test func aBurstOfAThousandWritesCommitsInFewTransactionsAndLosesNone() throws {
        let path = try Self.scratch("burst.db")
        let store = try SQLiteStateStore(path: path)
        let done = DispatchSemaphore(value: 0)
        let failures = Locked(0)
        for i in 0..<1000 {
            store.commit([.setPlayback(PlaybackRecord(playbackId: "pb-\(i)", stream: "live+\(i % 7)"))]) { r in
                if case .failure = r { failures.withLock { $0 += 1 } }
                done.signal()
            }
        }
        for _ in 0..<1000 { #expect(done.wait(timeout: .now() + 20) == .success) }
        #expect(failures.withLock { $0 } == 0)
        #expect(store.commits < 1000, "group commit: \(store.commits) transactions")
        store.close()
        let reopened = try SQLiteStateStore(path: path)
        defer { reopened.close() }
        let loaded = try reopened.load()
        #expect(loaded.playback.count == 1000)
        #expect(loaded.playback["pb-999"]?.stream == "live+5")
    }

    @Test func aFileWrittenByTheFirstSchemaOpensAndMigrates() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/state/foghorn-state-v1.db")
        let path = try Self.scratch("v1.db")
        try FileManager.default.copyItem(atPath: fixture.path, toPath: path)
        let store = try SQLiteStateStore(path: path)
        defer { store.close() }
        #expect(store.openedVersion == 1)
        let s = try store.load()
        #expect(s.edges["a1b2c3d4e5f6"] == StateFixtures.registration)
        #expect(s.edges["0f0f0f0f0f0f"]?.publicIP == "2001:db8::7")
        #expect(s.edges["0f0f0f0f0f0f"]?.lat == nil)
        #expect(s.tokens["00112233445566ff"] == .init(uses: 2, expiresAt: 4_102_444_800, revoked: false))
        #expect(s.modes == ["a1b2c3d4e5f6": .draining])
        #expect(s.playback["pb-1"] == PlaybackRecord(playbackId: "pb-1", stream: "live+one", tenant: "t1"))
        #expect(s.weights == .init(weights: ScoringWeights(cpu: 7, geo: 11), fileWeights: ScoringWeights()))
        #expect(s.mistNodes["10.0.0.5:4343"] == .init(address: "10.0.0.5:4343/100", present: true))
        // What version 2 added works on the migrated file.
        try Self.commit(store, [.revokeToken(tokenId: "00112233445566ff", expiresAt: 4_102_444_800)])
        let secret = try store.sharedSecret(creatingWith: [1, 2, 3])
        #expect(secret == [1, 2, 3])
        #expect(try store.sharedSecret(creatingWith: [9]) == [1, 2, 3])
        #expect(try store.load().tokens["00112233445566ff"] == .init(uses: 2, expiresAt: 4_102_444_800, revoked: true))
    }

    @Test func aFileFromANewerReleaseIsRefused() throws {
        let path = try Self.scratch("newer.db")
        let store = try SQLiteStateStore(path: path)
        try Self.commit(store, [.setMode(nodeId: "s1", mode: .draining)])
        store.close()
        // Pretend a newer release migrated it.
        let raw = try SQLiteStateStore(path: path)
        try raw.setUserVersion(SQLiteStateStore.schemaVersion + 1)
        raw.close()
        #expect(throws: StateStoreError.self) { try SQLiteStateStore(path: path) }
        do {
            _ = try SQLiteStateStore(path: path)
        } catch {
            #expect(error.code == "STATE_SCHEMA_TOO_NEW")
        }
    }

    @Test func anUnopenablePathFailsWithAClearError() {
        do {
            _ = try SQLiteStateStore(path: "/nonexistent-dir-\(UInt32.random(in: 0...UInt32.max))/state.db")
            Issue.record("opened")
        } catch {
            #expect(error.code == "STATE_OPEN_FAILED")
            #expect(error.message.contains("cannot open state database"))
        }
    }
}
