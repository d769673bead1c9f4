import Testing
@testable import FoghornModel

@Suite struct DenseKeyIndexTests {
    /// Random appends and swap-removes against a dictionary: every key finds its position, removed
    /// keys are gone, the probe runs stay intact through backward-shift deletion and growth.
    @Test func matchesADictionaryThroughRandomAppendsAndRemoves() {
        var rng = SplitMix(seed: 7)
        var keys: [String] = []
        var index = DenseKeyIndex()
        var truth: [String: Int] = [:]
        for step in 0..<20_000 {
            if keys.isEmpty || rng.next() % 3 != 0 {
                // A small key space makes probe runs collide and wrap often.
                let key = "k\(rng.next() % 5000)"
                if truth[key] != nil { continue }
                truth[key] = keys.count
                keys.append(key)
                index.append(hash: DenseKeyIndex.hash(key))
            } else {
                let victim = keys[Int(rng.next() % UInt64(keys.count))]
                let p = truth.removeValue(forKey: victim)!
                index.remove(position: p)
                let last = keys.removeLast()
                if p < keys.count {
                    keys[p] = last
                    truth[last] = p
                }
            }
            if step % 997 == 0 || step == 19_999 {
                #expect(index.count == keys.count)
                for (key, p) in truth {
                    #expect(index.find(key, hash: DenseKeyIndex.hash(key)) { keys[$0] } == p)
                }
                #expect(index.find("absent", hash: DenseKeyIndex.hash("absent")) { keys[$0] } == nil)
            }
        }
        // Down to empty.
        while let key = keys.first {
            index.remove(position: 0)
            let last = keys.removeLast()
            if !keys.isEmpty { keys[0] = last }
            #expect(index.find(key, hash: DenseKeyIndex.hash(key)) { keys[$0] } == nil)
        }
        #expect(index.count == 0)
    }

    @Test func streamNameTableInternsOnceAndReadsBack() {
        let t = StreamNameTable()
        let ids = (0..<40_000).map { t.id(for: "live+s\($0)") }  // several chunks
        #expect(ids == (0..<40_000).map { Int32($0) })
        #expect(t.id(for: "live+s123") == 123)
        #expect(t.count == 40_000)
        #expect(t.name(39_999) == "live+s39999")
        #expect(t.existingId(for: "live+s77") == 77)
        #expect(t.existingId(for: "nope") == nil && t.count == 40_000)
    }
}
