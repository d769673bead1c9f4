import CFoghornShims
public import FoghornConfig
public import FoghornControl
import FoghornGeo
public import FoghornModel
public import FoghornRouting
public import FoghornHTTP
import FoghornHTTPCore
import FoghornJSON
public import FoghornOps
public import Logging
import Synchronization
public import FoghornSync
public import FoghornState
import FoghornTLS
import FoghornRedis
#if canImport(Glibc)
import Glibc
#endif

/// A whole Foghorn process: N data loops serving viewers on `http_listen`
/// (one `SO_REUSEPORT` socket each) and one control loop serving the internal
/// listener and owning lifecycle (signals, drain, hard stop).
///
/// Tests start it in-process on `127.0.0.1:0`; `foghorn serve` starts it and
/// blocks in ``waitUntilStopped()``.
public final class FoghornServer: @unchecked Sendable {
    public private(set) var config: FoghornConfiguration
    public let logger: Logger
    public let readiness = Readiness()
    public let metrics: MetricsRegistry
    public let controlLoop = EventLoop(name: "control", background: true)
    /// The control loop's pulse (ticked every 100 ms on it), watched by ``watchdog``.
    public let controlHeartbeat = LoopHeartbeat()
    /// Notices a control loop that stopped ticking (`control_stall_after_ms`); see ``ControlLoopWatchdog``.
    public private(set) var watchdog: ControlLoopWatchdog?
    /// Heartbeat ticks on the control loop.
    static let heartbeatIntervalMs: UInt64 = 100
    public internal(set) var dataLoops: [EventLoop] = []
    public private(set) var httpPort: UInt16 = 0
    public private(set) var internalPort: UInt16 = 0
    /// The peer listener's port (0 when no peers are configured).
    public private(set) var peerPort: UInt16 = 0
    /// The HTTPS listener's port (0 without certificates).
    public private(set) var httpsPort: UInt16 = 0
    /// The public edge API's port (0 without `edge_listen`).
    public private(set) var edgePort: UInt16 = 0
    /// The edge API of the edge listener (nil without `edge_listen`); touch on the control loop.
    public private(set) var edgeAPI: EdgeAPI?
    /// Certificates (nil without HTTPS); touch on the control loop.
    public private(set) var tls: TLSManager?
    /// Every HTTPS listener's handshake counters (appended on the control loop, read at scrape time there).
    var tlsCounterSets: [RelaxedCounters] = []

    var controlContext: HTTPLoopContext!
    /// Routing state; touch only on the control loop.
    public private(set) var plane: ControlPlane!
    /// Durable state (`state_path`); closed after the control loop stops.
    public private(set) var stateStore: (any StateStore)?
    public private(set) var viewerLoops: [ViewerLoop] = []
    /// Log lines (JSON) and access log; `foghorn serve` sets it, in-process servers create one on demand.
    public var logSink: LogSink?
    /// Re-reads the configuration for SIGHUP (set by `foghorn serve`; nil: SIGHUP only logs),
    /// interning its stream names in the table it is given (the running one). Runs on the reload
    /// thread, never on the control loop.
    public var reloadSource: (@Sendable (StreamNameTable) throws -> FoghornConfiguration)? {
        get { reloader.source }
        set { reloader.source = newValue }
    }
    /// SIGHUP's reading thread and sequencing (``ConfigReloader``).
    let reloader: ConfigReloader
    var dataContexts: [HTTPLoopContext] = []
    let exitCode = Locked<Int32?>(nil)
    var shutdownStarted = false
    var loopsDraining = 0
    var signals: SignalWatcher?
    /// Failed accepts, logged rate-limited (every listener).
    let acceptErrors: AcceptErrorLog
    var lifecycleTimers: [LoopTimer] = []

    public init(config: FoghornConfiguration, logger: Logger) {
        self.config = config
        self.logger = logger
        acceptErrors = AcceptErrorLog(logger: logger)
        reloader = ConfigReloader(controlLoop: controlLoop, heartbeat: controlHeartbeat, logger: logger)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        metrics = MetricsRegistry(version: FoghornVersion.string, commit: FoghornVersion.commit, startTimeSeconds: Double(now.tv_sec))
    }

    public var loopCount: Int {
        config.loops > 0 ? config.loops : ProcessLimits.cpuBudget().cpus
    }

    var viewerOptions: HTTPListenerOptions {
        HTTPListenerOptions(
            name: "viewer",
            limits: HTTPLimits(
                maxRequestLineBytes: config.maxRequestLineBytes, maxHeaderBytes: config.maxHeaderBytes,
                maxHeaderCount: config.maxHeaders, maxBodyBytes: ViewerLimits.whepOfferMaxBytes),
            timeouts: timeouts,
            maxConnectionsPerLoop: config.maxConnectionsPerLoop,
            maxPipelinedRequests: config.maxPipelinedRequests)
    }

    var internalOptions: HTTPListenerOptions {
        HTTPListenerOptions(
            name: "internal",
            limits: HTTPLimits(
                maxRequestLineBytes: config.maxRequestLineBytes, maxHeaderBytes: config.maxHeaderBytes,
                maxHeaderCount: config.maxHeaders, maxBodyBytes: config.maxBodyBytes),
            timeouts: timeouts,
            maxConnectionsPerLoop: config.maxConnectionsPerLoop,
            maxPipelinedRequests: config.maxPipelinedRequests)
    }

    var timeouts: HTTPTimeouts {
        HTTPTimeouts(
            headerTimeoutMs: UInt64(config.headerTimeoutMs), idleTimeoutMs: UInt64(config.idleTimeoutMs),
            writeTimeoutMs: UInt64(config.writeTimeoutMs), lingerMs: UInt64(config.lingerMs))
    }

    /// Binds every socket (errors surface here), starts the loops and returns
    /// once all listeners accept.
    public func start(installSignalHandlers: Bool = false) throws {
        // Blocks of 1 MiB and more (a snapshot's per-edge and per-stream arrays) are mapped whole:
        // replacing a snapshot then gives its memory back instead of fragmenting the heap
        // (docs/PERFORMANCE.md, "Memory": RSS by threshold).
        ProcessMemory.setMmapThreshold(bytes: 1 << 20)
        if installSignalHandlers {
            // A parent may have spawned us with these blocked (a blocked mask survives exec);
            // threads created below inherit the unblocked mask.
            var set = sigset_t()
            sigemptyset(&set)
            for signum in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signum) }
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
        }
        let count = loopCount
        if config.loops == 0 {
            let budget = ProcessLimits.cpuBudget()
            logger.info("data loops: one per CPU this process may use", metadata: [
                "loops": "\(count)", "affinity_cpus": "\(budget.affinity)", "cgroup_quota": "\(budget.quotaSource ?? "none")"])
        }
        checkOpenFileLimit(loops: count)
        // HTTPS: certificates load before anything is bound (a bad file fails start-up).
        if !config.tlsCertificates.isEmpty { tls = try TLSManager(pairs: config.tlsCertificates, logger: logger) }
        let sockets = try BoundSockets.bind(config, loops: count, https: tls != nil)
        let plane: ControlPlane
        do {
            var geo: (any GeoLookup)?
            if !config.geoipDb.isEmpty { geo = try MMDBGeoDatabase(path: config.geoipDb) }
            plane = try ControlPlane(config: config, loop: controlLoop, logger: logger, dataLoops: count, geo: geo)
            if let pair = config.tlsEdgeCertificate {
                do { plane.edgeCertificate = try EdgeCertificate.load(pair) } catch { throw StartError(message: error.description) }
            }
            // Durable state loads before anything is served (a restarted Foghorn knows its edges).
            let store = try openStateStore()
            do { try plane.restore(from: store) } catch {
                store.close()
                throw error
            }
            stateStore = store
        } catch {
            sockets.closeUnused()
            throw error
        }
        httpPort = sockets.viewer[0].port
        internalPort = sockets.internalListener.port
        httpsPort = sockets.https.first?.port ?? 0
        peerPort = sockets.peer?.port ?? 0
        edgePort = sockets.edge?.port ?? 0
        let edgeSocket = sockets.edge
        let viewerSockets = sockets.viewer, httpsSockets = sockets.https, internalSocket: ListeningSocket = sockets.internalListener
        let peerSocket = sockets.peer
        self.plane = plane
        // Warnings need the static edges (https edges behind a plain-HTTP viewer listener): before they are dropped.
        let startWarnings = config.warnings
        config = plane.config  // static edge/record trees are parsed now; do not keep them
        var settings = ViewerSettings(
            resolver: plane.resolver, allowedOrigins: config.corsAllowedOrigins,
            redirectStatus: config.redirectStatus == 302 ? .found : .temporaryRedirect,
            useInternalStreamName: config.urlStreamName == "internal", stickyBand: UInt64(config.stickyBand))
        settings.edgeScheme = EdgeScheme(rawValue: config.edgeScheme) ?? .template
        settings.logClientIP = LogClientIP(rawValue: config.logClientIp) ?? .full
        settings.logQuery = config.logQuery
        let seed = Crypto.randomBytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let controlLoop = self.controlLoop
        for i in 0..<count {
            viewerLoops.append(ViewerLoop(index: i, settings: settings, publisher: plane.publisher, seed: seed &+ UInt64(i) << 56) { index, sequence, amounts in
                controlLoop.execute { plane.receiveShipment(loop: index, sequence: sequence, amounts: amounts) }
            })
        }
        ServerMetrics.register(on: metrics, plane: plane, viewerLoops: viewerLoops, tls: tls) { [unowned self] in tlsCounterSets }
        if config.accessLog && logSink == nil {
            let sink = LogSink(fd: 2)
            sink.start()
            logSink = sink
        }
        let accessSink = config.accessLog ? logSink : nil
        if let sink = logSink {
            metrics.registerGauge(MetricNames.logLinesDropped, help: "Log lines dropped because the queue was full.", type: "counter") {
                Double(sink.dropped)
            }
        }

        for warning in startWarnings {
            logger.warning("configuration: \(warning)")
            readiness.warn(warning)
        }
        readiness.set("listeners", ok: false, detail: "starting")
        readiness.set("snapshot", ok: false, detail: "no routing snapshot yet")
        if !config.geoipDb.isEmpty { readiness.set("geoip", ok: true, detail: config.geoipDb) }
        if let store = stateStore {
            readiness.set("state", ok: true, detail: "\(store.backend) \(store.location): \(plane.durable.edges.count) registered edges, \(plane.durable.playback.count) playback records")
        }
        metrics.registerGauge(MetricNames.draining, help: "1 while the process drains after SIGTERM.") { [readiness] in
            readiness.isDraining ? 1 : 0
        }
        metrics.registerGauge(MetricNames.ready, help: "1 when /readyz answers 200.") { [readiness] in
            readiness.isReady ? 1 : 0
        }
        metrics.registerGauge(MetricNames.dataLoops, help: "Data loops serving viewers.") { Double(count) }

        let started = Locked(0)
        let total = count + 1 + (edgeSocket == nil ? 0 : 1)
        let markStarted: @Sendable () -> Void = { [readiness] in
            let n = started.withLock { $0 += 1; return $0 }
            if n == total { readiness.set("listeners", ok: true) }
        }

        controlContext = HTTPLoopContext(loop: controlLoop)
        for i in 0..<count {
            startDataLoop(i, plane: plane, settings: settings, viewerSocket: viewerSockets[i], httpsSocket: httpsSockets.isEmpty ? nil : httpsSockets[i],
                          accessSink: accessSink, markStarted: markStarted)
        }
        let internalOptions = self.internalOptions
        let boundPeerSocket = peerSocket
        controlLoop.execute { [self] in
            let heartbeat = controlHeartbeat
            heartbeat.tick()
            startTimer(afterMs: Self.heartbeatIntervalMs, repeatMs: Self.heartbeatIntervalMs) { heartbeat.tick() }
            plane.heartbeat = heartbeat
            controlLoop.heartbeat = heartbeat
            plane.start(peerSocket: boundPeerSocket, peerTLS: tls?.publisher)
            if let mist = plane.mist {
                metrics.registerHistogram(MetricNames.mistPollDuration, help: "Time of each MistServer poll, by result.", labelName: "result", mist.durations)
            }
            if let resolver = plane.playbackResolver {
                metrics.registerHistogram(MetricNames.resolverLookupDuration, help: "Time of each request to the playback resolver, by outcome.", labelName: "outcome", resolver.durations)
            }
            if let peers = plane.peers {
                metrics.registerHistogram(MetricNames.peerQueryDuration, help: "Time from a viewer's miss to the peer query's outcome, by result.", labelName: "result", peers.queryDurations)
            }
            if let redis = stateStore as? RedisStateStore {
                let readiness = self.readiness
                redis.onAvailability = { ok in
                    // Still ready either way: routing goes on from memory; only admin writes wait for Redis.
                    readiness.set("state", ok: true, detail: ok ? "redis \(redis.location): connected (replica \(redis.replicaId))"
                                  : "redis \(redis.location): unreachable — routing from memory, admin writes answer 503 STATE_UNAVAILABLE")
                }
                // Not ready before listening to the other replicas: a report one of them fans
                // out before this replica subscribed would never reach it.
                readiness.set("replicas", ok: false, detail: "subscribing to the other replicas' channels")
                redis.onListening = {
                    readiness.set("replicas", ok: true, detail: "listening to the other replicas' reports, pending bandwidth and peer messages")
                }
                plane.connectReplicas(redis)
                redis.start(on: controlLoop)
                controlLoop.addShutdownHook { redis.shutdown() }
            }
            if let tls {
                tls.start(loop: controlLoop, intervalS: config.tlsCheckIntervalS, rotateS: config.tlsTicketRotateS)
                controlLoop.addShutdownHook { tls.stop() }
            }
            readiness.set("snapshot", ok: true, detail: "generation \(plane.publisher.generation)")
            // The verbose /readyz names the snapshot being served, not the first one.
            let readiness = self.readiness, publisher = plane.publisher
            readiness.setDetailSource("snapshot") { "generation \(publisher.generation)" }
            // Parsing a large static config leaves freed memory in malloc's arenas: give it back.
            ProcessMemory.releaseFree()
            controlLoop.addShutdownHook { plane.stop() }
            let router = makeInternalRouter()
            let listenerMetrics = ListenerMetrics(listenerName: "internal", routeNames: router.routeNames)
            metrics.register(listenerMetrics)
            do {
                let listener = try HTTPListener(socket: internalSocket, options: internalOptions, router: router, context: controlContext, metrics: listenerMetrics)
                listener.onAcceptError = { [acceptErrors, controlLoop] status in acceptErrors.record(listener: "internal", status: status, nowMs: controlLoop.nowMs) }
                markStarted()
            } catch {
                logger.critical("internal listener failed", metadata: ["error": "\(error)"])
            }
            if let edgeSocket { startEdgeListener(edgeSocket, markStarted: markStarted) }
            if installSignalHandlers { installSignals() }
        }
        controlLoop.start()
        reloader.start(plane: plane) { [unowned self] new in try takeOver(new) }
        startWatchdog(watchingTermination: installSignalHandlers)
        // Wait (bounded) until every listener is up.
        for _ in 0..<2000 where !readiness.isReady {
            usleep(1000)
        }
        guard readiness.isReady else {
            throw StartError(message: "listeners did not start within 2 s")
        }
        if httpsPort != 0 { logger.info("HTTPS listening", metadata: ["https": "\(HostPort.format(host: config.httpsListen.host, port: httpsPort))"]) }
        if edgePort != 0, let edge = config.edgeListen {
            logger.info("edge API listening", metadata: ["edge": "\(HostPort.format(host: edge.host, port: edgePort))", "tls": "\(tls != nil)"])
        }
        if peerPort != 0 { logger.info("peer listener up", metadata: ["peer": "\(HostPort.format(host: config.peerListen.host, port: peerPort))", "peers": "\(config.peers.count)"]) }
        logger.info("foghorn listening", metadata: [
            "viewer": "\(HostPort.format(host: config.httpListen.host, port: httpPort))",
            "internal": "\(HostPort.format(host: config.internalListen.host, port: internalPort))",
            "loops": "\(count)",
        ])
    }

    /// Raises the soft descriptor limit to the hard one (containers and shells often start with
    /// 1,024) and warns when even the hard limit is below what the connection caps allow.
    func checkOpenFileLimit(loops: Int) {
        guard let limits = ProcessLimits.raiseOpenFileLimit() else {
            logger.warning("could not read RLIMIT_NOFILE")
            return
        }
        if limits.now > limits.before {
            logger.info("raised the open-file limit", metadata: ["soft_before": "\(limits.before)", "soft": "\(limits.now)", "hard": "\(limits.hard)"])
        } else {
            logger.info("open-file limit", metadata: ["soft": "\(limits.now)", "hard": "\(limits.hard)"])
        }
        let needed = UInt64(loops) * UInt64(config.maxConnectionsPerLoop) + UInt64(config.maxConnectionsPerLoop) + 256
        if limits.now < needed {
            let warning = "RLIMIT_NOFILE is \(limits.now) (hard \(limits.hard)) but \(loops) loops × max_connections_per_loop \(config.maxConnectionsPerLoop) may need \(needed): beyond it connections are refused (foghorn_http_accept_errors_total); raise LimitNOFILE / ulimit -n or lower max_connections_per_loop"
            logger.warning("\(warning)")
            readiness.warn(warning)
        }
    }

    public struct StartError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    func makeViewerRouter(viewerLoop: ViewerLoop) -> HTTPRouter {
        let router = HTTPRouter()
        PlayHandler.register(on: router, loop: viewerLoop)
        OpsRoutes.registerLiveness(on: router, controlLoop: controlHeartbeat)
        // `/health` on the viewer port is the probe (as Foghorn's), never a stream named "health"
        // for the MistUtilLoad query below (which answered 200 with an edge's host).
        OpsRoutes.registerViewerHealth(on: router, controlLoop: controlHeartbeat)
        if config.mistCompatEnabled { MistCompatHandler.register(on: router, loop: viewerLoop, fallback: config.mistFallback) }
        return router
    }

    /// `http_redirect_to_https`: every plain-HTTP request → the same host and target over
    /// HTTPS (301/308 per config for GET/HEAD, 308 otherwise, so bodies are re-sent).
    func makeRedirectRouter() -> HTTPRouter {
        let router = HTTPRouter()
        let port = httpsPort
        let getStatus: HTTPStatus = config.httpRedirectStatus == 308 ? .permanentRedirect : .movedPermanently
        OpsRoutes.registerLiveness(on: router, controlLoop: controlHeartbeat)
        router.add("https_redirect", Set(HTTPMethod.allCases), "/*") { req, w in
            guard let hostField = req.header("host"), let host = HTTPSRedirect.hostWithoutPort(req.bytes(hostField)) else {
                return w.error(.badRequest, code: "MISSING_HOST", message: "a Host header is needed to redirect to HTTPS")
            }
            var location = "https://" + host + (port == 443 ? "" : ":\(port)") + req.pathString
            if req.head.hasQuery { location += "?" + req.string(req.head.query) }
            let status: HTTPStatus = req.method == .get || req.method == .head ? getStatus : .permanentRedirect
            w.head(status)
            w.header("Location", string: location)
            w.body(location, contentType: "text/plain; charset=utf-8")
        }
        return router
    }

    var edgeOptions: HTTPListenerOptions {
        HTTPListenerOptions(
            name: "edge",
            limits: HTTPLimits(
                maxRequestLineBytes: config.maxRequestLineBytes, maxHeaderBytes: config.maxHeaderBytes,
                maxHeaderCount: config.maxHeaders, maxBodyBytes: config.edgeAPI.maxBodyBytes),
            timeouts: timeouts,
            maxConnectionsPerLoop: config.edgeAPI.maxConnections,
            maxPipelinedRequests: config.maxPipelinedRequests)
    }

    /// The public edge API (`edge_listen`) on the control loop: enrolment, reports and `/livez`,
    /// over TLS with the HTTPS certificates (plain only with `edge_api.plaintext`).
    func startEdgeListener(_ socket: ListeningSocket, markStarted: @Sendable () -> Void) {
        let api = EdgeAPI(plane: plane)
        edgeAPI = api
        let router = HTTPRouter()
        OpsRoutes.registerLiveness(on: router, controlLoop: controlHeartbeat)
        api.register(on: router)
        let listenerMetrics = ListenerMetrics(listenerName: "edge", routeNames: router.routeNames)
        metrics.register(listenerMetrics)
        metrics.registerFamily(MetricNames.edgeAPIRateLimited, help: "Edge API requests refused 429 by each rate limit.", label: "limit",
                               values: ["address", "credential"]) { i in i == 0 ? api.limitedByAddress : api.limitedByCredential }
        do {
            let listener = try HTTPListener(socket: socket, options: edgeOptions, router: router, context: controlContext, metrics: listenerMetrics)
            listener.onAcceptError = { [acceptErrors, controlLoop] status in acceptErrors.record(listener: "edge", status: status, nowMs: controlLoop.nowMs) }
            if let tls {
                listener.tls = TLSContextReader(tls.publisher)
                listener.tlsHandshakeTimeoutMs = UInt64(config.tlsHandshakeTimeoutMs)
                tlsCounterSets.append(listener.tlsCounters)
            }
            markStarted()
        } catch {
            logger.critical("edge listener failed", metadata: ["error": "\(error)"])
        }
    }

    func makeInternalRouter() -> HTTPRouter {
        let router = HTTPRouter()
        OpsRoutes.register(on: router, readiness: readiness, metrics: metrics, version: FoghornVersion.string, controlLoop: controlHeartbeat)
        InternalAPI.register(on: router, plane: plane)
        registerReload(on: router)
        InternalAPI.gate(router, plane: plane)
        return router
    }


    // MARK: Lifecycle

    /// Starts the watchdog thread (see ``ControlLoopWatchdog``).
    func startWatchdog(watchingTermination: Bool) {
        let loop = controlLoop, publisher = plane.publisher, sink = logSink
        let describe: @Sendable () -> Logger.Metadata = { ["mailbox_jobs": "\(loop.pendingJobs)", "generation": "\(publisher.generation)"] }
        let signalTime: @Sendable () -> UInt64 = { foghorn_termination_requested_ns() }
        let termination = watchingTermination ? signalTime : nil
        let exitProcess: @Sendable (Int32) -> Void = { code in
            sink?.stop()  // the writer thread is not the stuck loop: flush what is queued
            foghorn_exit_now(code)
        }
        let dog = ControlLoopWatchdog(heartbeat: controlHeartbeat, stallAfterMs: UInt64(config.controlStallAfterMs),
                                      hardStopAfterMs: UInt64(config.hardStopAfterMs), logger: logger, describe: describe,
                                      terminationRequestedNs: termination, exitProcess: exitProcess)
        watchdog = dog
        metrics.registerGauge(MetricNames.controlLoopStalls, help: "Times the control loop was silent for longer than control_stall_after_ms.", type: "counter") {
            Double(dog.stalls)
        }
        dog.start()
    }

    func installSignals() {
        let watcher = SignalWatcher(loop: controlLoop, signals: [SIGTERM, SIGINT, SIGHUP]) { [unowned self] signum in onSignal(signum) }
        // libuv's handler only wakes this loop; the watchdog must see a SIGTERM even when the
        // loop is stuck, to keep hard_stop_after_ms.
        if !watcher.noteTerminationForWatchdog() {
            logger.warning("could not watch SIGTERM for the watchdog; a stalled control loop will not exit on SIGTERM")
        }
        signals = watcher
    }

    func onSignal(_ signum: Int32) {
        if signum == SIGHUP {
            reload()
            return
        }
        logger.notice("signal received, shutting down", metadata: ["signal": "\(signum == SIGTERM ? "SIGTERM" : "SIGINT")"])
        beginShutdownOnControlLoop()
    }

    /// What SIGHUP does (``ConfigReloader``): re-read the configuration off the control loop,
    /// then take over every live key atomically; an invalid configuration changes nothing.
    public func reload() { reloader.reload() }

    /// Requests a reload from any thread, as SIGHUP does (tests, embedding code).
    public func requestReload() { reloader.request() }

    /// Takes over a re-read configuration (on the control loop, from ``ConfigReloader``): the
    /// control plane's state, the live settings, the certificates. Returns the restart-only keys
    /// that changed.
    func takeOver(_ new: FoghornConfiguration) throws -> [String] {
        let restart = try plane.reload(new)
        applyLiveSettings(plane.config)
        if let tls { tls.reload(new.tlsCertificates.isEmpty ? tls.pairs : new.tlsCertificates, reason: "SIGHUP") }
        reloadEdgeCertificate(new.tlsEdgeCertificate)
        readiness.set("geoip", ok: true, detail: plane.config.geoipDb)
        return restart
    }

    /// `POST /-/reload` (admin token): what SIGHUP does, answered with the outcome once the
    /// configuration was read and applied — 200 `{applied: true, restart_required, read_ms,
    /// apply_ms}`, or 422 `RELOAD_REFUSED` with the problem (the running configuration stays).
    func registerReload(on router: HTTPRouter) {
        let reloader = self.reloader, plane = self.plane!
        router.add("reload", [.post], OpsPaths.reload) { req, w in
            guard InternalAPI.requireAdminToken(req, &w, plane) else { return }
            w.park = HTTPParkRequest(timeoutMs: 120_000, onTimeout: { w in
                w.error(.serviceUnavailable, code: "RELOAD_TIMEOUT", message: "the reload did not finish within 120 s; it may still apply (see the log)")
            }, register: { handle in
                reloader.reload { outcome in
                    handle.answer { w in
                        guard outcome.applied else {
                            return w.error(.unprocessableContent, code: "RELOAD_REFUSED", message: "the running configuration stays: \(outcome.error)")
                        }
                        var j = JSONWriter()
                        j.objectStart()
                        j.field("applied", true)
                        j.key("restart_required"); j.arrayStart(); for k in outcome.restartKeys { j.string(k) }; j.arrayEnd()
                        j.field("read_ms", outcome.readMs)
                        j.field("apply_ms", outcome.applyMs)
                        j.field("generation", Int64(plane.publisher.generation))
                        j.objectEnd()
                        w.json(.ok, j)
                    }
                }
            })
        }
    }

    /// `tls.edge_certificate` re-read (SIGHUP): a file that does not load keeps the previous one.
    func reloadEdgeCertificate(_ pair: TLSFilePair?) {
        guard let pair else {
            plane.edgeCertificate = nil
            return
        }
        do {
            plane.edgeCertificate = try EdgeCertificate.load(pair)
        } catch {
            logger.error("tls.edge_certificate did not load; enrolment keeps handing out the previous one", metadata: ["error": "\(error)"])
        }
    }

    /// Hands a reloaded configuration's live keys (``ConfigKeys/reloadClasses``) to the loops:
    /// each viewer loop's settings (`sticky_band`, `redirect_status`, `url_stream_name`) and every
    /// listener's timeouts, connection cap and pipelining limit, each on its own loop; SIGTERM
    /// reads `shutdown_delay_ms` from `config`. Restart-only keys keep their running values
    /// (``ControlPlane/takeOver(_:running:)``). On the control loop.
    func applyLiveSettings(_ running: FoghornConfiguration) {
        config = running
        let viewer = viewerOptions, internalListener = internalOptions
        let redirect: HTTPStatus = running.redirectStatus == 302 ? .found : .temporaryRedirect
        let internalName = running.urlStreamName == "internal", sticky = UInt64(running.stickyBand)
        let scheme = EdgeScheme(rawValue: running.edgeScheme) ?? .template
        let logIP = LogClientIP(rawValue: running.logClientIp) ?? .full, logQuery = running.logQuery
        for (i, loop) in dataLoops.enumerated() {
            let viewerLoop = viewerLoops[i], context = dataContexts[i]
            loop.execute {
                viewerLoop.settings.redirectStatus = redirect
                viewerLoop.settings.useInternalStreamName = internalName
                viewerLoop.settings.stickyBand = sticky
                viewerLoop.settings.edgeScheme = scheme
                viewerLoop.settings.logClientIP = logIP
                viewerLoop.settings.logQuery = logQuery
                context.retune(listenersNamed: viewer.name, viewer)
            }
        }
        controlContext.retune(listenersNamed: internalListener.name, internalListener)
        controlContext.retune(listenersNamed: edgeOptions.name, edgeOptions)
    }
}
