import FoghornHTTPCore
import FoghornState

/// Answers an admin write only once the state store committed it: the handler validates,
/// then hands the mutations and its answer here; the request is parked until the commit and
/// answered then — with `answer`, or 503 `STATE_UNAVAILABLE` (after `undo`) when the store
/// refused it. Without a store (in-process tests) the mutations apply and the answer is
/// written at once.
enum DurableAnswer {
    /// Longer than any commit can take (SQLite's busy timeout is 5 s): a timeout answer would
    /// otherwise race a commit that still lands.
    static let commitTimeoutMs: UInt64 = 30_000

    static func commit(_ plane: ControlPlane, _ w: inout HTTPResponseWriter, _ mutations: [StateMutation],
                       undo: (() -> Void)? = nil, answer: @escaping (inout HTTPResponseWriter) -> Void) {
        guard plane.store != nil else {
            plane.persist(mutations) { _ in }
            answer(&w)
            return
        }
        w.park = HTTPParkRequest(timeoutMs: commitTimeoutMs, onTimeout: { w in
            w.error(.serviceUnavailable, code: "STATE_UNAVAILABLE", message: "the state store did not commit the change in time")
        }, register: { handle in
            plane.persist(mutations) { error in
                if let error {
                    undo?()
                    handle.answer { w in
                        w.error(.serviceUnavailable, code: "STATE_UNAVAILABLE", message: "the change was not stored: \(error.message)")
                    }
                } else {
                    handle.answer(answer)
                }
            }
        })
    }
}
