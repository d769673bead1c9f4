/// Peer clusters' edges as scoring candidates (``EdgeState/remoteCluster`` set), in the order
/// the peering layer lists them, with the pending (anti-herd) bandwidth this cluster's viewers
/// add to them between two pieces of news from their peer.
///
/// ```swift
/// var cache = RemoteEdgeCache()
/// cache.replace(with: [(edgeA, updatedMs: 100)])   // edgeA is "e1@west"
/// cache.addPending("e1@west", 50_000)
/// cache.replace(with: [(edgeA, updatedMs: 100)])   // same news: pending 50,000 kept
/// cache.replace(with: [(edgeA2, updatedMs: 200)])  // newer news carries the real load: pending 0
/// ```
public struct RemoteEdgeCache: Sendable {
    public private(set) var states: [EdgeState] = []
    /// Where each edge (`node@cluster`) sits in `states`, and the news it came from.
    private var index: [String: (index: Int, updatedMs: UInt64)] = [:]

    public init() {}

    /// The edges from now on, each with when its peer last said something about it: an edge
    /// whose news is the same keeps its pending bandwidth.
    public mutating func replace(with entries: [(edge: EdgeState, updatedMs: UInt64)]) {
        var out: [EdgeState] = []
        var newIndex: [String: (index: Int, updatedMs: UInt64)] = [:]
        out.reserveCapacity(entries.count)
        for (edge, updatedMs) in entries {
            var e = edge
            if let old = index[e.nodeId], old.updatedMs == updatedMs {
                let pending = states[old.index].pendingBytesPerSec
                if pending > 0 { e.addPending(pending) }
            }
            newIndex[e.nodeId] = (out.count, updatedMs)
            out.append(e)
        }
        states = out
        index = newIndex
    }

    /// Folds redirects a data loop sent to edge `id` (`node@cluster`); false when it is gone.
    @discardableResult
    public mutating func addPending(_ id: String, _ bytesPerSec: UInt64) -> Bool {
        guard let i = index[id]?.index else { return false }
        states[i].addPending(bytesPerSec)
        return true
    }

    public func pendingOf(_ id: String) -> UInt64? { index[id].map { states[$0.index].pendingBytesPerSec } }

    /// Once a second: forgets the oldest second of pending; true if any changed.
    public mutating func agePending() -> Bool {
        var changed = false
        for i in states.indices where states[i].pendingBytesPerSec > 0 {
            if states[i].agePending() { changed = true }
        }
        return changed
    }
}
