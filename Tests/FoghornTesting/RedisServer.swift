import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` (Debian's package, installed by scripts/bootstrap) on a free loopback
/// port with its own temporary directory and no persistence; stopped when the value is.
public final class RedisServer {
    public private(set) var port: UInt16
    let dir: String
    private var pid: pid_t = 0

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    public init() throws {
        dir = try ScratchDirectory.make("foghorn-redis")
        port = try RedisServer.freePort()
        // The free port may be taken by another test before redis-server binds it: try another.
        var attempt = 0
        while true {
            do {
                try start()
                return
            } catch {
                attempt += 1
                if attempt == 5 { throw error }
                port = try RedisServer.freePort()
            }
        }
    }

    deinit { stop() }

    /// Starts (again) on the same port, empty.
    public func start() throws {
        let args = ["/usr/bin/redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
                    "--daemonize", "no", "--loglevel", "warning", "--logfile", dir + "/redis.log"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, args[0], nil, nil, &argv, environ)
        guard rc == 0 else { throw Failure(message: "cannot start redis-server: \(String(cString: strerror(rc)))") }
        pid = child
        var lastError = ""
        for _ in 0..<500 {
            var exitStatus: Int32 = 0
            if waitpid(pid, &exitStatus, WNOHANG) == pid {  // exited (port taken, say): no point waiting
                pid = 0
                throw Failure(message: "redis-server exited at start on port \(port) (status \(exitStatus))")
            }
            do { let r = try command(["PING"]); if r == "+PONG" { return }; lastError = "reply \(r.debugDescription)" } catch { lastError = "\(error)" }
            usleep(10_000)
        }
        var status: Int32 = 0
        let exited = waitpid(pid, &status, WNOHANG)
        let log = (try? String(contentsOfFile: dir + "/redis.log", encoding: .utf8)) ?? ""
        stop()
        throw Failure(message: "redis-server did not answer PING on port \(port) within 5 s: \(lastError) (exited: \(exited), status \(status)) \(log.suffix(400))")
    }

    public func stop() {
        guard pid != 0 else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    /// SIGSTOP / SIGCONT: a Redis that stops answering without closing its connections.
    public func pause() { if pid != 0 { kill(pid, SIGSTOP) } }
    public func resume() { if pid != 0 { kill(pid, SIGCONT) } }

    /// One command over a fresh connection (inline protocol); the reply's first line, or the
    /// whole reply for bulk strings and arrays (raw). Bounded by a 2 s timeout.
    @discardableResult
    public func command(_ args: [String]) throws -> String {
        let fd = try TestClient.connectedSocket(host: "127.0.0.1", port: port)
        defer { close(fd) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var request = "*\(args.count)\r\n"
        for a in args { request += "$\(a.utf8.count)\r\n\(a)\r\n" }
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { throw Failure(message: "no reply") }
        let text = String(decoding: buffer[..<n], as: UTF8.self)
        return text.hasPrefix("+") || text.hasPrefix("-") || text.hasPrefix(":") ? String(decoding: text.utf8.prefix { $0 != 13 }, as: UTF8.self) : text
    }

    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw Failure(message: "no free port") }
        return UInt16(bigEndian: addr.sin_port)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
