import FoghornTestSupport
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

    /// Vacated positions are never found and keep every other position where it is; reused
    /// ones answer for their new key — through growth (rehashing must skip vacancies).
    @Test func vacatedPositionsStayHolesUntilReused() {
        var rng = SplitMix(seed: 11)
        var keys: [String?] = []
        var index = DenseKeyIndex()
        var truth: [String: Int] = [:]
        var holes: [Int] = []
        var gone: [Int: String] = [:]  // a hole's last key
        var fresh = 0
        for step in 0..<30_000 {
            let r = rng.next() % 4
            if r == 0, !keys.isEmpty, let victim = keys[Int(rng.next() % UInt64(keys.count))] {
                let p = truth.removeValue(forKey: victim)!
                index.vacate(position: p)
                keys[p] = nil
                holes.append(p)
                gone[p] = victim
            } else {
                fresh += 1
                let key = "k\(fresh)"
                let h = DenseKeyIndex.hash(key)
                if r == 1, let p = holes.popLast() {
                    index.reuse(position: p, hash: h)
                    keys[p] = key
                    gone[p] = nil
                    truth[key] = p
                } else {
                    truth[key] = keys.count
                    keys.append(key)
                    index.append(hash: h)
                }
            }
            if step % 1499 == 0 || step == 29_999 {
                #expect(index.count == keys.count)
                // Keys are compared through the caller: a hole still "holds" its last key there,
                // so only its absence from the slots keeps it from being found.
                let keyAt = { (p: Int) in keys[p] ?? gone[p]! }
                for (key, p) in truth {
                    #expect(index.find(key, hash: DenseKeyIndex.hash(key), keyAt: keyAt) == p)
                }
                for p in holes.suffix(200) {
                    #expect(index.find(gone[p]!, hash: DenseKeyIndex.hash(gone[p]!), keyAt: keyAt) == nil)
                }
            }
        }
        #expect(!holes.isEmpty && fresh > 20_000)
    }

    /// Retirement puts aside only names the caller does not use and nobody looked up since the
    /// previous retirement; reclaiming frees those not interned again meanwhile, and freed IDs
    /// are handed out again before new ones.
    @Test func streamNameTableRetiresUnusedNamesAndReusesTheirIds() {
        let t = StreamNameTable()
        for i in 0..<100 { #expect(t.id(for: "s\(i)") == Int32(i)) }
        var inUse = [Bool](repeating: false, count: 100)
        // Everything was interned in this epoch: nothing to retire yet.
        #expect(t.retireUnused(inUse: inUse).ids.isEmpty)
        for i in 0..<10 { inUse[i] = true }
        _ = t.existingId(for: "s50")  // looked up (a holder the caller does not know of)
        _ = t.id(for: "s51")
        let retired = t.retireUnused(inUse: inUse)
        #expect(retired.ids == (10..<100).filter { $0 != 50 && $0 != 51 }.map(Int32.init))
        // Retired but interned again before the reclaim: kept.
        #expect(t.id(for: "s60") == 60)
        #expect(t.interned == 100)
        #expect(t.reclaim(retired) == 87)
        #expect(t.interned == 13 && t.count == 100 && t.reclaimedTotal == 87)
        #expect(t.existingId(for: "s61") == nil && t.name(61) == "")
        #expect(t.existingId(for: "s60") == 60 && t.name(60) == "s60")
        #expect(t.existingId(for: "s5") == 5 && t.existingId(for: "s50") == 50)
        // Reclaiming again frees nothing more.
        #expect(t.reclaim(retired) == 0)
        // New names take freed IDs first.
        let freed = Set(retired.ids).subtracting([60])
        var reused: Set<Int32> = []
        for i in 0..<87 {
            let id = t.id(for: "new\(i)")
            #expect(freed.contains(id))
            #expect(t.name(id) == "new\(i)")
            reused.insert(id)
        }
        #expect(reused == freed && t.count == 100 && t.interned == 100)
        #expect(t.id(for: "s61") == 100)  // an old name back: a new ID
        for i in 0..<87 { #expect(t.existingId(for: "new\(i)").map { t.name($0) } == "new\(i)") }
        // IDs interned after the caller listed its state (beyond `inUse`) are kept.
        let later = t.retireUnused(inUse: [Bool](repeating: false, count: 10))
        #expect(later.ids.allSatisfy { $0 < 10 })
        // A new epoch without retiring (a full build): what was interned before it and is unused
        // goes at the next retirement, what is interned after it stays.
        let x = t.id(for: "x")
        t.beginEpoch()
        let y = t.id(for: "y")
        let next = t.retireUnused(inUse: [Bool](repeating: false, count: t.count))
        #expect(next.ids.contains(x) && !next.ids.contains(y))
    }

    @Test func denseBitsMatchASet() {
        var rng = SplitMix(seed: 3)
        var bits = DenseBits(), truth = Set<Int>()
        for step in 0..<20_000 {
            let i = Int(rng.next() % 3000)
            switch rng.next() % 3 {
            case 0: bits.insert(i); truth.insert(i)
            case 1: bits.remove(i); truth.remove(i)
            default: #expect(bits.contains(i) == truth.contains(i))
            }
            if step == 10_000 { bits.removeAll(); truth.removeAll() }
        }
        #expect((0..<3100).filter { bits.contains($0) } == truth.sorted())
        #expect(!bits.contains(1 << 20))
    }
}
