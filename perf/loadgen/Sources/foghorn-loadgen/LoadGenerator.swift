import CLoadgenUV
import Histogram
#if canImport(Glibc)
import Glibc
#endif

/// An open-loop HTTP/1.1 load generator on libuv: requests are *scheduled* at a fixed rate
/// (request i at t0 + i/rate) over keep-alive connections — pipelined when a connection is
/// still busy — so a slow server cannot slow the arrival rate down. Latency is measured
/// from each request's scheduled time (not its send time): that is the coordinated-omission
/// correction, recorded in an HdrHistogram (µs, 3 significant digits).
///
/// Targets: a file of lines `<path> <client ip>`; each request sends one, round-robin, with
/// `X-Forwarded-For: <client ip>` (the server must trust 127.0.0.0/8).
final class LoadGenerator: @unchecked Sendable {
    struct Options {
        var host = "127.0.0.1"
        var port: UInt16 = 18508
        var rate = 10_000.0
        var connections = 64
        var seconds = 10.0
        var warmupSeconds = 1.0
        var targets: [(path: String, ip: String)] = [("/", "127.0.0.1")]
        var maxOutstandingPerConnection = 256
        /// Prints the 10 ms windows (by scheduled time) holding responses slower than this (µs); 0: off.
        var timelineOverUs: UInt64 = 0
    }

    final class Connection {
        let index: Int
        let tcp = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        var connected = false
        var dead = false
        /// Scheduled send times (ns) of requests awaiting their response, in order.
        var scheduled: [UInt64] = []
        var head = 0
        var buffer: [UInt8] = []
        init(index: Int) { self.index = index }
        var outstanding: Int { scheduled.count - head }
    }

    let options: Options
    let loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
    let timer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
    var connections: [Connection] = []
    var requests: [[UInt8]] = []
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var startNs: UInt64 = 0
    var measureFromNs: UInt64 = 0
    var endNs: UInt64 = 0
    var sent: UInt64 = 0
    var completed: UInt64 = 0
    var measured: UInt64 = 0
    var nextRequest = 0
    var nextConnection = 0
    var errors: [String: UInt64] = [:]
    var statuses: [Int: UInt64] = [:]
    var stopping = false
    /// Per 10 ms window of scheduled time: responses over `timelineOverUs`, the slowest, and the
    /// latest send (how far behind schedule the generator itself was).
    var slowCount: [UInt32] = []
    var slowMaxUs: [UInt64] = []
    var sendLagMaxUs: [UInt64] = []
    var sendLag = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

    nonisolated(unsafe) static var shared: LoadGenerator!

    init(options: Options) {
        self.options = options
        uv_loop_init(loop)
        for t in options.targets {
            requests.append(Array("GET \(t.path) HTTP/1.1\r\nHost: loadgen\r\nX-Forwarded-For: \(t.ip)\r\nUser-Agent: foghorn-loadgen\r\n\r\n".utf8))
        }
    }

    static func main() {
        var o = Options()
        var args = CommandLine.arguments.dropFirst()
        func value() -> String {
            guard let v = args.popFirst() else { fail("missing value") }
            return v
        }
        while let a = args.popFirst() {
            switch a {
            case "--host": o.host = value()
            case "--port": o.port = UInt16(value()) ?? 0
            case "--rate": o.rate = Double(value()) ?? 0
            case "--connections": o.connections = Int(value()) ?? 0
            case "--seconds": o.seconds = Double(value()) ?? 0
            case "--warmup": o.warmupSeconds = Double(value()) ?? 0
            case "--timeline-over-us": o.timelineOverUs = UInt64(value()) ?? 0
            case "--targets":
                let path = value()
                guard let f = fopen(path, "r") else { fail("cannot open \(path)") }
                var lines: [(String, String)] = []
                var line: UnsafeMutablePointer<CChar>?
                var cap = 0
                while getline(&line, &cap, f) > 0 {
                    let text = String(cString: line!).trimmingCharacters()
                    let parts = text.split(separator: " ")
                    if parts.count == 2 { lines.append((String(parts[0]), String(parts[1]))) }
                }
                fclose(f)
                guard !lines.isEmpty else { fail("no targets in \(path)") }
                o.targets = lines
            default: fail("unknown argument \(a)")
            }
        }
        guard o.rate > 0, o.connections > 0, o.seconds > 0, o.port > 0 else { fail("need --port, --rate, --connections, --seconds > 0") }
        let g = LoadGenerator(options: o)
        shared = g
        g.run()
    }

    static func fail(_ message: String) -> Never {
        let text = Array("foghorn-loadgen: \(message)\n".utf8)
        _ = write(2, text, text.count)
        exit(2)
    }

    static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    func run() {
        var addr = sockaddr_in()
        uv_ip4_addr(options.host, Int32(options.port), &addr)
        for i in 0..<options.connections {
            let c = Connection(index: i)
            connections.append(c)
            uv_tcp_init(loop, c.tcp)
            c.tcp.pointee.data = UnsafeMutableRawPointer(bitPattern: i + 1)
            let req = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
            req.pointee.data = UnsafeMutableRawPointer(bitPattern: i + 1)
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = uv_tcp_connect(req, c.tcp, $0, loadgenConnected) }
            }
        }
        // Wait (bounded) for the connections, then start the clock.
        let deadline = LoadGenerator.nowNs() + 5_000_000_000
        while connections.contains(where: { !$0.connected && !$0.dead }) && LoadGenerator.nowNs() < deadline {
            uv_run(loop, UV_RUN_NOWAIT)
        }
        startNs = LoadGenerator.nowNs()
        measureFromNs = startNs + UInt64(options.warmupSeconds * 1e9)
        endNs = measureFromNs + UInt64(options.seconds * 1e9)
        let windows = Int((options.warmupSeconds + options.seconds) * 100) + 1
        slowCount = Array(repeating: 0, count: windows)
        slowMaxUs = Array(repeating: 0, count: windows)
        sendLagMaxUs = Array(repeating: 0, count: windows)
        uv_timer_init(loop, timer)
        // Busy-poll (the generator owns its core): send times are accurate to microseconds,
        // not to libuv's millisecond timers.
        while !stopping {
            uv_run(loop, UV_RUN_NOWAIT)
            tick()
        }
        uv_run(loop, UV_RUN_DEFAULT)  // the drain timer, then closes
        report()
    }

    /// Sends every request whose scheduled time has come (called continuously).
    func tick() {
        let now = LoadGenerator.nowNs()
        if now >= endNs {
            if !stopping {
                stopping = true
                // Give outstanding responses up to 2 s, then stop.
                uv_timer_stop(timer)
                uv_timer_start(timer, loadgenDrain, 2000, 0)
            }
            return
        }
        let due = UInt64(Double(now - startNs) * options.rate / 1e9)
        while sent < due {
            let scheduled = startNs + UInt64(Double(sent) * 1e9 / options.rate)
            let lagUs = (now &- scheduled) / 1000
            if scheduled >= measureFromNs { _ = sendLag.record(max(lagUs, 1)) }
            let w = Int((scheduled - startNs) / 10_000_000)
            if w < sendLagMaxUs.count && lagUs > sendLagMaxUs[w] { sendLagMaxUs[w] = lagUs }
            send(scheduledNs: scheduled)
            sent += 1
        }
    }

    func send(scheduledNs: UInt64) {
        // The least busy live connection, starting after the last one used.
        var best: Connection?
        for k in 0..<connections.count {
            let c = connections[(nextConnection + k) % connections.count]
            guard c.connected, !c.dead else { continue }
            if c.outstanding == 0 { best = c; break }
            if best == nil || c.outstanding < best!.outstanding { best = c }
        }
        nextConnection = (nextConnection + 1) % connections.count
        guard let c = best, c.outstanding < options.maxOutstandingPerConnection else {
            errors["overload_not_sent", default: 0] += 1
            return
        }
        let bytes = requests[nextRequest]
        nextRequest = (nextRequest + 1) % requests.count
        c.scheduled.append(scheduledNs)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 1)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        var buf = uv_buf_init(storage.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let stream = UnsafeMutableRawPointer(c.tcp).assumingMemoryBound(to: uv_stream_t.self)
        let written = uv_try_write(stream, &buf, 1)
        if written == Int32(bytes.count) {
            storage.deallocate()
            return
        }
        let done = max(Int(written), 0)
        let w = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        w.pointee.data = storage
        var rest = uv_buf_init(storage.advanced(by: done).assumingMemoryBound(to: CChar.self), UInt32(bytes.count - done))
        if uv_write(w, stream, &rest, 1, loadgenWrote) != 0 {
            storage.deallocate()
            w.deallocate()
            fail(c, "write_failed")
        }
    }

    func connected(_ i: Int, _ status: Int32) {
        let c = connections[i]
        if status != 0 {
            c.dead = true
            errors["connect_failed", default: 0] += 1
            return
        }
        c.connected = true
        uv_tcp_nodelay(c.tcp, 1)
        let stream = UnsafeMutableRawPointer(c.tcp).assumingMemoryBound(to: uv_stream_t.self)
        uv_read_start(stream, loadgenAlloc, loadgenRead)
    }

    func fail(_ c: Connection, _ kind: String) {
        guard !c.dead else { return }
        c.dead = true
        errors[kind, default: 0] += 1
        errors["lost_in_flight", default: 0] += UInt64(c.outstanding)
        let handle = UnsafeMutableRawPointer(c.tcp).assumingMemoryBound(to: uv_handle_t.self)
        if uv_is_closing(handle) == 0 { uv_close(handle, nil) }
    }

    /// Complete responses at the front of the connection's buffer: status, Content-Length.
    func received(_ i: Int, _ bytes: UnsafeRawBufferPointer) {
        let c = connections[i]
        c.buffer.append(contentsOf: bytes)
        var offset = 0
        let now = LoadGenerator.nowNs()
        c.buffer.withUnsafeBytes { b in
            while true {
                guard let headEnd = LoadGenerator.find(b, from: offset) else { break }
                var length = 0
                var status = 0
                // "HTTP/1.1 307 …"
                if headEnd - offset > 12 {
                    status = Int(b[offset + 9] - 48) * 100 + Int(b[offset + 10] - 48) * 10 + Int(b[offset + 11] - 48)
                }
                if let cl = LoadGenerator.contentLength(b, from: offset, to: headEnd) { length = cl }
                let total = headEnd + 4 + length - offset
                guard offset + total <= b.count else { break }
                offset += total
                statuses[status, default: 0] += 1
                guard c.head < c.scheduled.count else {
                    errors["unexpected_response", default: 0] += 1
                    continue
                }
                let scheduled = c.scheduled[c.head]
                c.head += 1
                completed += 1
                if scheduled >= measureFromNs && scheduled < endNs {
                    let latencyUs = max((now &- scheduled) / 1000, 1)
                    _ = histogram.record(latencyUs)
                    measured += 1
                    if options.timelineOverUs > 0 && latencyUs > options.timelineOverUs {
                        let w = Int((scheduled - startNs) / 10_000_000)
                        if w < slowCount.count {
                            slowCount[w] += 1
                            if latencyUs > slowMaxUs[w] { slowMaxUs[w] = latencyUs }
                        }
                    }
                }
            }
        }
        if offset > 0 { c.buffer.removeFirst(offset) }
        if c.head > 4096 && c.head * 2 > c.scheduled.count {
            c.scheduled.removeFirst(c.head)
            c.head = 0
        }
    }

    static func find(_ b: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        while i + 3 < b.count {
            if b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }

    static func contentLength(_ b: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        let name = Array("content-length:".utf8)
        var i = from
        while i + name.count < to {
            if b[i] == 10 {
                var match = true
                for k in 0..<name.count where b[i + 1 + k] | 0x20 != name[k] | (name[k] >= 97 ? 0x20 : 0) { match = false; break }
                if match {
                    var j = i + 1 + name.count
                    while j < to && b[j] == 32 { j += 1 }
                    var n = 0
                    while j < to && b[j] >= 48 && b[j] <= 57 { n = n * 10 + Int(b[j] - 48); j += 1 }
                    return n
                }
            }
            i += 1
        }
        return nil
    }

    func finish() {
        for c in connections {
            if !c.dead && c.outstanding > 0 { errors["no_response_in_time", default: 0] += UInt64(c.outstanding) }
            let handle = UnsafeMutableRawPointer(c.tcp).assumingMemoryBound(to: uv_handle_t.self)
            if uv_is_closing(handle) == 0 { uv_close(handle, nil) }
        }
        uv_close(UnsafeMutableRawPointer(timer).assumingMemoryBound(to: uv_handle_t.self), nil)
    }

    func report() {
        let seconds = options.seconds
        let achieved = Double(measured) / seconds
        func us(_ p: Double) -> String {
            let v = histogram.valueAtPercentile(p)
            return v >= 1000 ? "\(Double(v / 10) / 100)ms" : "\(v)us"
        }
        let errorText = errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let statusText = statuses.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        if options.timelineOverUs > 0 {
            for w in 0..<slowCount.count where slowCount[w] > 0 {
                print("window t=\(Double(w) / 100)s slow=\(slowCount[w]) max=\(slowMaxUs[w])us send_lag_max=\(sendLagMaxUs[w])us")
            }
        }
        let lagText = "send_lag_p99=\(sendLag.valueAtPercentile(99))us send_lag_max=\(sendLag.valueAtPercentile(100))us"
        print("target_rate=\(Int(options.rate)) achieved_rate=\(Int(achieved)) connections=\(options.connections) seconds=\(seconds) "
              + "p50=\(us(50)) p90=\(us(90)) p99=\(us(99)) p99.9=\(us(99.9)) max=\(us(100)) "
              + "responses=\(completed) measured=\(measured) statuses=\(statusText) errors=\(errorText) " + lagText)
    }
}

private func gen() -> LoadGenerator { LoadGenerator.shared }
private func connectionIndex(_ p: UnsafeMutableRawPointer?) -> Int { Int(bitPattern: p) - 1 }

private func loadgenConnected(_ req: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) {
    guard let req else { return }
    let i = connectionIndex(req.pointee.data)
    req.deallocate()
    gen().connected(i, status)
}

private func loadgenTick(_ t: UnsafeMutablePointer<uv_timer_t>?) { gen().tick() }
private func loadgenDrain(_ t: UnsafeMutablePointer<uv_timer_t>?) { gen().finish() }

private func loadgenWrote(_ req: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    guard let req else { return }
    req.pointee.data?.deallocate()
    req.deallocate()
    if status != 0 { gen().errors["write_error", default: 0] += 1 }
}

private func loadgenAlloc(_ h: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buf: UnsafeMutablePointer<uv_buf_t>?) {
    buf?.pointee = uv_buf_init(UnsafeMutablePointer<CChar>.allocate(capacity: 65536), 65536)
}

private func loadgenRead(_ s: UnsafeMutablePointer<uv_stream_t>?, _ nread: Int, _ buf: UnsafePointer<uv_buf_t>?) {
    defer { buf?.pointee.base?.deallocate() }
    guard let s else { return }
    let i = connectionIndex(s.pointee.data)
    let g = gen()
    if nread > 0, let base = buf?.pointee.base {
        g.received(i, UnsafeRawBufferPointer(start: base, count: nread))
    } else if nread < 0 {
        g.fail(g.connections[i], nread == Int(UV_EOF.rawValue) ? "closed_by_server" : "read_error")
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let l = s.last, l == "\n" || l == "\r" || l == " " { s = s.dropLast() }
        return String(s)
    }
}
