/// The edges a ``RoutingSnapshot`` holds, by index, each state in a box the snapshots share: a
/// successor that changes a few edges (a report, a move, an enrolment) copies 10,000 references
/// rather than 10,000 `EdgeState`s — a dozen retains each, ≈ 4 ms per refresh at 10,000 edges,
/// paid by every report. Reading `edges[i].field` borrows the boxed state (no copy).
public struct SnapshotEdges: RandomAccessCollection, Sendable {
    @usableFromInline final class Box: Sendable {
        @usableFromInline let state: EdgeState
        init(_ state: EdgeState) { self.state = state }
    }

    @usableFromInline var boxes: [Box]

    init(_ states: [EdgeState]) { boxes = states.map(Box.init) }
    init(boxes: [Box]) { self.boxes = boxes }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { boxes.count }

    /// Inlinable: across modules a `_read` coroutine that is not inlined allocates its frame
    /// (the JSON answer reads five edges' base URLs: 5 heap allocations per request).
    @inlinable public subscript(i: Int) -> EdgeState {
        _read { yield boxes[i].state }
    }

    /// Edge `i` is `state` from now on (in this list only).
    mutating func replace(_ i: Int, with state: EdgeState) { boxes[i] = Box(state) }

    /// Edge `i`'s box, to share with another list.
    func box(_ i: Int) -> Box { boxes[i] }
}
