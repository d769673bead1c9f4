import Testing
@testable import FoghornModel

@Suite struct PlaybackStoreTests {
    @Test func setGetRemoveKeepTheIndexInStep() {
        var store = PlaybackStore()
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
        // Down to empty and back.
        var removedAll = true
        for i in 1..<100 { removedAll = store.remove("p\(i)") && removedAll }
        #expect(removedAll)
        #expect(store.count == 0 && store.records.isEmpty)
        store.set(PlaybackRecord(playbackId: "again", stream: "s"))
        #expect(store["again"]?.stream == "s")
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
}
