public import FoghornHTTPCore

/// Connection timeouts, all in milliseconds. See docs/OPERATIONS.md.
public struct HTTPTimeouts: Sendable, Equatable {
    /// The whole head (and body) must arrive within this time of its first byte → else 408 and close.
    /// Absolute, not an inactivity timer: trickling bytes does not extend it.
    public var headerTimeoutMs: UInt64
    /// A keep-alive connection with no request in progress is closed after this long.
    public var idleTimeoutMs: UInt64
    /// A response the peer does not read within this long closes the connection.
    public var writeTimeoutMs: UInt64
    /// After an error response, how long we keep draining input before closing
    /// (so the client reads the response instead of a reset).
    public var lingerMs: UInt64

    public init(headerTimeoutMs: UInt64 = 5000, idleTimeoutMs: UInt64 = 30000, writeTimeoutMs: UInt64 = 10000, lingerMs: UInt64 = 2000) {
        self.headerTimeoutMs = headerTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
        self.writeTimeoutMs = writeTimeoutMs
        self.lingerMs = lingerMs
    }
}

/// What one listener enforces.
public struct HTTPListenerOptions: Sendable {
    /// Metrics `listener` label: `viewer`, `internal`.
    public var name: String
    public var limits: HTTPLimits
    public var timeouts: HTTPTimeouts
    /// At most this many connections per loop; at the cap the listener stops accepting.
    public var maxConnectionsPerLoop: Int
    /// At most this many pipelined requests are answered per batch before the
    /// batch's responses are written out.
    public var maxPipelinedRequests: Int
    /// Methods the parser accepts on this listener; others → 405 from the router.
    public var backlog: Int32

    public init(
        name: String, limits: HTTPLimits = HTTPLimits(), timeouts: HTTPTimeouts = HTTPTimeouts(),
        maxConnectionsPerLoop: Int = 10000, maxPipelinedRequests: Int = 16, backlog: Int32 = 1024
    ) {
        self.name = name
        self.limits = limits
        self.timeouts = timeouts
        self.maxConnectionsPerLoop = maxConnectionsPerLoop
        self.maxPipelinedRequests = maxPipelinedRequests
        self.backlog = backlog
    }
}
