/// The tenants a snapshot's edges and playback records name, each interned to a small index that
/// scoring rows (``EdgeHot/tenant``) and records carry; -1 stands for none (shared).
public struct TenantTable: Sendable {
    public private(set) var names: [String] = []
    var indexByName: [String: Int32] = [:]

    public init() {}

    /// Index of tenant `t` (added if new); -1 for none (a shared edge or record).
    ///
    /// ```swift
    /// var t = TenantTable()
    /// t.intern("acme")  // 0
    /// t.intern("")      // -1
    /// t.intern("beta")  // 1
    /// t.intern("acme")  // 0
    /// ```
    @discardableResult
    public mutating func intern(_ t: String) -> Int32 {
        if t.isEmpty { return -1 }
        if let i = indexByName[t] { return i }
        let i = Int32(names.count)
        names.append(t)
        indexByName[t] = i
        return i
    }

    /// Index of tenant `t`, if any edge or record named it.
    public func index(of t: String) -> Int32? { indexByName[t] }
}
