import FoghornSync

/// Stable small integers for stream names, shared by the whole process: an ``EdgeState`` keeps
/// the IDs of the streams it carries (4 bytes each) instead of their names (16 bytes each, a
/// million of them at 10,000 edges × 100 streams), and snapshot builds group edges by stream
/// with array indexing instead of hashing names.
///
/// Interning takes a lock (control loops only: reports, config, peers). Reading a name by ID
/// does not: names live in fixed chunks that never move, written before the ID is handed out,
/// and a reader only has an ID through something that synchronised with its writer (the same
/// thread, or a published snapshot). IDs are never reused; a name stays once seen, like the
/// interned strings of any long-running process (≈ 40 bytes per distinct stream name).
///
/// ```swift
/// let t = StreamNameTable()
/// t.id(for: "live+a")        // 0
/// t.id(for: "live+b")        // 1
/// t.id(for: "live+a")        // 0 again
/// t.name(1)                  // "live+b"
/// t.existingId(for: "nope")  // nil (and "nope" is not added)
/// ```
public final class StreamNameTable: @unchecked Sendable {
    /// The table every ``EdgeState`` uses.
    public static let shared = StreamNameTable()

    static let chunkBits = 14
    static let chunkSize = 1 << chunkBits
    static let maxChunks = 1 << 14  // 2²⁸ names

    private let chunks: UnsafeMutablePointer<UnsafeMutablePointer<String>?>
    /// Name → ID over the chunks (4 bytes per slot; a `[String: Int32]` took 5.3 MB at 100,000 names).
    private let index = Locked(DenseKeyIndex())

    public init() {
        chunks = .allocate(capacity: StreamNameTable.maxChunks)
        chunks.initialize(repeating: nil, count: StreamNameTable.maxChunks)
    }

    deinit {
        let n = count
        var c = 0
        while c < StreamNameTable.maxChunks, let chunk = chunks[c] {
            let used = min(StreamNameTable.chunkSize, n - c * StreamNameTable.chunkSize)
            chunk.deinitialize(count: max(used, 0))
            chunk.deallocate()
            c += 1
        }
        chunks.deallocate()
    }

    /// The ID of `name`, adding it if new.
    public func id(for name: String) -> Int32 {
        let h = DenseKeyIndex.hash(name)
        return index.withLock { ids in intern(name, hash: h, &ids) }
    }

    /// The IDs of `names` (in that order), adding new ones, under one lock: an edge's 100
    /// streams take one lock instead of a hundred.
    public func ids(for names: [String]) -> [Int32] {
        let hashes = names.map(DenseKeyIndex.hash)
        return index.withLock { ids in names.indices.map { intern(names[$0], hash: hashes[$0], &ids) } }
    }

    /// Under the lock.
    private func intern(_ name: String, hash h: UInt32, _ ids: inout DenseKeyIndex) -> Int32 {
        if let id = ids.find(name, hash: h, keyAt: { self.name(Int32($0)) }) { return Int32(id) }
        let id = ids.count
        precondition(id < StreamNameTable.maxChunks * StreamNameTable.chunkSize, "stream name table full")
        let c = id >> StreamNameTable.chunkBits
        if chunks[c] == nil { chunks[c] = .allocate(capacity: StreamNameTable.chunkSize) }
        (chunks[c].unsafelyUnwrapped + (id & (StreamNameTable.chunkSize - 1))).initialize(to: name)
        ids.append(hash: h)
        return Int32(id)
    }

    /// The ID of `name` if it was ever interned (nothing is added).
    public func existingId(for name: String) -> Int32? {
        let h = DenseKeyIndex.hash(name)
        return index.withLock { ids in ids.find(name, hash: h) { self.name(Int32($0)) }.map(Int32.init) }
    }

    /// The name of an ID this table handed out.
    @inline(__always) public func name(_ id: Int32) -> String {
        let i = Int(id)
        return chunks[i >> StreamNameTable.chunkBits].unsafelyUnwrapped[i & (StreamNameTable.chunkSize - 1)]
    }

    /// How many names were interned (IDs are `0..<count`).
    public var count: Int { index.withLock { $0.count } }
}
