/// A snapshot's playback records: ID → record through a flat byte-key table (read by viewer
/// requests without allocating), and per record the slot of its stream (-1 while no edge
/// carries it) and its tenant index. A full build lays it out; a record set or removed patches
/// it (``RoutingSnapshot/updatingPlayback(_:playback:playbackStreamIds:positions:generation:nowMs:appliedShipments:clock:)``);
/// a stream appearing or going away re-points its records; every other build shares it.
public struct PlaybackTable: Sendable {
    public internal(set) var records: [PlaybackRecord]
    /// Playback ID → position in `records`.
    var ids: ByteKeyTable
    /// Each record's stream slot, -1 when no edge carries its stream.
    var stream: [Int32]
    /// Each record's tenant index (``TenantTable``), -1 for none.
    var tenant: [Int32]

    /// Re-points the records of streams that appeared or went away (`flipped`: interned ID →
    /// slot, -1 when gone) — a bit test per record, a dictionary lookup only for the few flagged.
    mutating func repoint(_ flipped: [(id: Int32, slot: Int32)], streamIds: [Int32]) {
        guard !flipped.isEmpty else { return }
        var newSlot: [Int32: Int32] = [:]
        var maxId: Int32 = 0
        for f in flipped { newSlot[f.id] = f.slot; maxId = max(maxId, f.id) }
        var flagged = [UInt64](repeating: 0, count: Int(maxId) / 64 + 1)
        for f in flipped { flagged[Int(f.id) >> 6] |= 1 << UInt64(f.id & 63) }
        flagged.withUnsafeBufferPointer { bits in
            streamIds.withUnsafeBufferPointer { ids in
                for r in 0..<ids.count {
                    let id = ids[r]
                    guard id >= 0, id <= maxId, bits[Int(id) >> 6] & (1 << UInt64(id & 63)) != 0 else { continue }
                    stream[r] = newSlot[id].unsafelyUnwrapped
                }
            }
        }
    }

    /// Whether two arrays are one buffer (nothing was written to either since they were copied).
    static func sameStorage(_ a: [PlaybackRecord], _ b: [PlaybackRecord]) -> Bool {
        a.count == b.count && a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress } }
    }
}
