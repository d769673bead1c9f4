import FoghornSync

/// Stable small integers for stream names, one table per server (its configuration, control
/// plane and snapshots share it; nothing else does): an ``EdgeState`` keeps
/// the IDs of the streams it carries (4 bytes each) instead of their names (16 bytes each, a
/// million of them at 10,000 edges × 100 streams), and snapshot builds group edges by stream
/// with array indexing instead of hashing names.
///
/// Interning takes a lock (control loops only: reports, config, peers). Reading a name by ID
/// does not: names live in fixed chunks that never move, written before the ID is handed out,
/// and a reader only has an ID through something that synchronised with its writer (the same
/// thread, or a published snapshot).
///
/// Names no state uses any more can be given back (≈ 50 bytes each, and a full build's work is
/// O(IDs)): the one control plane of the process lists the IDs its state holds right after a
/// full build and ``retireUnused(inUse:)`` puts the others aside — only those not looked up
/// since the previous full build (``beginEpoch()``) — then, once no snapshot built before can read them,
/// ``reclaim(_:)`` frees them for reuse. A retired name interned again before that is simply
/// kept. Without that (several planes in one process, tests), IDs are never reused.
///
/// ```swift
/// let t = StreamNameTable()
/// t.id(for: "live+a")        // 0
/// t.id(for: "live+b")        // 1
/// t.id(for: "live+a")        // 0 again
/// t.name(1)                  // "live+b"
/// t.existingId(for: "nope")  // nil (and "nope" is not added)
/// ```
public final class StreamNameTable: @unchecked Sendable, Equatable {
    /// The same table (IDs from one are meaningless in another).
    public static func == (a: StreamNameTable, b: StreamNameTable) -> Bool { a === b }

    static let chunkBits = 14
    static let chunkSize = 1 << chunkBits
    static let maxChunks = 1 << 14  // 2²⁸ names

    private let chunks: UnsafeMutablePointer<UnsafeMutablePointer<String>?>
    private let state = Locked(State())

    private struct State {
        /// Name → ID over the chunks (4 bytes per slot; a `[String: Int32]` took 5.3 MB at 100,000 names).
        var index = DenseKeyIndex()
        /// IDs interned or looked up in the current epoch (since the last retirement or
        /// ``beginEpoch()``): one bit each (12 KB at 100,000 names).
        var touched = DenseBits()
        /// IDs put aside by ``retireUnused(inUse:)`` and not interned since.
        var retired = DenseBits()
        /// IDs given back by ``reclaim(_:)`` (also listed in `free`).
        var freed = DenseBits()
        /// IDs given back by ``reclaim(_:)``, reused before new ones.
        var free: [Int32] = []
        var reclaimedTotal: UInt64 = 0
    }

    /// IDs put aside by ``StreamNameTable/retireUnused(inUse:)``, to be freed by
    /// ``StreamNameTable/reclaim(_:)`` once nothing built before can read them.
    public struct RetiredNames: Sendable {
        public let ids: [Int32]
    }

    public init() {
        chunks = .allocate(capacity: StreamNameTable.maxChunks)
        chunks.initialize(repeating: nil, count: StreamNameTable.maxChunks)
    }

    deinit {
        let n = state.withLock { $0.index.count }
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
        return state.withLock { st in intern(name, hash: h, &st) }
    }

    /// The IDs of `names` (in that order), adding new ones, under one lock: an edge's 100
    /// streams take one lock instead of a hundred.
    public func ids(for names: [String]) -> [Int32] {
        let hashes = names.map(DenseKeyIndex.hash)
        return state.withLock { st in names.indices.map { intern(names[$0], hash: hashes[$0], &st) } }
    }

    /// Under the lock.
    private func intern(_ name: String, hash h: UInt32, _ st: inout State) -> Int32 {
        if let found = st.index.find(name, hash: h, keyAt: { self.name(Int32($0)) }) {
            st.touched.insert(found)
            st.retired.remove(found)
            return Int32(found)
        }
        if let id = st.free.popLast() {
            // No snapshot that could read the old name is left (``reclaim(_:)``).
            slot(Int(id)).pointee = name
            st.index.reuse(position: Int(id), hash: h)
            st.freed.remove(Int(id))
            st.touched.insert(Int(id))
            return id
        }
        let id = st.index.count
        precondition(id < StreamNameTable.maxChunks * StreamNameTable.chunkSize, "stream name table full")
        let c = id >> StreamNameTable.chunkBits
        if chunks[c] == nil { chunks[c] = .allocate(capacity: StreamNameTable.chunkSize) }
        slot(id).initialize(to: name)
        st.index.append(hash: h)
        st.touched.insert(id)
        return Int32(id)
    }

    @inline(__always) private func slot(_ id: Int) -> UnsafeMutablePointer<String> {
        chunks[id >> StreamNameTable.chunkBits].unsafelyUnwrapped + (id & (StreamNameTable.chunkSize - 1))
    }

    /// The ID of `name` if it is interned (nothing is added; a retired name is kept).
    public func existingId(for name: String) -> Int32? {
        let h = DenseKeyIndex.hash(name)
        return state.withLock { st in
            guard let found = st.index.find(name, hash: h, keyAt: { self.name(Int32($0)) }) else { return nil }
            st.touched.insert(found)
            st.retired.remove(found)
            return Int32(found)
        }
    }

    /// Puts aside every ID below `inUse.count` that `inUse` does not mark and that was not
    /// interned or looked up in the current epoch (since the previous call or ``beginEpoch()``:
    /// a holder the caller does not know of could have it that recently), and starts a new epoch. IDs from
    /// `inUse.count` on (interned since the caller listed its state) are kept.
    ///
    /// The caller must be the only state in the process holding IDs beyond that epoch rule,
    /// call this when every snapshot it builds from now on derives from that state alone (right
    /// after a full build), and pass the result to ``reclaim(_:)`` once every snapshot built
    /// before this call is gone.
    public func retireUnused(inUse: [Bool]) -> RetiredNames {
        state.withLock { st in
            var ids: [Int32] = []
            let n = min(inUse.count, st.index.count)
            for id in 0..<n where !inUse[id] && !st.touched.contains(id) && !st.retired.contains(id) && !st.freed.contains(id) {
                st.retired.insert(id)
                ids.append(Int32(id))
            }
            st.touched.removeAll()
            return RetiredNames(ids: ids)
        }
    }

    /// Starts a new epoch without retiring anything (the control plane does at each full build):
    /// names interned or looked up before it and unused at the next retirement are retired then.
    public func beginEpoch() {
        state.withLock { $0.touched.removeAll() }
    }

    /// Frees the IDs of `retired` that were not interned again since: their names are released
    /// and the IDs handed out again for new names. Returns how many were freed.
    @discardableResult
    public func reclaim(_ retired: RetiredNames) -> Int {
        state.withLock { st in
            var freed = 0
            for id in retired.ids where st.retired.contains(Int(id)) {
                st.retired.remove(Int(id))
                st.freed.insert(Int(id))
                st.index.vacate(position: Int(id))
                slot(Int(id)).pointee = ""
                st.free.append(id)
                freed += 1
            }
            st.reclaimedTotal &+= UInt64(freed)
            return freed
        }
    }

    /// The name of an ID this table handed out.
    @inline(__always) public func name(_ id: Int32) -> String {
        let i = Int(id)
        return chunks[i >> StreamNameTable.chunkBits].unsafelyUnwrapped[i & (StreamNameTable.chunkSize - 1)]
    }

    /// IDs handed out so far, freed ones included (every ID is below this).
    public var count: Int { state.withLock { $0.index.count } }

    /// Names interned now (IDs handed out minus those freed for reuse).
    public var interned: Int { state.withLock { $0.index.count - $0.free.count } }

    /// Names freed by ``reclaim(_:)`` since the process started.
    public var reclaimedTotal: UInt64 { state.withLock { $0.reclaimedTotal } }
}
