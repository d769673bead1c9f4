import CLibUV
import CFoghornShims
public import FoghornHTTPCore
public import FoghornTLS
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket on one loop, with its router, parser and counters.
public final class HTTPListener: @unchecked Sendable {
    /// Limits, timeouts and caps. A reload replaces the timeouts, the connection cap and the
    /// pipelining limit (``retune(_:)``); the parser limits stay those the listener started with.
    public private(set) var options: HTTPListenerOptions
    public let router: HTTPRouter
    public let metrics: ListenerMetrics
    /// The context owns its listeners and lives until its loop exits (no refcounting per request).
    public unowned(unsafe) let context: HTTPLoopContext
    let parser: HTTPRequestParser
    let headerScratch: UnsafeMutableBufferPointer<HTTPHeaderField>
    /// Headers every response carries (e.g. CORS on the viewer listener).
    let commonHeaders: UnsafeMutableRawBufferPointer?
    /// The listening socket (ours: closed once the poll handle has closed).
    private let fd: Int32
    /// Readiness of the listening socket: we accept ourselves (see ``onReadable()``).
    private let poll: UnsafeMutablePointer<uv_poll_t>
    /// Resumes accepting after a descriptor shortage.
    private let retryTimer: UnsafeMutablePointer<uv_timer_t>
    /// Called after every routed response when set (access log): request, status, route index,
    /// handler time in ns. Runs on the loop; must not block.
    public var accessLogger: ((HTTPRequest, HTTPStatus, Int, UInt64) -> Void)?
    /// Set on HTTPS listeners: the loop's view of the published certificates.
    public var tls: TLSContextReader?
    public var tlsHandshakeTimeoutMs: UInt64 = 5000
    /// PROXY protocol (v1 and v2) on this listener: set, every connection must come from an
    /// address it accepts and start with a PROXY header, whose source address becomes the
    /// connection's peer address (geo, stickiness, trusted-proxy headers, logs). Nil: off.
    public var proxyProtocolFrom: ((String) -> Bool)?
    /// TLS handshakes on this listener: completed, of which resumed, failed (by slot).
    public let tlsCounters = RelaxedCounters(count: 3)
    public static let tlsCompleted = 0, tlsResumed = 1, tlsFailed = 2
    private(set) var isPaused = false
    private var isClosed = false
    private var isOpen = false

    /// Adopts `socket` on `context`'s loop and starts listening. Call on that loop's thread.
    public init(
        socket: ListeningSocket, options: HTTPListenerOptions, router: HTTPRouter,
        context: HTTPLoopContext, metrics: ListenerMetrics, commonHeaders: [UInt8] = []
    ) throws(ListeningSocket.BindError) {
        self.options = options
        self.router = router
        self.context = context
        self.metrics = metrics
        parser = HTTPRequestParser(limits: options.limits)
        headerScratch = .allocate(capacity: max(options.limits.maxHeaderCount, 1))
        if commonHeaders.isEmpty {
            self.commonHeaders = nil
        } else {
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: commonHeaders.count, alignment: 1)
            copy.copyBytes(from: commonHeaders)
            self.commonHeaders = copy
        }
        fd = socket.fd
        poll = .allocate(capacity: 1)
        retryTimer = .allocate(capacity: 1)
        // The socket listens already (bound and listening at start); this sets our backlog.
        var rc: Int32 = Glibc.listen(fd, options.backlog) == 0 ? 0 : -errno
        if rc == 0 {
            let flags = fcntl(fd, F_GETFL)
            rc = flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 ? 0 : -errno
        }
        if rc == 0 { rc = uv_poll_init(context.loop.uvLoop, poll, fd) }
        if rc != 0 {
            isClosed = true
            Glibc.close(fd)
            poll.deallocate()
            retryTimer.deallocate()
            throw ListeningSocket.BindError(address: HostPort.format(host: socket.host, port: socket.port), errno: -rc)
        }
        uv_timer_init(context.loop.uvLoop, retryTimer)
        let me = Unmanaged.passUnretained(self).toOpaque()
        poll.pointee.data = me
        retryTimer.pointee.data = me
        isOpen = true
        startPolling()
        context.listeners.append(self)
    }

    deinit {
        headerScratch.deallocate()
        commonHeaders?.deallocate()
    }

    /// Hears of a failed accept (on this listener's loop): `-errno` (libuv's error codes). The
    /// server logs it, rate-limited.
    public var onAcceptError: ((Int32) -> Void)?

    /// How long accepting pauses after running out of descriptors (the backlog keeps the rest).
    static let descriptorRetryMs: UInt64 = 100
    /// Connections taken per readiness callback, so one busy listener cannot starve its loop.
    static let acceptsPerWakeup = 64

    /// The listening socket is readable: accept (bounded), each into a connection of this loop.
    /// At the connection cap, stop watching the socket (connections wait in the kernel backlog);
    /// out of descriptors (EMFILE, ENFILE), count, tell ``onAcceptError`` and pause for
    /// ``descriptorRetryMs`` instead of spinning on a socket that stays readable.
    fileprivate func onReadable() {
        guard !isClosed, !isPaused else { return }
        for _ in 0..<HTTPListener.acceptsPerWakeup {
            if context.connectionCount >= options.maxConnectionsPerLoop {
                metrics.countPausedAtCap()
                return pause()
            }
            let client = foghorn_accept(fd)
            if client < 0 {
                let e = -client
                switch e {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO, EPERM: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    metrics.countAcceptError(reason: e == EMFILE ? 0 : e == ENFILE ? 1 : 2)
                    onAcceptError?(-e)
                    pause()
                    uv_timer_start(retryTimer, httpListenerRetryCallback, HTTPListener.descriptorRetryMs, 0)
                    return
                default:
                    metrics.countAcceptError(reason: 2)
                    onAcceptError?(-e)
                    return
                }
            }
            let connection = HTTPConnection(listener: self)
            if uv_tcp_open(connection.tcp, uv_os_sock_t(client)) != 0 {
                Glibc.close(client)
                connection.discardUnaccepted()
                continue
            }
            connection.start()
        }
    }

    private func startPolling() {
        isPaused = false
        uv_poll_start(poll, Int32(UV_READABLE.rawValue), httpListenerReadableCallback)
    }

    private func pause() {
        isPaused = true
        uv_poll_stop(poll)
    }

    fileprivate func retryAfterDescriptorShortage() {
        guard !isClosed else { return }
        startPolling()
        onReadable()
    }

    /// Takes `new`'s timeouts, connection cap and pipelining limit (on this listener's loop).
    /// Open connections use them from their next timer or batch; a raised cap resumes accepting.
    public func retune(_ new: HTTPListenerOptions) {
        options.timeouts = new.timeouts
        options.maxConnectionsPerLoop = new.maxConnectionsPerLoop
        options.maxPipelinedRequests = new.maxPipelinedRequests
        resumeAccepting()
    }

    func resumeAccepting() {
        guard isPaused, !isClosed, context.connectionCount < options.maxConnectionsPerLoop,
              uv_is_active(UnsafeMutableRawPointer(retryTimer).assumingMemoryBound(to: uv_handle_t.self)) == 0 else { return }
        startPolling()
        onReadable()
    }

    /// Stops listening (drain / shutdown). Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if isOpen {
            _ = Unmanaged.passRetained(self)  // released once both handles have closed
            uv_poll_stop(poll)
            uv_close(UnsafeMutableRawPointer(poll).assumingMemoryBound(to: uv_handle_t.self), httpListenerClosedCallback)
            uv_close(UnsafeMutableRawPointer(retryTimer).assumingMemoryBound(to: uv_handle_t.self), httpListenerClosedCallback)
        }
    }

    private var handlesOpen = 2

    /// One of the two handles closed; after both, the socket is closed and the memory freed.
    fileprivate func handleClosed() -> Bool {
        handlesOpen -= 1
        guard handlesOpen == 0 else { return false }
        Glibc.close(fd)
        poll.deallocate()
        retryTimer.deallocate()
        return true
    }
}

private func httpListenerReadableCallback(_ handle: UnsafeMutablePointer<uv_poll_t>?, _ status: Int32, _ events: Int32) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<HTTPListener>.fromOpaque(data).takeUnretainedValue().onReadable()
}

private func httpListenerRetryCallback(_ handle: UnsafeMutablePointer<uv_timer_t>?) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<HTTPListener>.fromOpaque(data).takeUnretainedValue().retryAfterDescriptorShortage()
}

private func httpListenerClosedCallback(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let data = handle?.pointee.data else { return }
    let listener = Unmanaged<HTTPListener>.fromOpaque(data).takeUnretainedValue()
    if listener.handleClosed() { Unmanaged<HTTPListener>.fromOpaque(data).release() }
}
