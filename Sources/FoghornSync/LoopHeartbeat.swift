import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a loop does, named in the watchdog's log line when the loop stops ticking.
public enum LoopActivity: UInt8, Sendable, CaseIterable {
    case idle, job, rebuild, reload

    public var label: String {
        switch self {
        case .idle: "idle"
        case .job: "mailbox_job"
        case .rebuild: "snapshot_build"
        case .reload: "reload_apply"
        }
    }
}

/// A loop's pulse, read from other threads: the loop stores the time on every tick of a short
/// timer (which fires only between callbacks, so a callback that never returns stops it) and
/// marks what it is doing (``during(_:_:)``); a watchdog on another thread (FoghornApp's
/// `ControlLoopWatchdog`) compares the last tick with the clock and sets ``isStalled``, which
/// `/livez` (served by other loops) reports.
///
/// Every field is a relaxed atomic: readers want a recent value, not an ordering.
public final class LoopHeartbeat: Sendable {
    private let lastTickNs = Atomic<UInt64>(0)
    private let activityRaw = Atomic<UInt8>(0)
    private let activitySinceNs = Atomic<UInt64>(0)
    private let stalledSinceNs = Atomic<UInt64>(0)

    public init() { tick() }

    /// On the watched loop: it is alive now.
    public func tick() { lastTickNs.store(Self.nowNs(), ordering: .relaxed) }

    /// On the watched loop: runs `body` marked as `activity`, then restores what was marked
    /// before (activities nest: a snapshot build inside a mailbox job).
    @inline(__always) public func during<T>(_ activity: LoopActivity, _ body: () throws -> T) rethrows -> T {
        let previous = activityRaw.load(ordering: .relaxed), previousSince = activitySinceNs.load(ordering: .relaxed)
        activitySinceNs.store(Self.nowNs(), ordering: .relaxed)
        activityRaw.store(activity.rawValue, ordering: .relaxed)
        defer {
            activitySinceNs.store(previousSince, ordering: .relaxed)
            activityRaw.store(previous, ordering: .relaxed)
        }
        return try body()
    }

    public var activity: LoopActivity { LoopActivity(rawValue: activityRaw.load(ordering: .relaxed)) ?? .idle }
    /// How long the current activity has been running (0 when idle).
    public func activityMs(nowNs: UInt64 = LoopHeartbeat.nowNs()) -> UInt64 {
        activity == .idle ? 0 : Self.elapsedMs(since: activitySinceNs.load(ordering: .relaxed), nowNs: nowNs)
    }
    /// Milliseconds since the loop last ticked.
    public func silentMs(nowNs: UInt64 = LoopHeartbeat.nowNs()) -> UInt64 {
        Self.elapsedMs(since: lastTickNs.load(ordering: .relaxed), nowNs: nowNs)
    }

    /// Set by the watchdog: the loop has not ticked for longer than its limit.
    public var isStalled: Bool { stalledSinceNs.load(ordering: .relaxed) != 0 }
    public func markStalled(atNs: UInt64) { stalledSinceNs.store(max(atNs, 1), ordering: .relaxed) }
    public func markRecovered() { stalledSinceNs.store(0, ordering: .relaxed) }

    public static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func elapsedMs(since: UInt64, nowNs: UInt64) -> UInt64 { nowNs > since ? (nowNs - since) / 1_000_000 : 0 }
}
