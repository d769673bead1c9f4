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
