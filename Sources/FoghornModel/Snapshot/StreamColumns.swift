/// Every stream's candidates, back to back in columns: stream `s`'s are at
/// `streams[s].candidateStart ..< candidateStart + candidateCount`, in ascending edge index.
///
/// One allocation per column instead of three small arrays per stream: at 100,000 streams of
/// 10 candidates the per-stream arrays cost 21.6 MB plus 300,000 heap blocks; the columns take
/// 8 bytes and one bit per candidate (8.1 MB): whether the edge has viewers of the stream is all
/// anything asks of the viewer count (MistServer's "carries the stream" test). Owned by the full snapshot build and shared, read-only, with
/// its pending-only refreshes; freed with the last of them.
///
/// Plain allocations, not advised as transparent huge pages: that saves page faults in a full
/// build, but with the kernel's usual `defrag=madvise` a huge-page fault may stall in direct
/// compaction, and a running server builds incrementally, where steady times matter more
/// (docs/PERFORMANCE.md, "Measurements behind constants").
public final class StreamColumns: @unchecked Sendable {
    let edges: UnsafeMutableBufferPointer<Int32>
    let inputs: UnsafeMutableBufferPointer<UInt32>
    /// Bit `i`: candidate `i` reports viewers of the stream.
    let viewerBits: UnsafeMutableBufferPointer<UInt64>
    /// Positions written so far; `used ..< capacity` is spare room for incremental builds
    /// (``claim(_:)``). Read and changed only on the control loop.
    private(set) var used: Int
    var capacity: Int { edges.count }

    /// Columns for `count` candidates and room for `spare` more.
    init(count: Int, spare: Int = 0) {
        let capacity = max(count + spare, 1)
        edges = .allocate(capacity: capacity)
        inputs = .allocate(capacity: capacity)
        viewerBits = .allocate(capacity: (capacity + 63) / 64)
        viewerBits.initialize(repeating: 0)
        used = count
    }

    /// The room a full build leaves for incremental ones: a sixteenth of its candidates, at least 4,096.
    static func spare(for count: Int) -> Int { max(count / 16, 4096) }

    deinit {
        edges.deallocate()
        inputs.deallocate()
        viewerBits.deallocate()
    }

    func setHasViewers(_ i: Int) { viewerBits[i >> 6] |= 1 << UInt64(i & 63) }

    func setHasViewers(_ i: Int, _ has: Bool) {
        if has { setHasViewers(i) } else { viewerBits[i >> 6] &= ~(1 << UInt64(i & 63)) }
    }

    /// `count` never-used positions for an incremental build's new runs, starting on a fresh
    /// viewer-bit word — so writing them touches nothing a published snapshot reads, and the
    /// columns can be shared with it — or nil when the spare room is used up (a full build is
    /// due). On the control loop only.
    func claim(_ count: Int) -> Int? {
        let start = (used + 63) & ~63
        guard start + count <= capacity else { return nil }
        used = start + count
        return start
    }

    /// New columns holding only `streams`' runs, back to back in slot order (each entry's
    /// `candidateStart` updated), with room for `extra` more candidates plus the usual spare:
    /// what an incremental build does when the spare room runs out, instead of a full build
    /// (≈ 45 ms at 10,000 edges × 100 streams; this copies 8 bytes and a bit per candidate).
    /// Not shared with any published snapshot. The compaction count goes up by one.
    func compacted(_ streams: inout [StreamEntry], extra: Int) -> StreamColumns {
        var live = 0
        for s in streams { live += Int(s.candidateCount) }
        // `extra` starts on a fresh viewer-bit word (``claim(_:)``): up to 63 positions more.
        let c = StreamColumns(count: 0, spare: live + 63 + extra + StreamColumns.spare(for: live + extra))
        c.compactions = compactions + 1
        var at = 0
        streams.withUnsafeMutableBufferPointer { entries in
            for si in entries.indices {
                let start = Int(entries[si].candidateStart), n = Int(entries[si].candidateCount)
                entries[si].candidateStart = Int32(at)
                guard n > 0 else { continue }
                (c.edges.baseAddress.unsafelyUnwrapped + at).update(from: edges.baseAddress.unsafelyUnwrapped + start, count: n)
                (c.inputs.baseAddress.unsafelyUnwrapped + at).update(from: inputs.baseAddress.unsafelyUnwrapped + start, count: n)
                for k in 0..<n where viewerBits[(start + k) >> 6] & (1 << UInt64((start + k) & 63)) != 0 { c.setHasViewers(at + k) }
                at += n
            }
        }
        c.used = at
        return c
    }

    /// How many times these columns' contents were compacted (``compacted(_:extra:)``) since
    /// the full build that laid them out; copies keep it.
    private(set) var compactions = 0

    /// A private copy (a load refresh patches input counts and viewer bits in it).
    func copy() -> StreamColumns { renumbered(nil) }
    /// A copy of the used positions with every edge index `e` replaced by `newOfOld[e]` (-1 for a
    /// removed edge, or for a value out of range in an unused run; nil: as they are); same used
    /// count and spare room.
    func renumbered(_ newOfOld: [Int32]?) -> StreamColumns {
        let c = StreamColumns(count: used, spare: capacity - used)
        c.compactions = compactions
        if let newOfOld {
            newOfOld.withUnsafeBufferPointer { map in
                for at in 0..<used {
                    let e = Int(edges[at])
                    c.edges[at] = e >= 0 && e < map.count ? map[e] : -1
                }
            }
        } else if used > 0 {
            c.edges.baseAddress.unsafelyUnwrapped.update(from: edges.baseAddress.unsafelyUnwrapped, count: used)
        }
        if used > 0 {
            c.inputs.baseAddress.unsafelyUnwrapped.update(from: inputs.baseAddress.unsafelyUnwrapped, count: used)
            c.viewerBits.baseAddress.unsafelyUnwrapped.update(from: viewerBits.baseAddress.unsafelyUnwrapped, count: (used + 63) / 64)
        }
        return c
    }

    /// Stream `start ..< start + count`'s candidates.
    func candidates(start: Int, count: Int) -> StreamCandidates {
        StreamCandidates(
            edges: UnsafeBufferPointer(rebasing: edges[start..<(start + count)]),
            inputs: UnsafeBufferPointer(rebasing: inputs[start..<(start + count)]),
            viewerBits: UnsafePointer(viewerBits.baseAddress.unsafelyUnwrapped), start: start)
    }
}

/// One stream's candidates: views into a snapshot's ``StreamColumns``, valid while the snapshot
/// they came from is alive (scoring holds it for the whole request).
public struct StreamCandidates {
    /// Edge indices, ascending.
    public let edges: UnsafeBufferPointer<Int32>
    /// The stream's inputs on each of those edges (0: the edge has the stream without a source).
    public let inputs: UnsafeBufferPointer<UInt32>
    let viewerBits: UnsafePointer<UInt64>
    let start: Int

    /// Whether candidate `k` reports viewers of the stream.
    public func hasViewers(_ k: Int) -> Bool {
        let i = start + k
        return viewerBits[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    public var count: Int { edges.count }
    public var isEmpty: Bool { edges.isEmpty }
}
