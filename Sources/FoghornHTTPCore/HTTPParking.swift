/// A handler that cannot answer yet (it waits for another thread, e.g. a
/// playback resolver) parks its request: it sets ``HTTPResponseWriter/park``
/// instead of writing. The connection keeps a copy of the request, stops
/// reading, and hands the handler a ``HTTPResumeHandle``; calling
/// ``HTTPResumeHandle/resume()`` on the loop runs the same route again on the
/// same request; at the deadline the connection answers with `onTimeout`.
public struct HTTPParkRequest {
    public var timeoutMs: UInt64
    public var onTimeout: (inout HTTPResponseWriter) -> Void
    public var register: (HTTPResumeHandle) -> Void

    public init(timeoutMs: UInt64, onTimeout: @escaping (inout HTTPResponseWriter) -> Void, register: @escaping (HTTPResumeHandle) -> Void) {
        self.timeoutMs = timeoutMs
        self.onTimeout = onTimeout
        self.register = register
    }
}

/// Resumes one parked request. Use on the loop that parked it; a no-op once the
/// request was answered (timeout) or its connection closed.
///
/// Two ways to resume: ``resume()`` runs the route again (a lookup filled a cache the handler
/// reads), ``answer(_:)`` writes the response the waiting work produced (an admin write
/// answered once its state store committed it), without running the route again.
public final class HTTPResumeHandle {
    private var action: (() -> Void)?
    /// The response ``answer(_:)`` handed over; the connection writes it instead of re-running the route.
    public private(set) var answerWriter: ((inout HTTPResponseWriter) -> Void)?

    public init(_ action: @escaping () -> Void) { self.action = action }

    public func resume() {
        let a = action
        action = nil
        a?()
    }

    /// Resumes the request with this response (written on the parking loop).
    public func answer(_ write: @escaping (inout HTTPResponseWriter) -> Void) {
        guard action != nil else { return }
        answerWriter = write
        resume()
    }

    /// Called by the connection when the request no longer waits.
    public func invalidate() { action = nil }

    public var isPending: Bool { action != nil }
}
