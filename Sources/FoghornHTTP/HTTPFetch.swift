public import CLibUV
import CFoghornShims
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

/// One non-blocking HTTP/1.1 GET on an event loop: resolve (libuv thread
/// pool), connect with a deadline, send, read with a size cap and a total
/// deadline, parse (Content-Length, chunked or close-delimited). No thread per
/// request, nothing blocks the loop; a peer that accepts and never answers
/// costs one timer. Create and cancel on the loop's thread.
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
    private var resolver: UnsafeMutablePointer<uv_getaddrinfo_t>?
    private var tcp: UnsafeMutablePointer<uv_tcp_t>?
    private var connectRequest: UnsafeMutablePointer<uv_connect_t>?
    private var writeRequest: UnsafeMutablePointer<uv_write_t>?
    private var requestBytes: UnsafeMutableRawBufferPointer?
    private var timer: LoopTimer?
    private var received: [UInt8] = []
    private var connected = false
    private var done = false
    private var selfRetain: Unmanaged<HTTPFetch>?

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
        selfRetain = Unmanaged.passRetained(self)  // alive until finished and closed
        timer = LoopTimer(loop: loop) { [unowned self] in
            finish(.failure(connected ? .timeout : .connectTimeout))
        }
        timer?.start(afterMs: options.connectTimeoutMs)
        let r = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        r.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        resolver = r
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        let rc = uv_getaddrinfo(loop.uvLoop, r, httpFetchResolved, host, String(port), &hints)
        if rc != 0 {
            resolver = nil
            r.deallocate()
            finish(.failure(.resolveFailed(String(cString: uv_strerror(rc)))))
        }
    }

    /// Abandons the fetch; the completion runs with `.cancelled`.
    public func cancel() { finish(.failure(.cancelled)) }

    fileprivate func resolved(_ status: Int32, _ info: UnsafeMutablePointer<addrinfo>?) {
        if let r = resolver { r.deallocate(); resolver = nil }
        defer { if let info { uv_freeaddrinfo(info) } }
        guard !done else { return }
        guard status == 0, let info, let address = info.pointee.ai_addr else {
            finish(.failure(.resolveFailed(String(cString: uv_strerror(status)))))
            return
        }
        let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop.uvLoop, handle)
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        tcp = handle
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        connectRequest = request
        let rc = uv_tcp_connect(request, handle, address, httpFetchConnected)
        if rc != 0 {
            connectRequest = nil
            request.deallocate()
            finish(.failure(.connectFailed(String(cString: uv_strerror(rc)))))
        }
    }

    fileprivate func didConnect(_ status: Int32) {
        if let r = connectRequest { r.deallocate(); connectRequest = nil }
        guard !done else { return }
        guard status == 0, let tcp else {
            finish(.failure(.connectFailed(String(cString: uv_strerror(status)))))
            return
        }
        connected = true
        timer?.stop()
        timer?.start(afterMs: options.totalTimeoutMs)
        var fd = uv_os_fd_t()
        if uv_fileno(UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_handle_t.self), &fd) == 0 { _ = foghorn_set_tcp_nodelay(fd) }
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let text = "GET \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: foghorn\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        let bytes = Array(text.utf8)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        storage.copyBytes(from: bytes)
        requestBytes = storage
        let w = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        w.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        writeRequest = w
        var buf = uv_buf_init(storage.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let stream = UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_stream_t.self)
        if uv_write(w, stream, &buf, 1, httpFetchWrote) != 0 {
            finish(.failure(.connectFailed("write failed")))
            return
        }
        uv_read_start(stream, httpFetchAlloc, httpFetchRead)
    }

    fileprivate func didWrite(_ status: Int32) {
        if let w = writeRequest { w.deallocate(); writeRequest = nil }
        requestBytes?.deallocate()
        requestBytes = nil
        if status != 0 && !done { finish(.failure(.closedEarly)) }
    }

    fileprivate func didRead(_ nread: Int, _ buf: UnsafePointer<uv_buf_t>?) {
        let base = buf?.pointee.base
        defer { base?.deallocate() }
        guard !done else { return }
        if nread > 0, let base {
            received.append(contentsOf: UnsafeRawBufferPointer(start: base, count: nread))
            if received.count > options.maxResponseBytes {
                finish(.failure(.tooLarge))
                return
            }
            if let complete = try? HTTPResponseParser.parse(received, atEOF: false) {
                finish(.success(complete))
            }
        } else if nread < 0 {
            // EOF (or reset): whatever we have must be a complete response.
            switch Result(catching: { try HTTPResponseParser.parse(received, atEOF: true) }) {
            case .success(let r?): finish(.success(r))
            case .success(nil): finish(.failure(.closedEarly))
            case .failure(let e): finish(.failure(e as? HTTPFetchError ?? .malformed("\(e)")))
            }
        }
    }

    private func finish(_ result: Result<HTTPFetchResponse, HTTPFetchError>) {
        guard !done else { return }
        done = true
        timer?.close()
        timer = nil
        let callback = completion
        completion = nil
        // A pending getaddrinfo cannot be freed until its callback runs (uv_cancel may fail).
        if let r = resolver { uv_cancel(UnsafeMutableRawPointer(r).assumingMemoryBound(to: uv_req_t.self)) }
        if let tcp {
            let handle = UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_handle_t.self)
            if uv_is_closing(handle) == 0 { uv_close(handle, httpFetchClosed) }
        } else if resolver == nil {
            releaseSelf()
        }
        callback?(result)
    }

    fileprivate func handleClosed() {
        tcp?.deallocate()
        tcp = nil
        if resolver == nil { releaseSelf() }
    }

    fileprivate func resolverFinishedAfterDone() {
        if tcp == nil { releaseSelf() }
    }

    private func releaseSelf() {
        if let r = selfRetain {
            selfRetain = nil
            r.release()
        }
    }
}

private func fetch(_ data: UnsafeMutableRawPointer?) -> HTTPFetch { Unmanaged<HTTPFetch>.fromOpaque(data!).takeUnretainedValue() }

private func httpFetchResolved(_ req: UnsafeMutablePointer<uv_getaddrinfo_t>?, _ status: Int32, _ info: UnsafeMutablePointer<addrinfo>?) {
    let f = fetch(req?.pointee.data)
    f.resolved(status, info)
    f.resolverFinishedAfterDoneIfNeeded()
}

private func httpFetchConnected(_ req: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) { fetch(req?.pointee.data).didConnect(status) }
private func httpFetchWrote(_ req: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) { fetch(req?.pointee.data).didWrite(status) }
private func httpFetchAlloc(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buf: UnsafeMutablePointer<uv_buf_t>?) {
    let size = 16384
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: size)
    buf?.pointee = uv_buf_init(p, UInt32(size))
}
private func httpFetchRead(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ nread: Int, _ buf: UnsafePointer<uv_buf_t>?) {
    fetch(stream?.pointee.data).didRead(nread, buf)
}
private func httpFetchClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) { fetch(handle?.pointee.data).handleClosed() }

extension HTTPFetch {
    fileprivate func resolverFinishedAfterDoneIfNeeded() {
        // `resolved` cleared `resolver`; if the fetch already finished, nothing else will release it.
        if done { resolverFinishedAfterDone() }
    }
}

/// Parses an HTTP/1.x response held whole in memory.
enum HTTPResponseParser {
    /// nil: incomplete. Throws when malformed.
    static func parse(_ bytes: [UInt8], atEOF: Bool) throws(HTTPFetchError) -> HTTPFetchResponse? {
        guard let headEnd = find(bytes, [13, 10, 13, 10], from: 0) else {
            if atEOF { throw .closedEarly }
            if bytes.count > 65536 { throw .malformed("head larger than 64 KiB") }
            return nil
        }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
            throw .malformed("bad status line")
        }
        var headers: [(name: String, value: String)] = []
        var contentLength: Int?
        var chunked = false
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("bad header line") }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
            headers.append((name, value))
            switch name.lowercased() {
            case "content-length":
                guard let n = Int(value), n >= 0 else { throw .malformed("bad Content-Length") }
                contentLength = n
            case "transfer-encoding":
                chunked = value.lowercased().contains("chunked")
            default: break
            }
        }
        let bodyStart = headEnd + 4
        if chunked {
            var body: [UInt8] = []
            var i = bodyStart
            while true {
                guard let lineEnd = find(bytes, [13, 10], from: i) else {
                    if atEOF { throw .closedEarly }
                    return nil
                }
                let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingWhitespace(), radix: 16), size >= 0 else { throw .malformed("bad chunk size") }
                let dataStart = lineEnd + 2
                if size == 0 { return HTTPFetchResponse(status: status, headers: headers, body: body) }
                guard bytes.count >= dataStart + size + 2 else {
                    if atEOF { throw .closedEarly }
                    return nil
                }
                body.append(contentsOf: bytes[dataStart..<(dataStart + size)])
                i = dataStart + size + 2
            }
        }
        if let n = contentLength {
            guard bytes.count >= bodyStart + n else {
                if atEOF { throw .closedEarly }
                return nil
            }
            return HTTPFetchResponse(status: status, headers: headers, body: Array(bytes[bodyStart..<(bodyStart + n)]))
        }
        guard atEOF else { return nil }
        return HTTPFetchResponse(status: status, headers: headers, body: Array(bytes[bodyStart...]))
    }

    static func find(_ bytes: [UInt8], _ pattern: [UInt8], from: Int) -> Int? {
        guard bytes.count >= pattern.count, from <= bytes.count - pattern.count else { return nil }
        var i = from
        while i <= bytes.count - pattern.count {
            var match = true
            for k in 0..<pattern.count where bytes[i + k] != pattern[k] { match = false; break }
            if match { return i }
            i += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
