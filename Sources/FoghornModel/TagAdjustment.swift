import FoghornJSON

/// Tag adjustments (`X-Tag-Adjust` header or `tag_adjust` query): JSON object
/// `{"tag,tag": n, "-tag": n}`. A rule applies to an edge having any listed
/// tag; a leading `-` inverts it (applies to edges having none). If the sum
/// is negative and its magnitude reaches the score, the edge scores 0
/// (excluded as `adjusted_to_zero`).
///
/// Example: `{"eu": 200, "-gpu": -100}` adds 200 to edges tagged `eu` and
/// subtracts 100 from edges not tagged `gpu`.
public struct TagAdjustment: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var tags: [String]
        public var inverted: Bool
        public var amount: Int64
    }

    public var rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    public enum ParseError: Error, Equatable {
        case notAnObject
        case invalid(String)
    }

    public static let maxRules = 32

    public static func parse(_ text: String) throws(ParseError) -> TagAdjustment {
        let value: JSONValue
        do { value = try JSONParser.parse(text, maxDepth: 2) } catch { throw .invalid(error.description) }
        guard case .object(let members) = value else { throw .notAnObject }
        guard members.count <= maxRules else { throw .invalid("more than \(maxRules) rules") }
        var rules: [Rule] = []
        for (key, v) in members {
            guard let amount = v.intValue, abs(amount) <= 1_000_000 else {
                throw .invalid("value of \"\(key)\" must be an integer within ±1000000")
            }
            var k = Substring(key)
            let inverted = k.hasPrefix("-")
            if inverted { k = k.dropFirst() }
            let tags = k.split(separator: ",").map { String($0.trimmingSpaces()) }.filter { !$0.isEmpty }
            if tags.isEmpty { continue }
            rules.append(Rule(tags: tags, inverted: inverted, amount: amount))
        }
        return TagAdjustment(rules: rules)
    }

    /// The largest positive total any edge could receive (used for pruning).
    public var maxPositive: Int64 { rules.reduce(0) { $0 + max($1.amount, 0) } }

    /// Applies `adjustment` to `score` per the reference's rule.
    @inline(__always) public static func apply(_ adjustment: Int64, to score: UInt64) -> UInt64 {
        if adjustment >= 0 { return score &+ UInt64(adjustment) }
        let magnitude = UInt64(-adjustment)
        return magnitude < score ? score &- magnitude : 0
    }
}

/// A tag adjustment compiled against a snapshot's tag bit table.
public struct CompiledTagAdjustment: Sendable {
    public var masks: [(mask: UInt64, inverted: Bool, amount: Int64)]
    public var maxPositive: Int64

    public static let none = CompiledTagAdjustment(masks: [], maxPositive: 0)

    public init(masks: [(mask: UInt64, inverted: Bool, amount: Int64)], maxPositive: Int64) {
        self.masks = masks
        self.maxPositive = maxPositive
    }

    @inline(__always) public func total(tagBits: UInt64) -> Int64 {
        var sum: Int64 = 0
        for rule in masks where (rule.mask & tagBits != 0) != rule.inverted { sum &+= rule.amount }
        return sum
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
