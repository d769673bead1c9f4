import Testing
@testable import FoghornModel
import FoghornModelFixtures

@Suite struct PlaybackStoreTests {
    @Test func setGetRemoveKeepTheIndexInStep() {
        var store = PlaybackStore(names: fixtureNames)
        for i in 0..<100 { store.set(PlaybackRecord(playbackId: "p\(i)", stream: "live+s\(i)"), isStatic: i % 2 == 0) }
        #expect(store.count == 100)
        #expect(store["p7"]?.stream == "live+s7")
        #expect(store["nope"] == nil)
        #expect(store.isStatic("p8") && !store.isStatic("p7") && !store.isStatic("nope"))
        // Replacing keeps the flag unless told otherwise.
        store.set(PlaybackRecord(playbackId: "p8", stream: "live+other"))
        #expect(store["p8"]?.stream == "live+other" && store.isStatic("p8"))
        store.set(PlaybackRecord(playbackId: "p8", stream: "live+other"), isStatic: false)
        #expect(!store.isStatic("p8"))
        // Removing moves the last record into the hole; every other ID still finds its own record and flag.
        let removed = store.remove("p0"), again = store.remove("p0")
        #expect(removed && !again)
        #expect(store.count == 99 && store["p0"] == nil)
        for i in 1..<100 {
            #expect(store["p\(i)"]?.playbackId == "p\(i)")
            #expect(store.isStatic("p\(i)") == (i % 2 == 0 && i != 8))
        }
        #expect(Set(store.staticIds) == Set((1..<100).filter { $0 % 2 == 0 && $0 != 8 }.map { "p\($0)" }))
        #expect(Set(store.records.map(\.playbackId)).count == 99)
        // Interned stream IDs stay parallel to the records through replacements and swap-removes.
        #expect(store.streamIds.count == store.count)
        for (k, r) in store.records.enumerated() { #expect(fixtureNames.name(store.streamIds[k]) == r.stream) }
        // Down to empty and back.
        var removedAll = true
        for i in 1..<100 { removedAll = store.remove("p\(i)") && removedAll }
        #expect(removedAll)
        #expect(store.count == 0 && store.records.isEmpty)
        store.set(PlaybackRecord(playbackId: "again", stream: "s"))
        #expect(store["again"]?.stream == "s")
    }

    /// Snapshot builds match records to streams by interned ID (same answer as by name) and reuse
    /// the previous snapshot's playback ID table only while the records array is the same storage.
    @Test func snapshotsMatchRecordsByIdAndReuseTheIdTable() {
        var store = PlaybackStore(names: fixtureNames)
        store.set(PlaybackRecord(playbackId: "a", stream: "live+one"))
        store.set(PlaybackRecord(playbackId: "b", stream: "live+two"))
        store.set(PlaybackRecord(playbackId: "c", stream: "live+nobody"))
        let edges = [edge("e1", streams: ["live+one": EdgeStreamStats(inputs: 1)]), edge("e2", streams: ["live+two": EdgeStreamStats(inputs: 1)])]
        func build(_ previous: RoutingSnapshot?, ids: Bool) -> RoutingSnapshot {
            RoutingSnapshot(.init(generation: 1, nowMs: 0, weights: .defaults, staleness: StalenessPolicy(), edges: edges,
                                  playback: store.records, playbackStreamIds: ids ? store.streamIds : nil, previous: previous, names: fixtureNames))
        }
        let byName = build(nil, ids: false), byId = build(nil, ids: true)
        for id in ["a", "b", "c"] {
            let p = byId.playbackIndex(id)!
            #expect(byId.streamOf(playback: p).map { byId.streamName($0) } == byName.streamOf(playback: byName.playbackIndex(id)!).map { byName.streamName($0) })
        }
        #expect(byId.streamOf(playback: byId.playbackIndex("c")!) == nil)
        let reused = build(byId, ids: true)
        #expect(reused.playbackIndex("b") == byId.playbackIndex("b"))
        store.set(PlaybackRecord(playbackId: "d", stream: "live+two"))
        let fresh = build(reused, ids: true)  // the records array changed: a new table
        #expect(fresh.playbackIndex("d") != nil && reused.playbackIndex("d") == nil)
        #expect(fresh.streamOf(playback: fresh.playbackIndex("d")!).map { fresh.streamName($0) } == "live+two")
    }

    @Test func byteKeyTableFindsEveryKeyFromBytes() {
        let keys = (0..<5000).map { "id-\($0)-" + String(repeating: "x", count: $0 % 40) } + [""]
        let table = ByteKeyTable(keys: keys)
        #expect(table.count == keys.count)
        for (i, k) in keys.enumerated() { #expect(table.lookup(k) == Int32(i)) }
        #expect(table.lookup("id-1") == nil)
        #expect(table.lookup("id-1-xx") == nil)  // a prefix of a key, or one byte more, is not a key
        #expect(table.lookup("nothing") == nil)
        // A repeated key maps to its last value.
        let dup = ByteKeyTable([(Array("a".utf8), 1), (Array("b".utf8), 2), (Array("a".utf8), 3)])
        #expect(dup.count == 2 && dup.lookup("a") == 3 && dup.lookup("b") == 2)
    }

    /// A reload's records: the file's set replaces the static ones only, changed IDs reported
    /// exactly, runtime records untouched (a runtime record the file now declares becomes static).
    @Test func replaceStaticAppliesOnlyTheDifference() {
        var store = PlaybackStore(names: fixtureNames)
        for i in 0..<60 { store.set(PlaybackRecord(playbackId: "p\(i)", stream: "live+s\(i % 7)"), isStatic: i % 3 != 0) }
        // The file: static p1…p39 kept except p5 (gone) and p10 (re-pointed); p3 (runtime) now declared; q0…q2 new.
        var declared = (1..<40).filter { $0 % 3 != 0 && $0 != 5 }.map { PlaybackRecord(playbackId: "p\($0)", stream: "live+s\($0 % 7)") }
        declared[declared.firstIndex { $0.playbackId == "p10" }!].stream = "live+moved"
        declared.append(PlaybackRecord(playbackId: "p3", stream: "live+s3"))
        declared += (0..<3).map { PlaybackRecord(playbackId: "q\($0)", stream: "live+q") }
        let staticGone = (40..<60).filter { $0 % 3 != 0 }.map { "p\($0)" } + ["p5"]
        let changed = store.replaceStatic(with: declared)
        #expect(Set(changed) == Set(["p10", "p3", "q0", "q1", "q2"] + staticGone))
        #expect(changed.count == 5 + staticGone.count)
        #expect(Set(store.staticIds) == Set(declared.map(\.playbackId)))
        for r in declared { #expect(store[r.playbackId] == r) }
        for i in stride(from: 0, to: 60, by: 3) where i != 3 { #expect(store["p\(i)"]?.stream == "live+s\(i % 7)" && !store.isStatic("p\(i)")) }
        for id in staticGone { #expect(store[id] == nil) }
        for (k, r) in store.records.enumerated() { #expect(fixtureNames.name(store.streamIds[k]) == r.stream) }
        // The same file again changes nothing.
        #expect(store.replaceStatic(with: declared).isEmpty)
        // Records at their own positions (a file read again in the same order): one changed in
        // the middle, one that moved to another position, and a duplicate ID in the file (the
        // later entry wins, as with set).
        var fresh = PlaybackStore(names: fixtureNames)
        let listed = (0..<50).map { PlaybackRecord(playbackId: "r\($0)", stream: "live+r\($0 % 4)") }
        #expect(Set(fresh.replaceStatic(with: listed)) == Set(listed.map(\.playbackId)))
        #expect(fresh.replaceStatic(with: listed).isEmpty)
        // The API took one over (not static any more): the file declares it again.
        fresh.set(listed[10], isStatic: false)
        #expect(fresh.replaceStatic(with: listed) == ["r10"] && fresh.isStatic("r10"))
        var edited = listed
        edited[25].stream = "live+edited"
        edited.swapAt(3, 40)
        #expect(fresh.replaceStatic(with: edited) == ["r25"])
        #expect(fresh["r25"]?.stream == "live+edited" && fresh["r3"] == listed[3] && fresh["r40"] == listed[40] && fresh.count == 50)
        #expect(Set(fresh.replaceStatic(with: edited + [PlaybackRecord(playbackId: "r7", stream: "live+again")])) == ["r7"])
        #expect(fresh["r7"]?.stream == "live+again" && fresh.count == 50)
        // New records listed twice land after the old ones: the second listing is at a position
        // past the store's old end (no out-of-range mark).
        var small = PlaybackStore(names: fixtureNames)
        small.set(PlaybackRecord(playbackId: "x", stream: "live+x"), isStatic: true)
        let twice = [PlaybackRecord(playbackId: "n1", stream: "live+n"), PlaybackRecord(playbackId: "n1", stream: "live+n")]
        #expect(small.replaceStatic(with: twice) == ["n1", "x"])
        #expect(small.count == 1 && small["n1"] != nil)
        #expect(store.replaceStatic(with: []).count == declared.count && store.staticIds.isEmpty)
    }
}
