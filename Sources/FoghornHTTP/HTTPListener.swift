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
    private let handle: UnsafeMutablePointer<uv_tcp_t>
    /// Called after every routed response when set (access log): request, status, route index,
    /// handler time in ns. Runs on the loop; must not block.
    public var accessLogger: ((HTTPRequest, HTTPStatus, Int, UInt64) -> Void)?
    /// Set on HTTPS listeners: the loop's view of the published certificates.
    public var tls: TLSContextReader?
    public var tlsHandshakeTimeoutMs: UInt64 = 5000
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
        handle = .allocate(capacity: 1)
        uv_tcp_init(context.loop.uvLoop, handle)
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        var rc = uv_tcp_open(handle, uv_os_sock_t(socket.fd))
        if rc == 0 {
            rc = handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) {
                uv_listen($0, options.backlog, httpListenerConnectionCallback)
            }
        }
        if rc != 0 {
            isClosed = true
            handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0, httpListenerClosedCallback) }
            _ = Unmanaged.passRetained(self)
            throw ListeningSocket.BindError(address: HostPort.format(host: socket.host, port: socket.port), errno: -rc)
        }
        isOpen = true
        context.listeners.append(self)
    }

    deinit {
        headerScratch.deallocate()
        commonHeaders?.deallocate()
    }

    fileprivate func onConnection(status: Int32) {
        guard status == 0, !isClosed else { return }
        if context.connectionCount >= options.maxConnectionsPerLoop {
            // Leave it in the kernel backlog: libuv stops polling this socket until we accept.
            if !isPaused { metrics.countPausedAtCap() }
            isPaused = true
            return
        }
        acceptOne()
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
        guard isPaused, !isClosed, context.connectionCount < options.maxConnectionsPerLoop else { return }
        isPaused = false
        acceptOne()
    }

    private func acceptOne() {
        let connection = HTTPConnection(listener: self)
        let rc = handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { server in
            connection.tcp.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { client in
                uv_accept(server, client)
            }
        }
        if rc != 0 {
            connection.discardUnaccepted()
            return
        }
        connection.start()
    }

    /// Stops listening (drain / shutdown). Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if isOpen {
            _ = Unmanaged.passRetained(self)  // released in the close callback
            handle.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0, httpListenerClosedCallback) }
        }
    }

    fileprivate func didClose() {
        handle.deallocate()
    }
}

private func httpListenerConnectionCallback(_ server: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard let data = server?.pointee.data else { return }
    Unmanaged<HTTPListener>.fromOpaque(data).takeUnretainedValue().onConnection(status: status)
}

private func httpListenerClosedCallback(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let data = handle?.pointee.data else { return }
    let listener = Unmanaged<HTTPListener>.fromOpaque(data).takeRetainedValue()
    listener.didClose()
}
