/// A snapshot's scoring rows (``EdgeHot``, one 64-byte line per edge) in a buffer of their own:
/// immutable once built, freed with the last snapshot that shares them (a playback patch keeps
/// its predecessor's rows; refreshes and incremental builds write new ones).
public final class EdgeRows: @unchecked Sendable {
    /// `max(count, 1)` rows, the first `count` written.
    public let buffer: UnsafeMutableBufferPointer<EdgeHot>

    /// Room for `count` rows, to be written before the rows are shared.
    init(count: Int) {
        buffer = .allocate(capacity: max(count, 1))
    }

    /// `previous`'s `count` rows with each one's `used` and bandwidth term recomputed from
    /// `baseUsed` + `pending` (placements and exclusions kept).
    convenience init(refreshing previous: EdgeRows, count: Int, baseUsed: [UInt64], pending: [UInt64], weights w: ScoringWeights) {
        self.init(count: count)
        for i in 0..<count { buffer[i] = previous.buffer[i].withUsage(base: baseUsed[i], pending: pending[i], w) }
    }

    deinit { buffer.deallocate() }
}
