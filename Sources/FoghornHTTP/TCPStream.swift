import CLibUV
import CFoghornShims
#if canImport(Glibc)
import Glibc
#endif

/// A byte stream over one TCP connection on an event loop (peer channels):
/// dial with a deadline (name resolution on libuv's pool) or adopt an accepted
/// socket, read callbacks, queued writes with a cap on unsent bytes, close.
/// Everything runs on the loop's thread; callbacks never run after ``close(_:)``
/// except the single `onClose`.
public final class TCPStream {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case resolveFailed(String)
        case connectFailed(String)
        case connectTimeout

        public var reason: String {
            switch self {
            case .resolveFailed: return "resolve_failed"
            case .connectFailed: return "connect_failed"
            case .connectTimeout: return "connect_timeout"
            }
        }

        public var description: String {
            switch self {
            case .resolveFailed(let m): return "cannot resolve: \(m)"
            case .connectFailed(let m): return "connect failed: \(m)"
            case .connectTimeout: return "connect timed out"
            }
        }
    }

    public let loop: EventLoop
    /// Bytes arrived (valid only during the call).
    public var onRead: ((UnsafeRawBufferPointer) -> Void)?
    /// The connection ended: by us (`close(reason)`), EOF (`"eof"`), or an error.
    public var onClose: ((String) -> Void)?
    /// Unsent bytes above which ``write(_:)`` closes the stream (a peer that does not read).
    public var maxQueuedBytes = 16 << 20
    /// `host:port` of the other side.
    public private(set) var remoteAddress = ""
    public private(set) var queuedBytes = 0
    public private(set) var isClosed = false

    private var handle: UnsafeMutablePointer<uv_tcp_t>?
    private var resolver: UnsafeMutablePointer<uv_getaddrinfo_t>?
    private var connectRequest: UnsafeMutablePointer<uv_connect_t>?
    private var connectTimer: LoopTimer?
    private var connectCompletion: ((Result<TCPStream, Failure>) -> Void)?
    private var host = ""
    private var port: UInt16 = 0
    private var selfRetain: Unmanaged<TCPStream>?
    private var closeReason = ""

    private init(loop: EventLoop) {
        self.loop = loop
    }

    /// Dials `host:port`; `completion` runs once on the loop with the connected stream or why not.
    /// The returned object can be ``close(_:)``d to abandon the attempt (no completion then).
    @discardableResult
    public static func connect(on loop: EventLoop, host: String, port: UInt16, timeoutMs: UInt64,
                               completion: @escaping (Result<TCPStream, Failure>) -> Void) -> TCPStream {
        let s = TCPStream(loop: loop)
        s.host = host
        s.port = port
        s.remoteAddress = HostPort.format(host: host, port: port)
        s.connectCompletion = completion
        s.selfRetain = Unmanaged.passRetained(s)
        s.connectTimer = LoopTimer(loop: loop) { [unowned s] in s.failConnect(.connectTimeout) }
        s.connectTimer?.start(afterMs: timeoutMs)
        let r = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        r.pointee.data = Unmanaged.passUnretained(s).toOpaque()
        s.resolver = r
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        let rc = uv_getaddrinfo(loop.uvLoop, r, tcpStreamResolved, host, String(port), &hints)
        if rc != 0 {
            s.resolver = nil
            r.deallocate()
            s.failConnect(.resolveFailed(String(cString: uv_strerror(rc))))
        }
        return s
    }

    /// Accepts one pending connection from `server` (a listening uv stream on `loop`).
    static func accept(on loop: EventLoop, server: UnsafeMutablePointer<uv_stream_t>) -> TCPStream? {
        let s = TCPStream(loop: loop)
        let h = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop.uvLoop, h)
        h.pointee.data = Unmanaged.passUnretained(s).toOpaque()
        s.handle = h
        s.selfRetain = Unmanaged.passRetained(s)
        let rc = h.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { uv_accept(server, $0) }
        if rc != 0 {
            s.isClosed = true
            s.closeHandle()
            return nil
        }
        var fd = uv_os_fd_t()
        if uv_fileno(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_handle_t.self), &fd) == 0 {
            _ = foghorn_set_tcp_nodelay(fd)
            var text = [CChar](repeating: 0, count: 64)
            var peerPort: UInt16 = 0
            if foghorn_peer_address(fd, &text, 64, &peerPort) > 0 {
                let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                s.remoteAddress = HostPort.format(host: host, port: peerPort)
            }
        }
        return s
    }

    /// The peer's IP address text (no port), for accepted streams.
    public var remoteHost: String {
        if remoteAddress.hasPrefix("["), let close = remoteAddress.firstIndex(of: "]") {
            return String(remoteAddress[remoteAddress.index(after: remoteAddress.startIndex)..<close])
        }
        return remoteAddress.split(separator: ":").first.map(String.init) ?? remoteAddress
    }

    /// Starts delivering bytes to ``onRead``.
    public func startReading() {
        guard !isClosed, let handle else { return }
        handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { _ = uv_read_start($0, tcpStreamAlloc, tcpStreamRead) }
    }

    /// Queues `bytes` (copied). Closes the stream with `"send_queue_full"` past ``maxQueuedBytes``.
    public func write(_ bytes: [UInt8]) {
        guard !isClosed, let handle, !bytes.isEmpty else { return }
        if queuedBytes + bytes.count > maxQueuedBytes {
            close("send_queue_full")
            return
        }
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        storage.copyBytes(from: bytes)
        // The write request carries its buffer so the callback can free both.
        let box = WriteBox(storage: storage, stream: self)
        request.pointee.data = Unmanaged.passRetained(box).toOpaque()
        queuedBytes += bytes.count
        var buf = uv_buf_init(storage.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let rc = handle.withMemoryRebound(to: uv_stream_t.self, capacity: 1) { uv_write(request, $0, &buf, 1, tcpStreamWrote) }
        if rc != 0 {
            Unmanaged<WriteBox>.fromOpaque(request.pointee.data).release()
            storage.deallocate()
            request.deallocate()
            queuedBytes -= bytes.count
            close("write_failed")
        }
    }

    /// Ends the connection; `onClose(reason)` runs once (not for an abandoned dial).
    public func close(_ reason: String) {
        guard !isClosed else { return }
        isClosed = true
        closeReason = reason
        connectTimer?.close()
        connectTimer = nil
        let dialing = connectCompletion != nil
        connectCompletion = nil
        if let r = resolver { uv_cancel(UnsafeMutableRawPointer(r).assumingMemoryBound(to: uv_req_t.self)) }
        closeHandle()
        if !dialing {
            let callback = onClose
            onClose = nil
            onRead = nil
            callback?(reason)
        } else {
            onClose = nil
            onRead = nil
        }
    }

    private func closeHandle() {
        if let handle {
            let h = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)
            if uv_is_closing(h) == 0 { uv_close(h, tcpStreamClosed) }
        } else if resolver == nil {
            releaseSelf()
        }
    }

    fileprivate func handleClosed() {
        handle?.deallocate()
        handle = nil
        if resolver == nil && connectRequest == nil { releaseSelf() }
    }

    private func releaseSelf() {
        if let r = selfRetain {
            selfRetain = nil
            r.release()
        }
    }

    private func failConnect(_ failure: Failure) {
        guard let completion = connectCompletion else { return }
        connectCompletion = nil
        isClosed = true
        connectTimer?.close()
        connectTimer = nil
        if let r = resolver { uv_cancel(UnsafeMutableRawPointer(r).assumingMemoryBound(to: uv_req_t.self)) }
        closeHandle()
        completion(.failure(failure))
    }

    fileprivate func resolved(_ status: Int32, _ info: UnsafeMutablePointer<addrinfo>?) {
        if let r = resolver { r.deallocate(); resolver = nil }
        defer { if let info { uv_freeaddrinfo(info) } }
        if isClosed {
            if handle == nil { releaseSelf() }
            return
        }
        guard status == 0, let info, let address = info.pointee.ai_addr else {
            failConnect(.resolveFailed(String(cString: uv_strerror(status))))
            return
        }
        let h = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop.uvLoop, h)
        h.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        handle = h
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        connectRequest = request
        let rc = uv_tcp_connect(request, h, address, tcpStreamConnected)
        if rc != 0 {
            connectRequest = nil
            request.deallocate()
            failConnect(.connectFailed(String(cString: uv_strerror(rc))))
        }
    }

    fileprivate func didConnect(_ status: Int32) {
        if let r = connectRequest { r.deallocate(); connectRequest = nil }
        if isClosed {
            if handle == nil { releaseSelf() }
            return
        }
        guard status == 0, let handle else {
            failConnect(.connectFailed(String(cString: uv_strerror(status))))
            return
        }
        connectTimer?.close()
        connectTimer = nil
        var fd = uv_os_fd_t()
        if uv_fileno(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), &fd) == 0 { _ = foghorn_set_tcp_nodelay(fd) }
        let completion = connectCompletion
        connectCompletion = nil
        completion?(.success(self))
    }

    fileprivate func didRead(_ nread: Int, _ buf: UnsafePointer<uv_buf_t>?) {
        let base = buf?.pointee.base
        defer { base?.deallocate() }
        guard !isClosed else { return }
        if nread > 0, let base {
            onRead?(UnsafeRawBufferPointer(start: base, count: nread))
        } else if nread < 0 {
            close(nread == Int(UV_EOF.rawValue) ? "eof" : "read_error")
        }
    }

    fileprivate func didWrite(_ box: WriteBox, _ status: Int32) {
        queuedBytes -= box.storage.count
        box.storage.deallocate()
        if status != 0 && !isClosed { close("write_error") }
    }
}

/// A write in flight: its bytes and the stream to tell.
private final class WriteBox {
    let storage: UnsafeMutableRawBufferPointer
    let stream: TCPStream
    init(storage: UnsafeMutableRawBufferPointer, stream: TCPStream) {
        self.storage = storage
        self.stream = stream
    }
}

private func stream(_ data: UnsafeMutableRawPointer?) -> TCPStream { Unmanaged<TCPStream>.fromOpaque(data!).takeUnretainedValue() }

private func tcpStreamResolved(_ req: UnsafeMutablePointer<uv_getaddrinfo_t>?, _ status: Int32, _ info: UnsafeMutablePointer<addrinfo>?) {
    stream(req?.pointee.data).resolved(status, info)
}
private func tcpStreamConnected(_ req: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) { stream(req?.pointee.data).didConnect(status) }
private func tcpStreamWrote(_ req: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    guard let req else { return }
    let box = Unmanaged<WriteBox>.fromOpaque(req.pointee.data).takeRetainedValue()
    req.deallocate()
    box.stream.didWrite(box, status)
}
private func tcpStreamAlloc(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buf: UnsafeMutablePointer<uv_buf_t>?) {
    let size = 65536
    buf?.pointee = uv_buf_init(UnsafeMutablePointer<CChar>.allocate(capacity: size), UInt32(size))
}
private func tcpStreamRead(_ s: UnsafeMutablePointer<uv_stream_t>?, _ nread: Int, _ buf: UnsafePointer<uv_buf_t>?) {
    stream(s?.pointee.data).didRead(nread, buf)
}
private func tcpStreamClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) { stream(handle?.pointee.data).handleClosed() }

