/// Stable small integers for stream names, assigned by the control plane when
/// a report arrives, so that snapshot rebuilds group edges by stream with array
/// indexing instead of hashing 100,000 strings. Owned by one thread (the
/// control loop); IDs are never reused within a process.
public final class StreamNameTable: @unchecked Sendable {
    private var ids: [String: Int32] = [:]
    public private(set) var names: [String] = []

    public init() {}

    public func id(for name: String) -> Int32 {
        if let id = ids[name] { return id }
        let id = Int32(names.count)
        ids[name] = id
        names.append(name)
        return id
    }

    public var count: Int { names.count }
}
