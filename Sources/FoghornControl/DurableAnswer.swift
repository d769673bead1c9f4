import FoghornHTTPCore
import FoghornState

/// Answers an admin write only once the state store committed it: the handler validates,
/// then hands the mutations and its answer here; the request is parked until the commit and
/// answered then — with `answer`, or 503 `STATE_UNAVAILABLE` when the store refused it (403
/// for a token the store found spent). Without a store (in-process tests) the mutations apply and the answer is
/// written at once.
enum DurableAnswer {
    /// Longer than any commit can take (SQLite's busy timeout is 5 s): a timeout answer would
    /// otherwise race a commit that still lands.
    static let commitTimeoutMs: UInt64 = 30_000

    /// The answer to a refused commit: the store's verdict on a spent token, 503 otherwise.
    static func refuse(_ w: inout HTTPResponseWriter, _ error: StateStoreError) {
        if error == .tokenUsedUp {
            w.error(.forbidden, code: error.code, message: error.message)
        } else {
            w.error(.serviceUnavailable, code: "STATE_UNAVAILABLE", message: "the change was not stored: \(error.message)")
        }
    }

    static func commit(_ plane: ControlPlane, _ w: inout HTTPResponseWriter, _ mutations: [StateMutation],
                       answer: @escaping (inout HTTPResponseWriter) -> Void) {
        guard plane.store != nil else {
            var failure: StateStoreError?
            plane.persist(mutations) { failure = $0 }
            if let failure { refuse(&w, failure) } else { answer(&w) }
            return
        }
        w.park = HTTPParkRequest(timeoutMs: commitTimeoutMs, onTimeout: { w in
            w.error(.serviceUnavailable, code: "STATE_UNAVAILABLE", message: "the state store did not commit the change in time")
        }, register: { handle in
            plane.persist(mutations) { error in
                if let error {
                    handle.answer { w in refuse(&w, error) }
                } else {
                    handle.answer(answer)
                }
            }
        })
    }
}
