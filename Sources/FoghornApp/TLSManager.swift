public import FoghornConfig
import FoghornHTTP
public import FoghornTLS
public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Owns the HTTPS certificates on the control loop: loads them, publishes the
/// context to the data loops, and reloads on SIGHUP and when a file changes
/// (checked every `tls.check_interval_s`). A new set that fails to load keeps
/// the old one, is logged with the reason and counted.
public final class TLSManager: @unchecked Sendable {
    public let publisher: TLSContextPublisher
    private(set) var pairs: [TLSFilePair]
    let logger: Logger
    private var fingerprints: [String: String] = [:]
    private var timer: LoopTimer?
    /// Reloads applied / refused (metrics; read on the control loop).
    public private(set) var applied: UInt64 = 0
    public private(set) var failed: UInt64 = 0
    public private(set) var lastError = ""

    /// Loads `pairs` now (start-up fails if they do not load).
    public init(pairs: [TLSFilePair], logger: Logger) throws(TLSError) {
        self.pairs = pairs
        self.logger = logger
        publisher = TLSContextPublisher(try TLSServerContext(pairs: pairs.map { ($0.cert, $0.key) }))
        fingerprints = TLSManager.fingerprints(pairs)
    }

    private var rotationTimer: LoopTimer?
    public private(set) var ticketRotations: UInt64 = 0

    /// Rotates the session-ticket keys now (the previous key keeps resuming until the next rotation).
    public func rotateTicketKeys() {
        if TLSServerContext.rotateTicketKeys() { ticketRotations += 1 }
    }

    /// Watches the files every `intervalS` seconds (0: only SIGHUP) and rotates ticket keys
    /// every `rotateS` seconds. On the control loop.
    func start(loop: EventLoop, intervalS: Int, rotateS: Int) {
        if rotateS > 0 {
            rotationTimer = LoopTimer(loop: loop) { [unowned self] in rotateTicketKeys() }
            rotationTimer?.start(afterMs: UInt64(rotateS) * 1000, repeatMs: UInt64(rotateS) * 1000)
        }
        guard intervalS > 0 else { return }
        timer = LoopTimer(loop: loop) { [unowned self] in
            let now = TLSManager.fingerprints(pairs)
            if now != fingerprints { reload(pairs, reason: "files changed") }
        }
        timer?.start(afterMs: UInt64(intervalS) * 1000, repeatMs: UInt64(intervalS) * 1000)
    }

    func stop() {
        timer?.close()
        rotationTimer?.close()
    }

    /// Re-reads `pairs` (SIGHUP: possibly a new list). Returns whether the new set is in use.
    @discardableResult
    public func reload(_ pairs: [TLSFilePair], reason: String) -> Bool {
        fingerprints = TLSManager.fingerprints(pairs)  // do not retry a broken file every tick
        do throws(TLSError) {
            let context = try TLSServerContext(pairs: pairs.map { ($0.cert, $0.key) })
            publisher.publish(context)
            self.pairs = pairs
            applied += 1
            lastError = ""
            logger.notice("TLS certificates reloaded", metadata: ["reason": "\(reason)", "names": "\(context.certificates.flatMap(\.names).joined(separator: ","))"])
            return true
        } catch {
            failed += 1
            lastError = error.description
            logger.error("TLS certificate reload refused; the current certificates stay", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Each certificate's notAfter (Unix seconds), by certificate file.
    public var expiries: [(String, Double)] {
        publisher.context.certificates.map { ($0.certPath, Double($0.notAfterUnix)) }
    }

    /// mtime + size + inode of every file, to notice replaced certificates.
    static func fingerprints(_ pairs: [TLSFilePair]) -> [String: String] {
        var out: [String: String] = [:]
        for p in pairs {
            for path in [p.cert, p.key] {
                var st = stat()
                if stat(path, &st) == 0 {
                    out[path] = "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)/\(st.st_size)/\(st.st_ino)"
                } else {
                    out[path] = "missing"
                }
            }
        }
        return out
    }
}
