/// A snapshot's streams: one slot per stream some edge carries (or carried since the last full
/// build: an incremental build keeps an ended stream's slot, empty, so that every other stream
/// keeps its own), each stream's candidates back to back in the columns, the name → slot
/// tables and the per-stream candidate index. Refreshes share it but for per-stream totals;
/// incremental builds lay out again only the streams their changed edges touch.
public struct StreamTable: Sendable {
    public internal(set) var entries: [StreamEntry]
    /// Expected per-viewer bandwidth by slot (the hot path reads this, not the entry).
    public internal(set) var perViewer: [UInt64]
    /// Every stream's candidates (edge, inputs, a has-viewers bit), back to back.
    var columns: StreamColumns
    /// Name → slot for a full build's streams (flat byte keys: a `[String: Int32]` took 5.3 MB
    /// at 100,000 streams).
    var names: ByteKeyTable
    /// Streams that incremental builds added since the last full build.
    var added: [String: Int32]
    /// Each slot's interned stream ID: ascending after a full build, new streams appended by
    /// incremental builds.
    var slotIds: [Int32]
    /// Candidates the streams hold. Incremental builds leave their rebuilt streams' old runs in
    /// the columns unused; the next full build drops them.
    var liveCandidateCount: Int
    /// Per-stream bounding-ball trees over the candidates.
    public internal(set) var index: CandidateIndex

    /// The slot of stream `name`, also when no edge carries it any more.
    func slot(named name: String) -> Int? {
        if let slot = names.lookup(name) { return Int(slot) }
        return added.isEmpty ? nil : added[name].map(Int.init)
    }

    /// ``slot(named:)`` for raw bytes (no allocation unless incremental builds added streams).
    func slot(named name: UnsafeRawBufferPointer) -> Int? {
        if let slot = names.lookup(name) { return Int(slot) }
        return added.isEmpty ? nil : added[String(decoding: name, as: UTF8.self)].map(Int.init)
    }

    /// Stream `slot`'s candidates (views valid while the columns are alive).
    @inline(__always) func candidates(of slot: Int) -> StreamCandidates {
        let (start, count) = entries.withUnsafeBufferPointer { (Int($0[slot].candidateStart), Int($0[slot].candidateCount)) }
        return columns.candidates(start: start, count: count)
    }

    /// Sets slot `slot`'s totals (written only when changed: the first write copies all the
    /// entries, 4.8 MB at 100,000 streams).
    mutating func setTotals(_ slot: Int, up: UInt64, viewers: UInt64, carried: Bool = true) {
        let perViewer = carried ? StreamEntry.perViewerBytesPerSec(up: up, viewers: viewers) : StreamEntry.unknownPerViewerBytesPerSec
        if entries[slot].totalViewers != viewers { entries[slot].totalViewers = viewers }
        if entries[slot].perViewerBytesPerSec != perViewer {
            entries[slot].perViewerBytesPerSec = perViewer
            self.perViewer[slot] = perViewer
        }
    }
}
