#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback HTTP/1.1 client for tests: raw bytes in, parsed
/// responses out, every wait bounded by a deadline.
public final class TestClient {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public struct Response: CustomStringConvertible {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        public func headers(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }
        public var description: String { "\(status) \(headers) \(bodyText)" }
    }

    public struct ClientError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public init(port: UInt16, host: String = "127.0.0.1") throws {
        fd = try TestClient.connectedSocket(host: host, port: port)
    }

    /// A blocking IPv4 TCP socket connected to `host:port` (the caller closes it).
    public static func connectedSocket(host: String, port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(message: "socket failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw ClientError(message: "connect to \(host):\(port) failed: errno \(errno)")
        }
        return fd
    }

    deinit { Glibc.close(fd) }

    public func close() { shutdown(fd, Int32(SHUT_RDWR)) }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw ClientError(message: "send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads more bytes into the buffer; returns 0 on EOF, -1 on timeout.
    @discardableResult
    private func fill(timeoutMs: Int) throws -> Int {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(timeoutMs))
        if ready == 0 { return -1 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == ECONNRESET { return 0 }
            throw ClientError(message: "recv failed: errno \(errno)")
        }
        buffer.append(contentsOf: chunk[0..<n])
        return n
    }

    /// Reads one response (Content-Length framed, or until close). `headRequest`: no body expected.
    public func readResponse(timeoutMs: Int = 5000, headRequest: Bool = false) throws -> Response {
        let deadline = Self.nowMs() + timeoutMs
        while true {
            if let response = try parseBuffered(headRequest: headRequest) { return response }
            let left = deadline - Self.nowMs()
            if left <= 0 { throw ClientError(message: "timed out waiting for a response (have \(buffer.count) bytes)") }
            let n = try fill(timeoutMs: left)
            if n == 0 {
                if let response = try parseBuffered(headRequest: headRequest, atEOF: true) { return response }
                throw ClientError(message: "connection closed before a full response (have \(buffer.count) bytes)")
            }
        }
    }

    /// True if the server closes the connection within `timeoutMs` (any unread data is discarded).
    public func waitForClose(timeoutMs: Int) throws -> Bool {
        let deadline = Self.nowMs() + timeoutMs
        while true {
            let left = deadline - Self.nowMs()
            if left <= 0 { return false }
            let n = try fill(timeoutMs: left)
            if n == 0 { return true }
            if n < 0 { return false }
        }
    }

    /// True if no byte arrives within `ms` (and the connection stays open).
    public func staysSilent(forMs ms: Int) throws -> Bool {
        if !buffer.isEmpty { return false }
        return try fill(timeoutMs: ms) == -1
    }

    private func parseBuffered(headRequest: Bool, atEOF: Bool = false) throws -> Response? {
        guard let end = findHeadEnd() else { return nil }
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        var lines = head.components(separatedByCRLF: ())
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw ClientError(message: "bad status line \(statusLine)") }
        var headers: [(String, String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingLeadingSpaces()))
        }
        let bodyStart = end + 4
        let noBody = headRequest || status == 204 || status == 304 || (100..<200).contains(status)
        if noBody {
            buffer.removeFirst(bodyStart)
            return Response(status: status, headers: headers, body: [])
        }
        if let cl = headers.first(where: { $0.0.lowercased() == "content-length" }).flatMap({ Int($0.1) }) {
            guard buffer.count >= bodyStart + cl else { return nil }
            let body = Array(buffer[bodyStart..<(bodyStart + cl)])
            buffer.removeFirst(bodyStart + cl)
            return Response(status: status, headers: headers, body: body)
        }
        guard atEOF else { return nil }
        let body = Array(buffer[bodyStart...])
        buffer.removeAll()
        return Response(status: status, headers: headers, body: body)
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    public static func nowMs() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1000 + Int(ts.tv_nsec) / 1_000_000
    }

    /// One request on a fresh connection.
    public static func get(port: UInt16, _ path: String, headers: [String] = []) throws -> Response {
        let client = try TestClient(port: port)
        var request = "GET \(path) HTTP/1.1\r\nHost: test\r\n"
        for h in headers { request += h + "\r\n" }
        request += "\r\n"
        try client.send(request)
        return try client.readResponse()
    }
}

extension String {
    fileprivate func components(separatedByCRLF: Void) -> [String] {
        var result: [String] = []
        var current = ""
        var previousCR = false
        for ch in self.unicodeScalars {
            if ch == "\r" { previousCR = true; continue }
            if ch == "\n" && previousCR { result.append(current); current = ""; previousCR = false; continue }
            if previousCR { current.unicodeScalars.append("\r"); previousCR = false }
            current.unicodeScalars.append(ch)
        }
        result.append(current)
        return result
    }

    fileprivate func trimmingLeadingSpaces() -> String {
        String(self.drop { $0 == " " })
    }
}
