import FoghornTestSupport
import Testing
@testable import FoghornModel

@Suite struct ByteKeyTableTests {
    /// Patching a table (keys removed with backward-shift deletion, added, re-valued) answers
    /// every lookup as a dictionary would, over many rounds; when it would be too full or hold
    /// too many unused entries it declines, and a fresh table takes over.
    @Test func updatesMatchADictionary() {
        var rng = SplitMix(seed: 5150)
        // Short keys over a small alphabet: many share a home slot, so probe runs are long.
        func key() -> String { String((0..<Int(rng.next() % 4 + 1)).map { _ in "abcdefgh".randomElement(using: &rng)! }) + "\(rng.next() % 500)" }
        var model: [String: Int32] = [:]
        for _ in 0..<300 { model[key()] = Int32(rng.next() % 1000) }
        var table = ByteKeyTable(model.map { (key: Array($0.key.utf8), value: $0.value) })
        var declined = 0, patched = 0
        for round in 0..<300 {
            var removing: [String] = [], inserting: [(key: String, value: Int32)] = []
            for k in model.keys where rng.next() % 10 == 0 { removing.append(k) }
            for k in removing { model[k] = nil }
            for _ in 0..<Int(rng.next() % 40) {
                let k = rng.next() % 3 == 0 && !model.isEmpty ? model.keys.randomElement(using: &rng)! : key()
                let v = Int32(rng.next() % 1000)
                inserting.append((k, v))
            }
            for (k, v) in inserting { model[k] = v }
            if let next = table.updated(removing: removing, inserting: inserting) {
                table = next
                patched += 1
            } else {
                table = ByteKeyTable(model.map { (key: Array($0.key.utf8), value: $0.value) })
                declined += 1
            }
            for (k, v) in model { #expect(table.lookup(k) == v, "round \(round) \(k)") }
            for k in removing where model[k] == nil { #expect(table.lookup(k) == nil, "round \(round) removed \(k)") }
            for _ in 0..<20 { let k = key(); #expect(table.lookup(k) == model[k], "round \(round) probe \(k)") }
        }
        #expect(patched > 200 && declined > 0, "patched \(patched), declined \(declined)")
    }

    /// One `updated` call with far more new keys than free slots (the burst of playback records
    /// that hung the control loop): it declines (nil) instead of probing a full table forever,
    /// and the table it was called on still answers as before.
    @Test func aBatchLargerThanTheFreeSlotsDeclines() {
        let table = ByteKeyTable(keys: ["a", "b", "c"])  // 8 slots, 3 taken
        for n in [2, 3, 5, 6, 9, 27, 1_000] {
            let burst = (0..<n).map { (key: "x\($0)", value: Int32(100 + $0)) }
            let next = table.updated(removing: [], inserting: burst)
            if 3 + n <= 4 {
                #expect(next != nil, "\(n) new keys fit")
                for (k, v) in burst { #expect(next?.lookup(k) == v) }
            } else {
                #expect(next == nil, "\(n) new keys into 5 free slots of 8")
            }
            #expect(table.lookup("b") == 1 && table.lookup("x0") == nil)
        }
        // Removals in the same batch make room: 3 out, 4 in keeps 4 of 8.
        let swapped = table.updated(removing: ["a", "b", "c"], inserting: (0..<4).map { ("y\($0)", Int32($0)) })
        #expect(swapped?.lookup("y3") == 3 && swapped?.lookup("a") == nil)
        // Re-valuing existing keys takes no new slot, however many times a key repeats.
        let revalued = table.updated(removing: [], inserting: (0..<1_000).map { _ in ("b", 7) })
        #expect(revalued?.lookup("b") == 7)
    }

    /// Random batches of every size (up to 4× the table's slots), removals and re-values mixed,
    /// against a dictionary: a patched table answers as the dictionary does; a declined one is
    /// replaced by a fresh build, as the snapshot builder does.
    @Test func randomBurstsMatchADictionary() {
        var rng = SplitMix(seed: 17)
        var model: [String: Int32] = [:]
        var table = ByteKeyTable(keys: [])
        var declined = 0
        for round in 0..<200 {
            let capacity = max(8, model.count * 2)
            var removing: [String] = []
            for k in model.keys where rng.next() % 4 == 0 { removing.append(k) }
            for k in removing { model[k] = nil }
            var inserting: [(key: String, value: Int32)] = []
            for _ in 0..<Int(rng.next() % UInt64(capacity * 4 + 1)) {
                let k = "k\(rng.next() % 5_000)"
                let v = Int32(truncatingIfNeeded: rng.next())
                inserting.append((k, v))
                model[k] = v
            }
            if let next = table.updated(removing: removing, inserting: inserting) {
                table = next
            } else {
                declined += 1
                table = ByteKeyTable(model.map { (key: Array($0.key.utf8), value: $0.value) })
            }
            for (k, v) in model { #expect(table.lookup(k) == v, "round \(round) \(k)") }
            for k in removing where model[k] == nil { #expect(table.lookup(k) == nil, "round \(round) removed \(k)") }
        }
        #expect(declined > 25, "declined \(declined)")
    }
}

extension Array {
    fileprivate func randomElement(using rng: inout SplitMix) -> Element? {
        isEmpty ? nil : self[Int(rng.next() % UInt64(count))]
    }
}

extension String {
    fileprivate func randomElement(using rng: inout SplitMix) -> Character? {
        isEmpty ? nil : Array(self)[Int(rng.next() % UInt64(count))]
    }
}

extension Dictionary.Keys {
    fileprivate func randomElement(using rng: inout SplitMix) -> Key? {
        isEmpty ? nil : self[index(startIndex, offsetBy: Int(rng.next() % UInt64(count)))]
    }
}
