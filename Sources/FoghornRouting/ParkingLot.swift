import FoghornHTTPCore

/// Viewers waiting on a data loop for something the control loop looks up — a playback ID at the
/// resolver, a stream at the on-demand peers — by key: the first viewer of a key sends one
/// lookup (``park(_:_:lookup:)`` says so), later ones join it, and the answer resumes them all
/// with its outcome readable while they run (``outcome(of:)``). Bounded by the loop
/// (``ViewerLoop/maxParked`` over every lot). Use on the owning loop only.
///
/// ```swift
/// let lot = ParkingLot<Bool>()
/// lot.park("live+a", h1) { ask($0) }   // asks once
/// lot.park("live+a", h2) { ask($0) }   // joins: no second ask
/// lot.finish("live+a", true)            // resumes h1 and h2; outcome(of:) is true meanwhile
/// ```
final class ParkingLot<Outcome> {
    private var waiting: [String: [HTTPResumeHandle]] = [:]
    private var delivering: [String: Outcome] = [:]
    /// Viewers parked here now.
    private(set) var count = 0

    /// Parks `handle` under `key`; runs `lookup(key)` when it is the key's first viewer.
    func park(_ key: String, _ handle: HTTPResumeHandle, lookup: (String) -> Void) {
        count += 1
        if waiting[key] != nil {
            waiting[key]!.append(handle)
        } else {
            waiting[key] = [handle]
            lookup(key)
        }
    }

    /// The lookup for `key` ended with `outcome`: resumes its viewers (each reads the outcome
    /// through ``outcome(of:)`` while it runs again). `before` runs first (the loop takes the
    /// newest snapshot, notes a negative answer).
    func finish(_ key: String, _ outcome: Outcome, before: () -> Void = {}) {
        let handles = waiting.removeValue(forKey: key) ?? []
        count -= handles.count
        before()
        delivering[key] = outcome
        for h in handles { h.resume() }
        delivering.removeValue(forKey: key)
    }

    /// The outcome being delivered for `key`, while its viewers are resumed; nil otherwise.
    func outcome(of key: String) -> Outcome? { delivering.isEmpty ? nil : delivering[key] }
}
