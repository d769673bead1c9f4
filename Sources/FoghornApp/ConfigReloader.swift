import FoghornModel
import FoghornConfig
import FoghornControl
import FoghornHTTP
import FoghornSync
import Logging

/// SIGHUP's machinery. The configuration is read and parsed on a thread of its own (`reload`):
/// a file of 10,000 edges and 100,000 playback records (83 MB) takes 1.2–1.3 s to parse, and the
/// control loop must keep taking reports, serving the internal API and publishing meanwhile.
/// Back on the control loop, `takeOver` applies only what differs (``ControlPlane/reload(_:)``,
/// the live settings); an invalid configuration changes nothing and is counted. A SIGHUP while
/// a file is being read reads it again afterwards (the last signal always sees the file as it
/// was then).
final class ConfigReloader: @unchecked Sendable {
    /// Re-reads the configuration (nil: SIGHUP only logs). Runs on the reload thread.
    var source: (@Sendable (StreamNameTable) throws -> FoghornConfiguration)?
    private let thread = EventLoop(name: "reload", background: true)
    private let controlLoop: EventLoop
    private let heartbeat: LoopHeartbeat
    private let logger: Logger
    private var plane: ControlPlane!
    private var takeOver: ((FoghornConfiguration) throws -> [String])!
    /// A reload is being read (control loop only); another SIGHUP meanwhile sets `again`.
    private var reading = false
    private var again = false
    /// Who asked for the reload being read (`POST /-/reload`), and for the one after it.
    private var waiters: [(Outcome) -> Void] = []
    private var nextWaiters: [(Outcome) -> Void] = []

    /// How a reload ended, for `POST /-/reload`.
    struct Outcome {
        var applied: Bool
        var restartKeys: [String] = []
        var error = ""
        var readMs = 0.0
        var applyMs = 0.0
    }

    init(controlLoop: EventLoop, heartbeat: LoopHeartbeat, logger: Logger) {
        self.controlLoop = controlLoop
        self.heartbeat = heartbeat
        self.logger = logger
    }

    /// Starts the reload thread; `takeOver` applies a read configuration on the control loop and
    /// returns the restart-only keys that changed.
    func start(plane: ControlPlane, takeOver: @escaping (FoghornConfiguration) throws -> [String]) {
        self.plane = plane
        self.takeOver = takeOver
        thread.start()
    }

    func stop() { thread.stop() }
    func join() { thread.join() }

    /// Requests a reload from any thread.
    func request() { controlLoop.execute { [self] in reload() } }

    /// On the control loop: reloads and calls `completion` with the outcome of a read that
    /// started after this call (a request while one is being read waits for the next).
    func reload(completion: @escaping (Outcome) -> Void) {
        guard source != nil else { return completion(Outcome(applied: false, error: "no configuration source: this process was not started from a file and flags")) }
        if reading { nextWaiters.append(completion) } else { waiters.append(completion) }
        reload()
    }

    /// On the control loop.
    func reload() {
        guard let source else {
            logger.warning("SIGHUP: no configuration source to reload")
            return
        }
        if reading {
            again = true
            return
        }
        reading = true
        plane.builder.holdNames()
        let names = plane.builder.names  // the file's stream names are interned in the running table
        let startedNs = ControlPlane.monotonicNs()
        thread.execute { [self] in
            let read = ReadConfiguration()
            do {
                var new = try source(names)
                try StaticState.absorbTrees(&new)  // edges and records given as trees (YAML) typed here too
                for i in new.staticEdges.indices where new.staticEdges[i].publicHost.isEmpty { new.staticEdges[i].resolveURLs() }
                read.result = .success(new)
            } catch {
                read.result = .failure(error)
            }
            let readNs = ControlPlane.monotonicNs()
            controlLoop.execute { [self] in
                heartbeat.during(.reload) { apply(read.result, readMs: Double(readNs &- startedNs) / 1e6) }
                // The file's parsed state (≈ 1 M stream entries, 100,000 records at 10,000 edges)
                // is freed back on the reload thread: its release would cost the control loop ms.
                // Then malloc gives the reload thread's arena back to the kernel (without it, RSS
                // stayed ≈ 30 MiB higher after the first reload at that size). Both once the
                // reload is published: on a shared core they slowed its build ≈ 4×.
                plane.whenPublished { [thread] in
                    thread.execute {
                        read.result = .failure(ReadConfiguration.Released())
                        ProcessMemory.releaseFree()
                    }
                }
            }
        }
    }

    /// A configuration read on the reload thread, handed to the control loop and back (so that
    /// the reload thread, not the control loop, drops the last reference).
    private final class ReadConfiguration: @unchecked Sendable {
        struct Released: Error {}
        var result: Result<FoghornConfiguration, any Error> = .failure(Released())
    }

    private func apply(_ read: Result<FoghornConfiguration, any Error>, readMs: Double) {
        reading = false
        plane.builder.releaseNames()
        let done = waiters
        waiters = nextWaiters
        nextWaiters = []
        var outcome = Outcome(applied: false, readMs: Self.rounded(readMs))
        defer {
            for w in done { w(outcome) }
            if again {
                again = false
                reload()
            }
        }
        let startedNs = ControlPlane.monotonicNs()
        do {
            let restart = try takeOver(try read.get())
            outcome.applied = true
            outcome.restartKeys = restart
            outcome.applyMs = Self.rounded(Double(ControlPlane.monotonicNs() &- startedNs) / 1e6)
            let timing: Logger.Metadata = [
                "read_ms": "\(Self.rounded(readMs))", "apply_ms": "\(outcome.applyMs)",
            ]
            if restart.isEmpty {
                logger.notice("configuration reloaded", metadata: timing)
            } else {
                logger.warning("configuration reloaded; these keys changed but need a restart",
                               metadata: timing.merging(["keys": "\(restart.joined(separator: ","))"]) { a, _ in a })
            }
        } catch {
            outcome.error = "\(error)"
            plane.recordReloadFailure()
            logger.error("configuration reload refused; the running configuration stays", metadata: ["error": "\(error)"])
        }
    }

    private static func rounded(_ ms: Double) -> Double { (ms * 10).rounded() / 10 }
}
