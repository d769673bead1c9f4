import Synchronization
import FoghornSync

/// Whether this process should receive traffic. `/readyz` answers 200 only
/// when every check passes and the process is not draining.
public final class Readiness: Sendable {
    private let state = Locked<(checks: [(name: String, ok: Bool, detail: String)], draining: Bool)>(([], false))

    public init() {}

    /// Declares or updates a named check (`listeners`, later `snapshot`, `geoip`…).
    public func set(_ name: String, ok: Bool, detail: String = "") {
        state.withLock { s in
            if let i = s.checks.firstIndex(where: { $0.name == name }) {
                s.checks[i] = (name, ok, detail)
            } else {
                s.checks.append((name, ok, detail))
            }
        }
    }

    private let notes = Locked<[String]>([])

    /// Records something an operator should fix that does not make the process unready
    /// (`/readyz?verbose` lists it under `warnings`).
    public func warn(_ text: String) { notes.withLock { if !$0.contains(text) { $0.append(text) } } }

    public var warnings: [String] { notes.withLock { $0 } }

    public func beginDraining() { state.withLock { $0.draining = true } }

    public var isDraining: Bool { state.withLock { $0.draining } }

    public var isReady: Bool {
        state.withLock { s in !s.draining && !s.checks.isEmpty && s.checks.allSatisfy(\.ok) }
    }

    /// Details computed when read (the snapshot's current generation), by check name.
    private let detailSources = Locked<[String: @Sendable () -> String]>([:])

    /// `name`'s detail is `source()` at read time from now on (while the check is ok).
    public func setDetailSource(_ name: String, _ source: @escaping @Sendable () -> String) {
        detailSources.withLock { $0[name] = source }
    }

    /// All checks, with `draining` first.
    public var checks: [(name: String, ok: Bool, detail: String)] {
        let sources = detailSources.withLock { $0 }
        let listed = state.withLock { s in [("not_draining", !s.draining, s.draining ? "shutting down" : "")] + s.checks }
        return listed.map { c in c.ok ? (c.name, c.ok, sources[c.name]?() ?? c.detail) : c }
    }
}
