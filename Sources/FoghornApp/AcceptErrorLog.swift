import CLibUV
import Logging
import Synchronization

/// Logs failed accepts (out of descriptors) at most once per ``intervalMs`` per process, with how
/// many failed since the last line; every failure is counted in `foghorn_http_accept_errors_total`.
final class AcceptErrorLog: Sendable {
    static let intervalMs: UInt64 = 10_000
    let logger: Logger
    private let lastLogMs = Atomic<UInt64>(0)
    private let unlogged = Atomic<UInt64>(0)

    init(logger: Logger) { self.logger = logger }

    /// From any listener's loop.
    func record(listener: String, status: Int32, nowMs: UInt64) {
        unlogged.add(1, ordering: .relaxed)
        let last = lastLogMs.load(ordering: .relaxed)
        guard last == 0 || nowMs >= last + Self.intervalMs,
              lastLogMs.compareExchange(expected: last, desired: max(nowMs, 1), ordering: .relaxed).exchanged else { return }
        let count = unlogged.exchange(0, ordering: .relaxed)
        let reason = status == UV_EMFILE.rawValue ? "too many open files in this process (EMFILE): raise LimitNOFILE / ulimit -n or lower max_connections_per_loop"
            : status == UV_ENFILE.rawValue ? "too many open files in the system (ENFILE)" : String(cString: uv_strerror(status))
        logger.error("cannot accept connections: \(reason)", metadata: ["listener": "\(listener)", "failed_since_last_line": "\(count)"])
    }
}
