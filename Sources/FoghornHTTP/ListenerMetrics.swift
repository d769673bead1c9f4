public import FoghornHTTPCore

/// The counters one listener keeps on one loop. Slots:
/// requests by (route, status class 1xx…5xx), parse errors by reason,
/// connections accepted and closed (open = accepted − closed).
public final class ListenerMetrics: @unchecked Sendable {
    public let listenerName: String
    public let routeNames: [String]
    public let counters: RelaxedCounters
    /// Time to answer, by outcome (status class): from the request's complete head to its
    /// response in the output buffer — a parked request (resolver, peers, durable write) until it
    /// is answered.
    public let durations = LatencyHistogram(labels: ListenerMetrics.outcomes)
    public static let outcomes = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    static let statusClasses = 5
    private let parseErrorBase: Int
    private let acceptedSlot: Int
    private let closedSlot: Int
    private let rejectedAtCapSlot: Int
    private let acceptErrorBase: Int
    private let proxyRejectBase: Int
    /// Why a PROXY-protocol connection was closed unanswered.
    public static let proxyRejectReasons = ["untrusted_source", "malformed", "timeout"]
    /// Why an accept failed: out of descriptors (process, system), anything else.
    public static let acceptErrorReasons = ["emfile", "enfile", "other"]

    public init(listenerName: String, routeNames: [String]) {
        self.listenerName = listenerName
        self.routeNames = routeNames
        parseErrorBase = routeNames.count * ListenerMetrics.statusClasses
        acceptedSlot = parseErrorBase + HTTPParseError.allCases.count
        closedSlot = acceptedSlot + 1
        rejectedAtCapSlot = closedSlot + 1
        acceptErrorBase = rejectedAtCapSlot + 1
        proxyRejectBase = acceptErrorBase + ListenerMetrics.acceptErrorReasons.count
        counters = RelaxedCounters(count: proxyRejectBase + ListenerMetrics.proxyRejectReasons.count)
    }

    @inline(__always) public func countRequest(route: Int, status: HTTPStatus) {
        let cls = min(max(status.statusClass, 1), 5) - 1
        counters.add(route &* ListenerMetrics.statusClasses &+ cls)
    }

    /// Counts the request and records how long it took.
    @inline(__always) public func countRequest(route: Int, status: HTTPStatus, ns: UInt64) {
        let cls = min(max(status.statusClass, 1), 5) - 1
        counters.add(route &* ListenerMetrics.statusClasses &+ cls)
        durations.record(label: cls, ns: ns)
    }

    @inline(__always) public func countParseError(_ error: HTTPParseError) {
        counters.add(parseErrorBase &+ Int(error.rawValue))
    }

    @inline(__always) public func countAccepted() { counters.add(acceptedSlot) }
    @inline(__always) public func countClosed() { counters.add(closedSlot) }
    @inline(__always) public func countPausedAtCap() { counters.add(rejectedAtCapSlot) }
    /// `reason`: index into ``acceptErrorReasons``.
    public func countAcceptError(reason: Int) { counters.add(acceptErrorBase + min(max(reason, 0), ListenerMetrics.acceptErrorReasons.count - 1)) }
    public func acceptErrors(reason: Int) -> UInt64 { counters.load(acceptErrorBase + reason) }
    /// `reason`: index into ``proxyRejectReasons``.
    public func countProxyRejected(reason: Int) { counters.add(proxyRejectBase + reason) }
    public func proxyRejected(reason: Int) -> UInt64 { counters.load(proxyRejectBase + reason) }

    public func requests(route: Int, statusClass: Int) -> UInt64 {
        counters.load(route * ListenerMetrics.statusClasses + statusClass - 1)
    }

    public func parseErrors(_ error: HTTPParseError) -> UInt64 { counters.load(parseErrorBase + Int(error.rawValue)) }
    public var accepted: UInt64 { counters.load(acceptedSlot) }
    public var closed: UInt64 { counters.load(closedSlot) }
    public var pausedAtCap: UInt64 { counters.load(rejectedAtCapSlot) }
    public var open: UInt64 { let a = accepted, c = closed; return a > c ? a - c : 0 }
}
