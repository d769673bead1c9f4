/// One stream as the snapshot sees it: where its candidates (the edges carrying it, ascending
/// edge index, so ties break by node ID) sit in the snapshot's ``StreamColumns`` — read them
/// with ``RoutingSnapshot/candidates(of:)`` — and totals over them.
public struct StreamEntry: Sendable {
    /// The stream's interned ID in the snapshot's ``StreamNameTable`` (its name:
    /// ``RoutingSnapshot/streamName(_:)``): the entry holds no reference, so copying 100,000 of
    /// them (a successor whose stream totals changed) is a plain memory copy.
    public var streamId: Int32
    public var candidateStart: Int32
    public var candidateCount: Int32
    /// Expected bandwidth of one more viewer: Σ up / Σ viewers over edges,
    /// clamped to 64 KiB/s…1 MiB/s, 128 KiB/s when unknown.
    public var perViewerBytesPerSec: UInt64
    /// FNV-1a of the name (for stickiness).
    public var nameHash: UInt64
    public var totalViewers: UInt64

    /// Expected bandwidth of one more viewer of a stream: Σ up / Σ viewers over its edges,
    /// clamped to 64 KiB/s…1 MiB/s, 128 KiB/s when unknown.
    ///
    /// Worked examples: 30,000,000 B/s over 100 viewers → 300,000; 500,000 B/s over 10 viewers →
    /// 50,000, clamped up to 65,536; 200,000,000 B/s over 100 → 2,000,000, clamped down to
    /// 1,048,576; no viewers (or no bandwidth reported) → 131,072.
    public static func perViewerBytesPerSec(up: UInt64, viewers: UInt64) -> UInt64 {
        viewers > 0 && up > 0 ? min(max(up / viewers, 65_536), 1_048_576) : 131_072
    }

    /// What a stream no edge reports yet is expected to cost per viewer.
    public static let unknownPerViewerBytesPerSec: UInt64 = 131_072
}
