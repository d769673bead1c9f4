import CLibUV
import CFoghornShims
import FoghornHTTPCore
import FoghornTLS
#if canImport(Glibc)
import Glibc
#endif

/// One accepted TCP connection: reads, parses, dispatches to the router and
/// writes responses. Confined to its loop's thread.
///
/// Buffers: reads land in the loop's shared scratch buffer; only bytes of a
/// request that is not complete yet are copied into the connection's own
/// `input` buffer, so an idle keep-alive connection holds no buffer at all.
/// Responses of one batch (up to `maxPipelinedRequests`) are assembled in the
/// loop's output buffer and written with a single `uv_try_write`; only what the
/// kernel does not take is copied and queued with `uv_write`, and reading
/// stops until it drains (backpressure).
///
/// Timer: one per connection, armed for the header deadline (absolute from a
/// request's first byte), the idle keep-alive timeout, the write timeout or the
/// linger after an error response.
final class HTTPConnection {
    /// The listener outlives its connections (its loop context keeps it until the loop exits).
    unowned(unsafe) let listener: HTTPListener
    let tcp: UnsafeMutablePointer<uv_tcp_t>
    private let timer: UnsafeMutablePointer<uv_timer_t>

    // Intrusive list of the loop's connections.
    var next: HTTPConnection?
    unowned(unsafe) var prev: HTTPConnection?

    private enum TimerKind { case none, header, idle, write, linger, parked, handshake, proxyHeader }

    /// A request waiting for its handler to be resumed.
    private struct Parked {
        var bytes: [UInt8]
        var onTimeout: (inout HTTPResponseWriter) -> Void
        var handle: HTTPResumeHandle
        var deadlineMs: UInt64
        /// The route that parked it (metrics for an ``HTTPResumeHandle/answer(_:)``).
        var route: Int
        /// When its handler first ran (the duration histogram counts the wait).
        var startedNs: UInt64
    }
    private var parked: Parked?
    /// A resume (or timeout) that arrived while earlier responses were still being written.
    private var deferredResume: Bool?
    private enum State { case open, lingering, closing }

    private var state = State.open
    private var timerKind = TimerKind.none
    /// When the current timer kind expires (loop ms).
    private var deadlineMs: UInt64 = 0
    /// When the libuv timer will actually fire; 0 when stopped. A later deadline does not
    /// restart it (no heap operation per request): on firing early it re-arms for the rest.
    private var timerFiresAtMs: UInt64 = 0
    private var input: ByteBuffer?
    private var progress = HTTPParseProgress()
    /// Loop time of the first byte of the request in progress; 0 when none.
    private var requestStartMs: UInt64 = 0
    private var writeRequest: UnsafeMutablePointer<uv_write_t>?
    private var writeStorage: UnsafeMutableRawPointer?
    private var closeAfterWrite = false
    private var reading = false
    private var sentContinue = false
    private var pendingCloses = 0
    private var linked = false
    private(set) var peerAddress = ""
    /// The TLS session on an HTTPS listener (nil: plain HTTP).
    private var tls: TLSSession?
    /// PROXY protocol (``HTTPListener/proxyProtocolFrom``): the header has not been read yet.
    private var awaitingProxyHeader = false
    /// A parked request being run again: when it first ran (its duration includes the wait).
    private var resumedFromNs: UInt64?
    /// The header's bytes so far (it may arrive in pieces).
    private var proxyPending: [UInt8] = []
    private var tlsDraining = false

    init(listener: HTTPListener) {
        self.listener = listener
        tcp = .allocate(capacity: 1)
        timer = .allocate(capacity: 1)
        uv_tcp_init(listener.context.loop.uvLoop, tcp)
        uv_timer_init(listener.context.loop.uvLoop, timer)
        let me = Unmanaged.passUnretained(self).toOpaque()
        tcp.pointee.data = me
        timer.pointee.data = me
    }

    private var context: HTTPLoopContext { listener.context }
    private var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_stream_t.self) }

    /// uv_accept failed: free the handles without ever having been linked.
    func discardUnaccepted() {
        _ = Unmanaged.passRetained(self)
        closeHandles()
    }

    func start() {
        _ = Unmanaged.passRetained(self)  // the loop's list owns us until both handles closed
        context.link(self)
        linked = true
        listener.metrics.countAccepted()
        var fd = uv_os_fd_t()
        if withUnsafeMutablePointer(to: &fd, { uv_fileno(UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_handle_t.self), $0) }) == 0 {
            _ = foghorn_set_tcp_nodelay(fd)
            var text = [CChar](repeating: 0, count: 64)
            var port: UInt16 = 0
            if foghorn_peer_address(fd, &text, 64, &port) > 0 {
                peerAddress = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        if let trusted = listener.proxyProtocolFrom {
            // Only the balancers may say who the client is; anyone else is cut off unanswered.
            guard trusted(peerAddress) else {
                listener.metrics.countProxyRejected(reason: 0)
                return hardClose()
            }
            awaitingProxyHeader = true
        }
        if let reader = listener.tls {
            guard let session = TLSSession(server: reader.context) else { return hardClose() }
            tls = session
            startReading()
            armTimer(.handshake, afterMs: listener.tlsHandshakeTimeoutMs)
            return
        }
        startReading()
        if awaitingProxyHeader {
            armTimer(.proxyHeader, afterMs: listener.options.timeouts.headerTimeoutMs)
        } else {
            armTimer(.idle, afterMs: listener.options.timeouts.idleTimeoutMs)
        }
    }

    /// Bytes before the PROXY header is complete: parse it, take the client's address from it,
    /// then hand whatever followed to TLS or HTTP as if just read. A header that is malformed,
    /// too long or of an unknown kind closes the connection unanswered.
    private func proxyBytes(_ data: UnsafeRawBufferPointer) {
        proxyPending.append(contentsOf: data)
        switch ProxyProtocol.parse(proxyPending) {
        case .incomplete:
            return
        case .invalid:
            listener.metrics.countProxyRejected(reason: 1)
            proxyPending = []
            return hardClose()
        case .header(let source, let length):
            awaitingProxyHeader = false
            if let source { peerAddress = source }
            let rest = Array(proxyPending[length...])
            proxyPending = []
            if tls == nil { armTimer(.idle, afterMs: listener.options.timeouts.idleTimeoutMs) }
            guard !rest.isEmpty else { return }
            rest.withUnsafeBytes { r in
                if let tls {
                    tls.feed(r)
                    tlsReceived(tls)
                } else {
                    process(r, fromScratch: true)
                }
            }
        }
    }

    // MARK: Reading

    private func startReading() {
        guard !reading else { return }
        reading = true
        uv_read_start(stream, httpConnectionAlloc, httpConnectionRead)
        // TLS may hold plaintext decrypted before reading stopped (backpressure, parking).
        if let tls, tls.handshakeDone, tls.hasBufferedInput { tlsDrain() }
    }

    private func stopReading() {
        guard reading else { return }
        reading = false
        uv_read_stop(stream)
    }

    fileprivate func allocate(_ buf: UnsafeMutablePointer<uv_buf_t>) {
        if tls != nil {
            let scratch = context.tlsReadScratch
            buf.pointee = uv_buf_init(scratch.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(scratch.count))
        } else if let input, input.count > 0 {
            let tail = input.writableTail(minimum: 4096)
            buf.pointee = uv_buf_init(tail.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(tail.count))
        } else {
            buf.pointee = uv_buf_init(context.readScratch.assumingMemoryBound(to: CChar.self), UInt32(HTTPLoopContext.readScratchSize))
        }
    }

    fileprivate func didRead(_ nread: Int, _ buf: UnsafePointer<uv_buf_t>) {
        if nread == 0 { return }
        if nread < 0 {
            // EOF or error: nothing more can be answered.
            hardClose()
            return
        }
        if state == .lingering { return }  // discard
        if state == .closing { return }
        if awaitingProxyHeader { return proxyBytes(UnsafeRawBufferPointer(start: buf.pointee.base, count: nread)) }
        if let tls {
            tls.feed(UnsafeRawBufferPointer(start: buf.pointee.base, count: nread))
            return tlsReceived(tls)
        }
        let base = UnsafeMutableRawPointer(buf.pointee.base)
        if base == context.readScratch {
            process(UnsafeRawBufferPointer(start: base, count: nread), fromScratch: true)
        } else if let input {
            input.count += nread
            process(input.readable, fromScratch: false)
        }
    }

    // MARK: TLS

    /// Ciphertext was fed: advance the handshake, then decrypt and answer.
    private func tlsReceived(_ tls: TLSSession) {
        if !tls.handshakeDone {
            switch tls.handshake() {
            case .wantMore:
                _ = flushTLSPending()
                return
            case .failed:
                listener.tlsCounters.add(HTTPListener.tlsFailed)
                _ = flushTLSPending()  // the alert, best effort
                return hardClose()
            case .done:
                listener.tlsCounters.add(HTTPListener.tlsCompleted)
                if tls.sessionReused { listener.tlsCounters.add(HTTPListener.tlsResumed) }
                guard flushTLSPending() else { return }
                armTimer(.idle, afterMs: listener.options.timeouts.idleTimeoutMs)
            }
        }
        tlsDrain()
    }

    /// Decrypts what TLS holds and processes it like bytes read from a plain socket,
    /// as long as the connection is reading (not writing back-pressured, not parked).
    private func tlsDrain() {
        guard let tls, !tlsDraining else { return }
        tlsDraining = true
        defer { tlsDraining = false }
        let scratch = UnsafeMutableRawBufferPointer(start: context.readScratch, count: HTTPLoopContext.readScratchSize)
        while reading && state == .open && parked == nil && writeRequest == nil {
            let n = tls.read(into: scratch)
            if n < 0 { return hardClose() }  // close_notify or a TLS error
            if n == 0 { break }
            if let input, input.count > 0 {
                input.append(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                process(input.readable, fromScratch: false)
            } else {
                process(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), fromScratch: true)
            }
        }
        if state == .open && writeRequest == nil && tls.pendingCiphertext > 0 { _ = flushTLSPending() }
    }

    /// Writes whatever ciphertext TLS produced (handshake flights, alerts, tickets).
    private func flushTLSPending() -> Bool {
        guard let tls, tls.pendingCiphertext > 0 else { return true }
        let out = context.tlsOutput
        out.clear()
        drainCiphertext(tls, into: out)
        return rawFlush(out)
    }

    private func drainCiphertext(_ tls: TLSSession, into out: ByteBuffer) {
        while tls.pendingCiphertext > 0 {
            let tail = out.writableTail(minimum: tls.pendingCiphertext)
            let n = tls.takeCiphertext(into: tail)
            if n <= 0 { break }
            out.count += n
        }
    }

    // MARK: Processing

    /// Parses and answers as many complete requests as a batch allows, keeps the
    /// rest, writes the batch, and re-arms the timer.
    private func process(_ initial: UnsafeRawBufferPointer, fromScratch: Bool) {
        var data = initial
        var inScratch = fromScratch
        while true {
            let output = context.output
            output.clear()
            let consumed = answerBatch(data, output: output)
            // Keep what is left for later.
            let leftover = data.count - consumed
            if inScratch {
                if leftover > 0 {
                    let buffer = input ?? ByteBuffer(capacity: max(4096, leftover))
                    buffer.clear()
                    buffer.append(UnsafeRawBufferPointer(rebasing: data[consumed...]))
                    input = buffer
                } else {
                    input?.clear()
                }
                inScratch = false
            } else if let input {
                input.discardFront(consumed)
                if input.count == 0 { input.shrinkIfEmpty(to: 4096) }
            }
            if state != .open { return }
            let flushedAll = flush(output)
            if closeAfterWrite {
                if flushedAll { beginLinger() }
                return
            }
            if !flushedAll { return }  // resume in the write callback
            if parked != nil { return }  // reading stays stopped until the parked request is answered
            // More complete requests may be waiting (a batch was cut at the pipelining bound).
            if let input, input.count > 0, consumed > 0 {
                data = input.readable
                continue
            }
            break
        }
        armReadTimer()
    }

    /// Answers complete requests from the front of `data` into `output`; returns bytes consumed.
    private func answerBatch(_ data: UnsafeRawBufferPointer, output: ByteBuffer) -> Int {
        var offset = 0
        var answered = 0
        let options = listener.options
        while offset < data.count && answered < options.maxPipelinedRequests {
            let slice = UnsafeRawBufferPointer(rebasing: data[offset...])
            if requestStartMs == 0 { requestStartMs = max(context.loop.nowMs, 1) }
            switch listener.parser.parse(slice, progress: &progress, headers: listener.headerScratch) {
            case .incomplete:
                return offset
            case .failed(let error):
                answerParseError(error, output: output)
                return data.count
            case .complete(let head):
                let total = head.headLength + head.contentLength
                if slice.count < total {
                    // Body still arriving: parse the head again when it is complete.
                    if head.expectsContinue && !sentContinue {
                        sentContinue = true
                        output.append("HTTP/1.1 100 Continue\r\n\r\n")
                    }
                    progress.reset()
                    return offset
                }
                var request = HTTPRequest(
                    buffer: UnsafeRawBufferPointer(rebasing: slice[..<total]),
                    head: head,
                    headers: UnsafeBufferPointer(rebasing: listener.headerScratch[..<head.headerCount]),
                    body: UnsafeRawBufferPointer(rebasing: slice[head.headLength..<total]),
                    peerAddress: peerAddress
                )
                request.isSecure = tls != nil
                let close = dispatch(request, output: output)
                offset += total
                answered += 1
                progress.reset()
                requestStartMs = 0
                sentContinue = false
                if close {
                    closeAfterWrite = true
                    return data.count
                }
                if parked != nil { return offset }  // later requests wait for this one (order)
            }
        }
        return offset
    }

    /// Runs the router; returns whether the connection closes after this response.
    private func dispatch(_ request: HTTPRequest, output: ByteBuffer) -> Bool {
        let keepAlive = request.head.keepAlive && !context.isDraining
        var writer = HTTPResponseWriter(
            buffer: output, closeConnection: !keepAlive, isHeadRequest: request.head.method == .head,
            commonHeaders: listener.commonHeaders.map { UnsafeRawBufferPointer($0) }, dateHeader: context.dateHeader()
        )
        let started = resumedFromNs ?? HTTPConnection.monotonicNs()
        resumedFromNs = nil
        let route = HTTPDispatch.run(listener.router, request, &writer)
        if let park = writer.park, !writer.finished {
            beginPark(request, park, route: route, startedNs: started)
            return false
        }
        let ns = HTTPConnection.monotonicNs() &- started
        listener.metrics.countRequest(route: route, status: writer.status, ns: ns)
        if let logger = listener.accessLogger { logger(request, writer.status, route, ns) }
        return writer.closeConnection
    }

    private func answerParseError(_ error: HTTPParseError, output: ByteBuffer) {
        listener.metrics.countParseError(error)
        var writer = HTTPResponseWriter(
            buffer: output, closeConnection: true, isHeadRequest: false,
            commonHeaders: listener.commonHeaders.map { UnsafeRawBufferPointer($0) }, dateHeader: context.dateHeader()
        )
        writer.error(error)
        closeAfterWrite = true
        progress.reset()
        requestStartMs = 0
    }

    private func armReadTimer() {
        let timeouts = listener.options.timeouts
        if let tls, !tls.handshakeDone {
            // Still handshaking (a flight was queued): the handshake deadline keeps counting.
            if timerKind != .handshake { armTimer(.handshake, afterMs: listener.tlsHandshakeTimeoutMs) }
            startReading()
            return
        }
        if let input, input.count > 0 {
            // A request is in progress: the deadline counts from its first byte.
            if requestStartMs == 0 { requestStartMs = max(context.loop.nowMs, 1) }
            let elapsed = context.loop.nowMs &- requestStartMs
            let remaining = elapsed >= timeouts.headerTimeoutMs ? 1 : timeouts.headerTimeoutMs - elapsed
            if timerKind != .header { armTimer(.header, afterMs: remaining) }
        } else {
            requestStartMs = 0
            if context.isDraining {
                beginLinger()
                return
            }
            armTimer(.idle, afterMs: timeouts.idleTimeoutMs)
        }
        startReading()
    }

    // MARK: Writing

    /// Writes `output` with one `uv_try_write`; queues the remainder if the kernel
    /// did not take it all. Returns whether everything was written.
    private func flush(_ output: ByteBuffer) -> Bool {
        guard output.count > 0 else { return true }
        if let tls {
            guard tls.write(output.readable) else {
                hardClose()
                return false
            }
            let out = context.tlsOutput
            out.clear()
            drainCiphertext(tls, into: out)
            return rawFlush(out)
        }
        return rawFlush(output)
    }

    /// Writes `output` (bytes for the socket) with one `uv_try_write`; queues the rest.
    private func rawFlush(_ output: ByteBuffer) -> Bool {
        guard output.count > 0 else { return true }
        var buf = uv_buf_init(output.base.assumingMemoryBound(to: CChar.self), UInt32(output.count))
        let written = uv_try_write(stream, &buf, 1)
        if written == Int32(output.count) { return true }
        if written < 0 && written != Int32(UV_EAGAIN.rawValue) {
            hardClose()
            return false
        }
        let done = max(Int(written), 0)
        let remaining = output.count - done
        let storage = UnsafeMutableRawPointer.allocate(byteCount: remaining, alignment: 1)
        storage.copyMemory(from: output.base + done, byteCount: remaining)
        writeStorage = storage
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        writeRequest = request
        var pending = uv_buf_init(storage.assumingMemoryBound(to: CChar.self), UInt32(remaining))
        let rc = uv_write(request, stream, &pending, 1, httpConnectionWrote)
        if rc != 0 {
            freeWrite()
            hardClose()
            return false
        }
        stopReading()
        armTimer(.write, afterMs: listener.options.timeouts.writeTimeoutMs)
        return false
    }

    private func freeWrite() {
        writeStorage?.deallocate()
        writeStorage = nil
        writeRequest?.deallocate()
        writeRequest = nil
    }

    fileprivate func didWrite(status: Int32) {
        freeWrite()
        if status != 0 || state == .closing {
            hardClose()
            return
        }
        if let timedOut = deferredResume {
            deferredResume = nil
            resumeParked(timedOut: timedOut)
            return
        }
        if let p = parked {  // still waiting for the parked request: its deadline again (the write timer replaced it)
            let now = context.loop.nowMs
            armTimer(.parked, afterMs: p.deadlineMs > now ? p.deadlineMs - now : 1)
            return
        }
        if closeAfterWrite {
            beginLinger()
            return
        }
        // Answer whatever complete requests were left waiting.
        if let input, input.count > 0 {
            process(input.readable, fromScratch: false)
        } else {
            armReadTimer()
        }
    }

    // MARK: Parking

    private func beginPark(_ request: HTTPRequest, _ park: HTTPParkRequest, route: Int, startedNs: UInt64) {
        let bytes = Array(request.buffer)
        let handle = HTTPResumeHandle { [weak self] in self?.resumeParked(timedOut: false) }
        parked = Parked(bytes: bytes, onTimeout: park.onTimeout, handle: handle, deadlineMs: context.loop.nowMs &+ park.timeoutMs, route: route,
                        startedNs: startedNs)
        stopReading()
        armTimer(.parked, afterMs: park.timeoutMs)
        park.register(handle)
    }

    /// Runs the parked request's route again (or its timeout answer), writes, and carries on.
    private func resumeParked(timedOut: Bool) {
        guard state == .open, parked != nil else { return }
        if writeRequest != nil {
            // Earlier responses are still queued: answer after them, in order.
            deferredResume = timedOut
            return
        }
        guard let p = parked else { return }
        parked = nil
        p.handle.invalidate()
        let output = context.output
        output.clear()
        var progress = HTTPParseProgress()
        let close: Bool
        let result: HTTPParseResult = p.bytes.withUnsafeBytes { raw in
            listener.parser.parse(raw, progress: &progress, headers: listener.headerScratch)
        }
        guard case .complete(let head) = result else { return hardClose() }
        close = p.bytes.withUnsafeBytes { raw -> Bool in
            var request = HTTPRequest(
                buffer: raw, head: head,
                headers: UnsafeBufferPointer(rebasing: listener.headerScratch[..<head.headerCount]),
                body: UnsafeRawBufferPointer(rebasing: raw[head.headLength...]), peerAddress: peerAddress)
            request.isSecure = tls != nil
            if timedOut {
                var writer = HTTPResponseWriter(
                    buffer: output, closeConnection: !request.head.keepAlive || context.isDraining, isHeadRequest: request.head.method == .head,
                    commonHeaders: listener.commonHeaders.map { UnsafeRawBufferPointer($0) }, dateHeader: context.dateHeader())
                p.onTimeout(&writer)
                if !writer.finished { writer.reset(); writer.error(.serviceUnavailable, code: "TIMEOUT", message: "no answer in time") }
                listener.metrics.countRequest(route: HTTPRouter.notFoundRoute, status: writer.status, ns: HTTPConnection.monotonicNs() &- p.startedNs)
                return writer.closeConnection
            }
            if let answer = p.handle.answerWriter {
                var writer = HTTPResponseWriter(
                    buffer: output, closeConnection: !request.head.keepAlive || context.isDraining, isHeadRequest: request.head.method == .head,
                    commonHeaders: listener.commonHeaders.map { UnsafeRawBufferPointer($0) }, dateHeader: context.dateHeader())
                answer(&writer)
                if !writer.finished { writer.reset(); writer.error(.internalServerError, code: "INTERNAL_ERROR", message: "handler produced no response") }
                listener.metrics.countRequest(route: p.route, status: writer.status, ns: HTTPConnection.monotonicNs() &- p.startedNs)
                return writer.closeConnection
            }
            resumedFromNs = p.startedNs
            return dispatch(request, output: output)
        }
        if parked != nil {  // parked again: keep waiting (the deadline stays)
            if output.count > 0 { _ = flush(output) }
            return
        }
        if close { closeAfterWrite = true }
        let flushedAll = flush(output)
        if closeAfterWrite {
            if flushedAll { beginLinger() }
            return
        }
        guard flushedAll else { return }
        if let input, input.count > 0 {
            process(input.readable, fromScratch: false)
        } else {
            armReadTimer()
        }
    }

    // MARK: Draining and closing

    /// Called when the loop starts draining: an idle connection closes now; a
    /// busy one closes after its current response.
    func drainIfIdle() {
        guard state == .open else { return }
        let idle = (input?.count ?? 0) == 0 && writeRequest == nil && requestStartMs == 0 && parked == nil
        if idle { hardClose() } else { closeAfterWrite = true }
    }

    /// Half-closes our side and keeps reading (discarding) for `lingerMs`, so the
    /// peer sees the response rather than a reset; then closes.
    private func beginLinger() {
        guard state == .open else { return }
        if let tls, tls.handshakeDone {
            tls.shutdown()  // close_notify, queued ahead of the FIN
            _ = flushTLSPending()
            guard state == .open else { return }
        }
        state = .lingering
        let shutdown = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        if uv_shutdown(shutdown, stream, httpConnectionShutdown) != 0 {
            shutdown.deallocate()
            hardClose()
            return
        }
        startReading()
        armTimer(.linger, afterMs: listener.options.timeouts.lingerMs)
    }

    func hardClose() {
        parked?.handle.invalidate()
        parked = nil
        guard state != .closing else { return }
        state = .closing
        closeHandles()
    }

    private func closeHandles() {
        state = .closing
        pendingCloses = 2
        timerFiresAtMs = 0
        uv_timer_stop(timer)
        UnsafeMutableRawPointer(tcp).withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0, httpConnectionClosed) }
        UnsafeMutableRawPointer(timer).withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0, httpConnectionClosed) }
    }

    fileprivate func handleClosed() {
        pendingCloses -= 1
        guard pendingCloses == 0 else { return }
        tcp.deallocate()
        timer.deallocate()
        if writeRequest != nil {
            // libuv cancelled the write (its callback ran with UV_ECANCELED before close).
            freeWrite()
        }
        input = nil
        if linked {
            linked = false
            listener.metrics.countClosed()
            context.unlink(self)
        }
        Unmanaged.passUnretained(self).release()
    }

    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    // MARK: Timer

    private func armTimer(_ kind: TimerKind, afterMs: UInt64) {
        timerKind = kind
        let now = context.loop.nowMs
        deadlineMs = now &+ max(afterMs, 1)
        if timerFiresAtMs != 0 && timerFiresAtMs <= deadlineMs { return }
        timerFiresAtMs = deadlineMs
        uv_timer_start(timer, httpConnectionTimer, deadlineMs &- now, 0)
    }

    fileprivate func timerFired() {
        timerFiresAtMs = 0
        let now = context.loop.nowMs
        if timerKind != .none && now < deadlineMs {
            // The deadline moved later since the timer was started: sleep for the rest.
            timerFiresAtMs = deadlineMs
            uv_timer_start(timer, httpConnectionTimer, deadlineMs &- now, 0)
            return
        }
        let kind = timerKind
        timerKind = .none
        switch kind {
        case .none:
            return
        case .header:
            guard state == .open else { return }
            let output = context.output
            output.clear()
            answerParseError(.headerTimeout, output: output)
            if flush(output) { beginLinger() }
        case .parked:
            resumeParked(timedOut: true)
        case .idle, .write, .linger:
            hardClose()
        case .proxyHeader:
            listener.metrics.countProxyRejected(reason: 2)
            hardClose()
        case .handshake:
            listener.tlsCounters.add(HTTPListener.tlsFailed)
            hardClose()
        }
    }
}

private func connection(_ data: UnsafeMutableRawPointer?) -> HTTPConnection {
    Unmanaged<HTTPConnection>.fromOpaque(data!).takeUnretainedValue()
}

private func httpConnectionAlloc(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buf: UnsafeMutablePointer<uv_buf_t>?) {
    connection(handle?.pointee.data).allocate(buf!)
}

private func httpConnectionRead(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ nread: Int, _ buf: UnsafePointer<uv_buf_t>?) {
    connection(stream?.pointee.data).didRead(nread, buf!)
}

private func httpConnectionWrote(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    connection(request?.pointee.data).didWrite(status: status)
}

private func httpConnectionShutdown(_ request: UnsafeMutablePointer<uv_shutdown_t>?, _ status: Int32) {
    request?.deallocate()
}

private func httpConnectionClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    connection(handle?.pointee.data).handleClosed()
}

private func httpConnectionTimer(_ handle: UnsafeMutablePointer<uv_timer_t>?) {
    connection(handle?.pointee.data).timerFired()
}
