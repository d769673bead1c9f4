/// Every stream's candidates, back to back in three columns: stream `s`'s are at
/// `streams[s].candidateStart ..< candidateStart + candidateCount`, in ascending edge index.
///
/// One allocation per column instead of three small arrays per stream: at 100,000 streams of
/// 10 candidates the per-stream arrays cost 21.6 MB plus 300,000 heap blocks; the columns take
/// 12 bytes per candidate (12 MB). Owned by the full snapshot build and shared, read-only, with
/// its pending-only refreshes; freed with the last of them.
public final class StreamColumns: @unchecked Sendable {
    let edges: UnsafeMutableBufferPointer<Int32>
    let inputs: UnsafeMutableBufferPointer<UInt32>
    let viewers: UnsafeMutableBufferPointer<UInt32>

    init(count: Int) {
        edges = .allocate(capacity: max(count, 1))
        inputs = .allocate(capacity: max(count, 1))
        viewers = .allocate(capacity: max(count, 1))
    }

    deinit {
        edges.deallocate()
        inputs.deallocate()
        viewers.deallocate()
    }
}

/// One stream's candidates: views into a snapshot's ``StreamColumns``, valid while the snapshot
/// they came from is alive (scoring holds it for the whole request).
public struct StreamCandidates {
    /// Edge indices, ascending.
    public let edges: UnsafeBufferPointer<Int32>
    /// The stream's inputs on each of those edges (0: the edge has the stream without a source).
    public let inputs: UnsafeBufferPointer<UInt32>
    public let viewers: UnsafeBufferPointer<UInt32>

    public var count: Int { edges.count }
    public var isEmpty: Bool { edges.isEmpty }
}
