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
///
/// A snapshot gives each of the first 63 distinct tags a bit of its own; an edge with any other
/// tag has ``overflowBit`` set. A rule naming such a tag keeps it in ``overflowTags``, matched
/// against the edge's own tag list only for edges with that bit (a rule of bit tags alone never
/// looks at lists). Example, 70 distinct tags in the cluster, `{"t65,eu": 200}`: `eu` has bit 3,
/// `t65` none — an edge with bit 3 matches at once; one without it but with the overflow bit
/// matches if `t65` is among its tags; any other edge does not.
public struct CompiledTagAdjustment: Sendable {
    public var masks: [(mask: UInt64, inverted: Bool, amount: Int64)]
    public var maxPositive: Int64
    /// Per rule (like `masks`), its tags without a bit of their own; empty when no rule has any.
    public var overflowTags: [[String]]

    /// Set on an edge carrying a tag without a bit of its own.
    public static let overflowBit: UInt64 = 1 << 63

    public static let none = CompiledTagAdjustment(masks: [], maxPositive: 0)

    public init(masks: [(mask: UInt64, inverted: Bool, amount: Int64)], maxPositive: Int64, overflowTags: [[String]] = []) {
        self.masks = masks
        self.maxPositive = maxPositive
        self.overflowTags = overflowTags
    }

    /// Whether ``total(tagBits:edgeTags:)`` is needed (some rule names a tag without a bit).
    @inline(__always) public var needsEdgeTags: Bool { !overflowTags.isEmpty }

    @inline(__always) public func total(tagBits: UInt64) -> Int64 {
        var sum: Int64 = 0
        for rule in masks where (rule.mask & tagBits != 0) != rule.inverted { sum &+= rule.amount }
        return sum
    }

    /// The adjustment for edge `i` of `s` (its bits in `tagBits`): ``total(tagBits:)``, or
    /// ``total(tagBits:edgeTags:)`` with the edge's tag list when some rule names a tag without a bit.
    @inline(__always) public func total(tagBits: UInt64, edge i: Int, of s: RoutingSnapshot) -> Int64 {
        needsEdgeTags ? total(tagBits: tagBits) { s.edges[i].tags } : total(tagBits: tagBits)
    }

    /// ``total(tagBits:)`` for rules that name tags without a bit: `edgeTags` (the edge's tag
    /// list) is read only when the edge has ``overflowBit`` and a rule's bits did not match.
    public func total(tagBits: UInt64, edgeTags: () -> [String]) -> Int64 {
        var sum: Int64 = 0
        var tags: [String]?
        for k in masks.indices {
            let rule = masks[k]
            var hit = rule.mask & tagBits != 0
            if !hit && tagBits & CompiledTagAdjustment.overflowBit != 0 && !overflowTags[k].isEmpty {
                if tags == nil { tags = edgeTags() }
                hit = tags.unsafelyUnwrapped.contains { overflowTags[k].contains($0) }
            }
            if hit != rule.inverted { sum &+= rule.amount }
        }
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
