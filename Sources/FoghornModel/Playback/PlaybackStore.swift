/// The control loop's playback records: one dense array (which a ``RoutingSnapshot`` shares
/// instead of copying) and an index by playback ID.
///
/// Replaces a `[String: PlaybackRecord]` plus a `Set` of the config-declared IDs: at 100,000
/// records the dictionary alone held 262,144 slots of 80 bytes (21 MB), the snapshot's copy of
/// its values 6.4 MB more and the set 4.2 MB; here it is 64 bytes per record, ≈ 14 bytes of
/// index (``DenseKeyIndex``) and one flag byte. Removal moves the last record into the hole (order is not meaningful).
///
/// ```swift
/// var store = PlaybackStore(names: StreamNameTable())
/// store.set(PlaybackRecord(playbackId: "pa", stream: "live+a"), isStatic: true)
/// store.set(PlaybackRecord(playbackId: "pb", stream: "live+b"))
/// store["pa"]?.stream      // "live+a"
/// store.isStatic("pa")     // true
/// store.remove("pa")       // true; "pb" now sits at index 0
/// ```
public struct PlaybackStore: Sendable {
    /// Every record, in no particular order (snapshots index it by position).
    public private(set) var records: [PlaybackRecord] = []
    /// Each record's stream interned in ``names`` (snapshot builds match records
    /// to streams by index, not by hashing 100,000 names).
    public private(set) var streamIds: [Int32] = []
    private var index = DenseKeyIndex()
    /// Parallel to `records`: declared in the config file (a reload replaces exactly these).
    private var staticFlags: [Bool] = []

    /// The table records' streams are interned in.
    public let names: StreamNameTable

    public init(names: StreamNameTable) { self.names = names }

    public var count: Int { records.count }

    private func position(_ id: String) -> Int? {
        index.find(id, hash: DenseKeyIndex.hash(id)) { records[$0].playbackId }
    }

    /// Where the record for `id` sits in ``records`` (and ``streamIds``).
    public func index(of id: String) -> Int? { position(id) }

    public subscript(_ id: String) -> PlaybackRecord? {
        position(id).map { records[$0] }
    }

    public func isStatic(_ id: String) -> Bool {
        position(id).map { staticFlags[$0] } ?? false
    }

    /// The IDs declared in the config file.
    public var staticIds: [String] {
        var ids: [String] = []
        for (k, r) in records.enumerated() where staticFlags[k] { ids.append(r.playbackId) }
        return ids
    }

    /// Adds or replaces the record for `record.playbackId`. `isStatic` nil keeps the existing
    /// flag (false for a new record).
    public mutating func set(_ record: PlaybackRecord, isStatic: Bool? = nil) {
        let h = DenseKeyIndex.hash(record.playbackId)
        let streamId = names.id(for: record.stream)
        if let i = index.find(record.playbackId, hash: h, keyAt: { records[$0].playbackId }) {
            records[i] = record
            streamIds[i] = streamId
            if let isStatic { staticFlags[i] = isStatic }
            return
        }
        index.append(hash: h)
        records.append(record)
        streamIds.append(streamId)
        staticFlags.append(isStatic ?? false)
    }

    /// Room for `n` records without growing (a config load knows its count).
    public mutating func reserveCapacity(_ n: Int) {
        records.reserveCapacity(n)
        streamIds.reserveCapacity(n)
        staticFlags.reserveCapacity(n)
        index.reserveCapacity(n)
    }

    @discardableResult
    public mutating func remove(_ id: String) -> Bool {
        guard let i = position(id) else { return false }
        index.remove(position: i)
        let last = records.count - 1
        if i != last {
            records[i] = records[last]
            streamIds[i] = streamIds[last]
            staticFlags[i] = staticFlags[last]
        }
        records.removeLast()
        streamIds.removeLast()
        staticFlags.removeLast()
        return true
    }

    /// Makes `records` the config-declared set (a reload): records the file no longer declares
    /// are removed, new or different ones set (and marked static), identical ones left alone.
    /// Returns the IDs whose record changed, for a snapshot patch. At most one hash lookup per
    /// record (none for one found at its own position), no set of all IDs.
    ///
    /// ```swift
    /// var store = PlaybackStore(names: StreamNameTable())
    /// store.set(PlaybackRecord(playbackId: "pa", stream: "live+a"), isStatic: true)
    /// store.set(PlaybackRecord(playbackId: "pb", stream: "live+b"), isStatic: true)
    /// store.set(PlaybackRecord(playbackId: "px", stream: "live+x"))          // runtime, not static
    /// store.replaceStatic(with: [PlaybackRecord(playbackId: "pa", stream: "live+a"),
    ///                            PlaybackRecord(playbackId: "pc", stream: "live+c")])  // ["pc", "pb"]
    /// ```
    public mutating func replaceStatic(with declared: [PlaybackRecord]) -> [String] {
        var changed: [String] = []
        // Positions the file declares (as they are before anything is removed).
        var declaredAt = [Bool](repeating: false, count: records.count)
        for (k, record) in declared.enumerated() {
            // A file read again usually lists its records in the order they were set: the same
            // record at the same position needs no lookup (100,000 hash lookups ≈ 5 ms).
            if k < declaredAt.count && staticFlags[k] && records[k] == record {
                declaredAt[k] = true
                continue
            }
            let h = DenseKeyIndex.hash(record.playbackId)
            if let i = index.find(record.playbackId, hash: h, keyAt: { records[$0].playbackId }) {
                if i < declaredAt.count { declaredAt[i] = true }
                if staticFlags[i] && records[i] == record { continue }
                records[i] = record
                streamIds[i] = names.id(for: record.stream)
                staticFlags[i] = true
            } else {
                index.append(hash: h)
                records.append(record)
                streamIds.append(names.id(for: record.stream))
                staticFlags.append(true)
            }
            changed.append(record.playbackId)
        }
        var gone: [String] = []
        for i in declaredAt.indices where staticFlags[i] && !declaredAt[i] { gone.append(records[i].playbackId) }
        for id in gone { remove(id) }
        return changed + gone
    }
}
