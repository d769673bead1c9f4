import FoghornTLS

/// Non-blocking HTTP/1.1 requests over pooled keep-alive connections, plain or TLS
/// (the upstream playback resolver, the edge agent). One pool per event loop; every call and
/// callback runs on that loop. A request reuses an idle connection to the same
/// origin when there is one, else dials (name resolution on libuv's pool,
/// connect deadline, TLS handshake with certificate and host verification);
/// a reused connection that turns out closed is retried once on a fresh one.
/// Responses are size-capped and the whole exchange has a deadline.
public final class HTTPClientPool {
    public struct Origin: Hashable, Sendable {
        public var host: String
        public var port: UInt16
        public var tls: Bool
        public init(host: String, port: UInt16, tls: Bool) {
            self.host = host
            self.port = port
            self.tls = tls
        }
    }

    public struct Options: Sendable {
        public var timeoutMs: UInt64 = 500
        public var maxResponseBytes = 1 << 20
        public init() {}
    }

    let loop: EventLoop
    /// Idle connections kept per origin.
    public var maxIdlePerOrigin = 16
    /// An idle connection is closed after this.
    public var idleTimeoutMs: UInt64 = 30_000
    /// Trust anchors for TLS origins (nil: the system store).
    public var caFile: String?
    public var verifyTLS = true
    /// Connections dialled (a measure of reuse).
    public private(set) var connectionsOpened: UInt64 = 0
    private var idle: [Origin: [PooledConnection]] = [:]

    public init(loop: EventLoop) {
        self.loop = loop
    }

    /// GET `path` from `origin`; `completion` runs once on the loop.
    public func get(_ origin: Origin, path: String, options: Options = Options(),
                    completion: @escaping (Result<HTTPFetchResponse, HTTPFetchError>) -> Void) {
        request(origin, method: "GET", path: path, options: options, completion: completion)
    }

    /// Any request: `headers` are added after Host, User-Agent and Accept (names and values must
    /// not hold CR or LF: callers pass fixed names and checked values); a `body` is sent with its
    /// Content-Length as `application/json`. A reused connection found closed before any answer
    /// is retried once on a fresh one only when `retryOnStale` (the request is safe to repeat).
    public func request(_ origin: Origin, method: String, path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                        retryOnStale: Bool = true, options: Options = Options(),
                        completion: @escaping (Result<HTTPFetchResponse, HTTPFetchError>) -> Void) {
        var head = "\(method) \(path) HTTP/1.1\r\n"
        let hostHeader = origin.host.contains(":") ? "[\(origin.host)]" : origin.host
        let defaultPort: UInt16 = origin.tls ? 443 : 80
        head += "Host: \(hostHeader)\(origin.port == defaultPort ? "" : ":\(origin.port)")\r\nUser-Agent: foghorn\r\nAccept: application/json\r\n"
        for (name, value) in headers where !(name + value).utf8.contains(where: { $0 == 13 || $0 == 10 }) { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if let body { bytes += body }
        let exchange = Exchange(origin: origin, path: path, options: options, completion: completion)
        exchange.requestBytes = bytes
        exchange.retryOnStale = retryOnStale
        // Strong on purpose: the exchange lives until its deadline or answer (finish closes the timer).
        exchange.timer = LoopTimer(loop: loop) { [unowned self, exchange] in
            exchange.connection?.abandon()
            finish(exchange, .failure(exchange.connected ? .timeout : .connectTimeout))
        }
        exchange.timer?.start(afterMs: options.timeoutMs)
        start(exchange, allowReuse: true)
    }

    private func start(_ exchange: Exchange, allowReuse: Bool) {
        if allowReuse, var list = idle[exchange.origin] {
            while let c = list.popLast() {
                if c.isUsable {
                    idle[exchange.origin] = list
                    exchange.reused = true
                    exchange.connected = true
                    c.send(exchange)
                    return
                }
            }
            idle[exchange.origin] = nil
        }
        exchange.reused = false
        connectionsOpened += 1
        let origin = exchange.origin
        TCPStream.connect(on: loop, host: origin.host, port: origin.port, timeoutMs: exchange.options.timeoutMs) { [self] result in
            guard !exchange.done else {
                if case .success(let s) = result { s.close("abandoned") }
                return
            }
            switch result {
            case .failure(let e):
                finish(exchange, .failure(e == .connectTimeout ? .connectTimeout : e.reason == "resolve_failed" ? .resolveFailed(e.description) : .connectFailed(e.description)))
            case .success(let stream):
                var transport: any ByteStream = stream
                if origin.tls {
                    guard let session = TLSSession(client: origin.host, caFile: caFile, verify: verifyTLS) else {
                        stream.close("tls_setup")
                        return finish(exchange, .failure(.connectFailed("TLS setup failed (CA file?)")))
                    }
                    transport = TLSStream(tcp: stream, session: session)
                }
                exchange.connected = true
                let c = PooledConnection(pool: self, origin: origin, stream: transport)
                c.send(exchange)
            }
        }
    }

    /// A connection finished an exchange cleanly and may be reused.
    func release(_ c: PooledConnection) {
        guard c.isUsable else { return }
        var list = idle[c.origin] ?? []
        guard list.count < maxIdlePerOrigin else { return c.close() }
        list.append(c)
        idle[c.origin] = list
        c.armIdle(idleTimeoutMs)
    }

    func forget(_ c: PooledConnection) {
        if var list = idle[c.origin], let i = list.firstIndex(where: { $0 === c }) {
            list.remove(at: i)
            idle[c.origin] = list.isEmpty ? nil : list
        }
    }

    /// The connection failed under `exchange`: retry once if it was a reused one that
    /// died before answering (the server closed an idle keep-alive), else fail.
    func failed(_ exchange: Exchange, _ error: HTTPFetchError, receivedAnything: Bool) {
        if exchange.reused && exchange.retryOnStale && !receivedAnything && !exchange.done {
            return start(exchange, allowReuse: false)
        }
        finish(exchange, .failure(error))
    }

    func finish(_ exchange: Exchange, _ result: Result<HTTPFetchResponse, HTTPFetchError>) {
        guard !exchange.done else { return }
        exchange.done = true
        exchange.timer?.close()
        exchange.timer = nil
        exchange.connection = nil
        let completion = exchange.completion
        exchange.completion = nil
        completion?(result)
    }

    /// Closes every idle connection (shutdown).
    public func closeAll() {
        let all = idle.values.flatMap { $0 }
        idle.removeAll()
        for c in all { c.close() }
    }

    final class Exchange {
        let origin: Origin
        let path: String
        let options: Options
        var completion: ((Result<HTTPFetchResponse, HTTPFetchError>) -> Void)?
        var timer: LoopTimer?
        var reused = false
        var connected = false
        var done = false
        var connection: PooledConnection?
        /// The whole request as sent (head and body).
        var requestBytes: [UInt8] = []
        var retryOnStale = true

        init(origin: Origin, path: String, options: Options, completion: @escaping (Result<HTTPFetchResponse, HTTPFetchError>) -> Void) {
            self.origin = origin
            self.path = path
            self.options = options
            self.completion = completion
        }
    }
}

/// One keep-alive connection of an ``HTTPClientPool``.
final class PooledConnection {
    unowned let pool: HTTPClientPool
    let origin: HTTPClientPool.Origin
    /// Plain TCP, or ``TLSStream`` over it (which holds the request until the handshake is done).
    let stream: any ByteStream
    private var exchange: HTTPClientPool.Exchange?
    private var received: [UInt8] = []
    private var idleTimer: LoopTimer?
    private var closed = false

    init(pool: HTTPClientPool, origin: HTTPClientPool.Origin, stream: any ByteStream) {
        self.pool = pool
        self.origin = origin
        self.stream = stream
        stream.onRead = { [unowned self] bytes in received(bytes) }
        stream.onClose = { [self] reason in didClose(reason) }  // keeps us alive until closed
        stream.startReading()
    }

    var isUsable: Bool { !closed && !stream.isClosed && exchange == nil }

    func send(_ e: HTTPClientPool.Exchange) {
        idleTimer?.close()
        idleTimer = nil
        exchange = e
        e.connection = self
        received.removeAll(keepingCapacity: true)
        stream.write(e.requestBytes)
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard let e = exchange else { return close() }  // bytes on an idle connection: not HTTP we understand
        received.append(contentsOf: bytes)
        if received.count > e.options.maxResponseBytes { return fail(.tooLarge, anything: true) }
        let parsed: HTTPFetchResponse?
        do throws(HTTPFetchError) {
            parsed = try HTTPResponseParser.parse(received, atEOF: false)
        } catch {
            return fail(error, anything: true)
        }
        guard let response = parsed else { return }
        exchange = nil
        e.connection = nil
        // Reusable only when the body's end is known exactly and the server keeps the connection.
        let close = response.headers.contains { $0.name.lowercased() == "connection" && $0.value.lowercased().contains("close") }
        let length = response.headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) }
        let headEnd = HTTPResponseParser.find(received, [13, 10, 13, 10], from: 0) ?? 0
        let exact = length.map { headEnd + 4 + $0 == received.count } ?? false
        received.removeAll(keepingCapacity: true)
        pool.finish(e, .success(response))
        if close || !exact { self.close() } else { pool.release(self) }
    }

    private func fail(_ error: HTTPFetchError, anything: Bool) {
        let e = exchange
        exchange = nil
        close()
        if let e { pool.failed(e, error, receivedAnything: anything) }
    }

    private func didClose(_ reason: String) {
        closed = true
        idleTimer?.close()
        idleTimer = nil
        pool.forget(self)
        if let e = exchange {
            exchange = nil
            if !received.isEmpty, let r = try? HTTPResponseParser.parse(received, atEOF: true) {
                pool.finish(e, .success(r))
            } else if reason == TLSStream.handshakeFailed {
                pool.failed(e, .connectFailed("TLS handshake failed: \((stream as? TLSStream)?.failure ?? "")"), receivedAnything: true)
            } else {
                pool.failed(e, .closedEarly, receivedAnything: !received.isEmpty)
            }
        }
        stream.onRead = nil
        stream.onClose = nil
    }

    /// Gives up the current exchange (its deadline passed): the connection cannot be reused.
    func abandon() {
        exchange = nil
        close()
    }

    func armIdle(_ ms: UInt64) {
        idleTimer = LoopTimer(loop: pool.loop) { [unowned self] in close() }
        idleTimer?.start(afterMs: ms)
    }

    func close() {
        guard !closed else { return }
        closed = true
        stream.close("closed")
    }
}
