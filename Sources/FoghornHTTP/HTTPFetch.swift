#if canImport(Glibc)
import Glibc
#endif

/// The answer to an ``HTTPFetch``.
public struct HTTPFetchResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
}

/// Why a fetch failed. `reason` is a stable label for metrics and `/debug`.
public enum HTTPFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    case resolveFailed(String)
    case connectFailed(String)
    case connectTimeout
    case timeout
    case tooLarge
    case closedEarly
    case malformed(String)
    case cancelled

    public var reason: String {
        switch self {
        case .resolveFailed: return "resolve_failed"
        case .connectFailed: return "connect_failed"
        case .connectTimeout: return "connect_timeout"
        case .timeout: return "timeout"
        case .tooLarge: return "too_large"
        case .closedEarly: return "closed_early"
        case .malformed: return "malformed_response"
        case .cancelled: return "cancelled"
        }
    }

    public var description: String {
        switch self {
        case .resolveFailed(let m): return "cannot resolve host: \(m)"
        case .connectFailed(let m): return "connect failed: \(m)"
        case .connectTimeout: return "connect timed out"
        case .timeout: return "no complete response in time"
        case .tooLarge: return "response larger than the cap"
        case .closedEarly: return "connection closed before the response was complete"
        case .malformed(let m): return "malformed response: \(m)"
        case .cancelled: return "cancelled"
        }
    }
}

/// One non-blocking HTTP/1.1 GET on an event loop over a ``TCPStream`` (name resolution on
/// libuv's pool, connect deadline), then a total deadline for the answer, a size cap, and
/// Content-Length, chunked or close-delimited framing. No thread per request, nothing blocks
/// the loop; a peer that accepts and never answers costs one timer. Create and cancel on the
/// loop's thread.
public final class HTTPFetch {
    public struct Options: Sendable {
        public var connectTimeoutMs: UInt64 = 2000
        public var totalTimeoutMs: UInt64 = 4000
        public var maxResponseBytes = 4 << 20
        public init() {}
    }

    private let loop: EventLoop
    private let host: String
    private let port: UInt16
    private let path: String
    private let options: Options
    private var completion: ((Result<HTTPFetchResponse, HTTPFetchError>) -> Void)?
    private var stream: TCPStream?
    private var timer: LoopTimer?
    private var received: [UInt8] = []
    private var done = false

    /// Starts a GET of `http://host:port/path`; `completion` runs once on the loop.
    @discardableResult
    public static func get(
        on loop: EventLoop, host: String, port: UInt16, path: String, options: Options = Options(),
        completion: @escaping (Result<HTTPFetchResponse, HTTPFetchError>) -> Void
    ) -> HTTPFetch {
        let fetch = HTTPFetch(loop: loop, host: host, port: port, path: path, options: options, completion: completion)
        fetch.start()
        return fetch
    }

    private init(loop: EventLoop, host: String, port: UInt16, path: String, options: Options,
                 completion: @escaping (Result<HTTPFetchResponse, HTTPFetchError>) -> Void) {
        self.loop = loop
        self.host = host
        self.port = port
        self.path = path
        self.options = options
        self.completion = completion
    }

    private func start() {
        // The dial keeps this object alive (its completion captures it) until it ends.
        stream = TCPStream.connect(on: loop, host: host, port: port, timeoutMs: options.connectTimeoutMs) { [self] result in
            switch result {
            case .failure(let e):
                switch e {
                case .resolveFailed(let m): finish(.failure(.resolveFailed(m)))
                case .connectFailed(let m): finish(.failure(.connectFailed(m)))
                case .connectTimeout: finish(.failure(.connectTimeout))
                }
            case .success(let s):
                guard !done else { return s.close("cancelled") }
                connected(s)
            }
        }
    }

    private func connected(_ s: TCPStream) {
        timer = LoopTimer(loop: loop) { [unowned self] in finish(.failure(.timeout)) }
        timer?.start(afterMs: options.totalTimeoutMs)
        s.onRead = { [self] bytes in didRead(bytes) }  // alive while connected
        s.onClose = { [self] reason in
            guard !done else { return }
            guard reason == "eof" else { return finish(.failure(.closedEarly)) }
            // EOF: whatever we have must be a complete response.
            switch Result(catching: { try HTTPResponseParser.parse(received, atEOF: true) }) {
            case .success(let r?): finish(.success(r))
            case .success(nil): finish(.failure(.closedEarly))
            case .failure(let e): finish(.failure(e as? HTTPFetchError ?? .malformed("\(e)")))
            }
        }
        s.startReading()
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        s.write(Array("GET \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: foghorn\r\nAccept: application/json\r\nConnection: close\r\n\r\n".utf8))
    }

    /// Abandons the fetch; the completion runs with `.cancelled`.
    public func cancel() { finish(.failure(.cancelled)) }

    private func didRead(_ bytes: UnsafeRawBufferPointer) {
        guard !done else { return }
        received.append(contentsOf: bytes)
        if received.count > options.maxResponseBytes { return finish(.failure(.tooLarge)) }
        if let complete = try? HTTPResponseParser.parse(received, atEOF: false) { finish(.success(complete)) }
    }

    private func finish(_ result: Result<HTTPFetchResponse, HTTPFetchError>) {
        guard !done else { return }
        done = true
        timer?.close()
        timer = nil
        let callback = completion
        completion = nil
        stream?.close("done")  // also abandons a dial in progress
        stream = nil
        callback?(result)
    }
}

