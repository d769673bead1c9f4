public import FoghornHTTP
import FoghornJSON
import FoghornModel
public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `foghorn edge-agent`: runs beside MistServer on a self-hosted edge. Enrols once with an
/// enrolment token (the credential goes to the state file), then every `report_interval_s`
/// samples the local MistServer and the host's `/proc` and reports to Foghorn — failing over
/// between the given Foghorn URLs, backing off with jitter when none answers, and telling the
/// operator in one log line whenever something changes (enrolled, routable, out of routing and
/// why, credential refused, MistServer unreachable). Everything runs on one event loop.
public final class EdgeAgent: @unchecked Sendable {  // its loop's thread only, once run() starts it
    public struct Options: Sendable {
        /// Foghorn edge API base URLs (`https://foghorn.eu.example.net:18444`); replicas or one name.
        public var foghornURLs: [String] = []
        public var enrollmentToken: String?
        public var stateFile = "/var/lib/foghorn-edge-agent/state.json"
        /// CA bundle to verify Foghorn's certificate (nil: the system store).
        public var caFile: String?
        /// The local MistServer's base URL and the passphrase of its `/<passphrase>.json`.
        public var mistURL = "http://127.0.0.1:4242"
        public var mistPassphrase = "koekjes"
        /// Overrides (nil: enrolment's / MistServer's / the host's).
        public var baseURL: String?
        public var publicIP: String?
        public var bwLimitBytesPerSec: UInt64?
        public var lat: Double?
        public var lon: Double?
        public var location: String?
        public var intervalS: Int?
        public var netInterface: String?
        /// Where `/proc` is (tests point it at fixtures).
        public var procRoot = "/proc"
        /// One enrolment (if needed) and one report, then exit: 0 when the report was taken.
        public var once = false
        public var timeoutMs: UInt64 = 5000
        public init() {}
    }

    /// How the agent ended (the command's exit status).
    public enum Outcome: Int32, Sendable {
        case stopped = 0
        /// `--once`: no Foghorn took the report (or enrolment) in time.
        case failed = 1
        /// Enrolment refused for good (spent, revoked, forged or expired token), credential
        /// refused under `--once`, or the state file is unusable: a person must act.
        case needsOperator = 78
    }

    struct Endpoint {
        var origin: HTTPClientPool.Origin
        var basePath: String
        var text: String
    }

    let options: Options
    let logger: Logger
    let loop: EventLoop
    let pool: HTTPClientPool
    let endpoints: [Endpoint]
    var state: AgentState?
    var builder = EdgeReportBuilder()
    var previous: EdgeReportBuilder.Sample?
    var current = 0
    var failures = 0
    var timer: LoopTimer?
    var signals: SignalWatcher?
    var outcome: Outcome = .stopped
    var stopping = false
    /// Last state logged (a line per change, not per report).
    var lastStatus = ""
    var lastMistStatus = ""
    var reportsSent: UInt64 = 0

    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(options: Options, logger: Logger) throws(SetupError) {
        self.options = options
        self.logger = logger
        var endpoints: [Endpoint] = []
        for text in options.foghornURLs {
            guard let a = ResolverAddress.parse(text) else {
                throw SetupError(description: "--foghorn \(text): expected https://host[:port] (Foghorn's edge API)")
            }
            endpoints.append(Endpoint(origin: .init(host: a.host, port: a.port, tls: a.tls), basePath: a.basePath, text: text))
        }
        guard !endpoints.isEmpty else { throw SetupError(description: "at least one --foghorn URL is needed") }
        guard ResolverAddress.parse(options.mistURL).map({ !$0.tls }) == true else {
            throw SetupError(description: "--mist-url \(options.mistURL): expected http://host[:port] (the local MistServer)")
        }
        if let ca = options.caFile, access(ca, R_OK) != 0 {
            throw SetupError(description: "--ca-file \(ca): \(String(cString: strerror(errno)))")
        }
        self.endpoints = endpoints
        loop = EventLoop(name: "edge-agent")
        pool = HTTPClientPool(loop: loop)
        pool.caFile = options.caFile
        pool.maxIdlePerOrigin = 2
        builder.bwLimitBytesPerSec = options.bwLimitBytesPerSec
        builder.baseURL = options.baseURL
        builder.lat = options.lat
        builder.lon = options.lon
        builder.location = options.location
    }

    /// Runs until SIGTERM/SIGINT (or, with `--once`, one report); returns the exit status.
    public func run() -> Outcome {
        do {
            state = try AgentState.load(options.stateFile)
        } catch {
            logger.critical("\(error.description)")
            return .needsOperator
        }
        if let s = state, let token = options.enrollmentToken, let id = AgentState.tokenId(token), id != s.enrolledWithToken {
            logger.notice("a new enrolment token was given: enrolling again", metadata: ["old_node_id": "\(s.nodeId)"])
            state = nil
        }
        if state == nil && options.enrollmentToken == nil {
            logger.critical("not enrolled yet: pass --enrollment-token (from POST /v1/enrollment-tokens) once", metadata: ["state_file": "\(options.stateFile)"])
            return .needsOperator
        }
        if options.bwLimitBytesPerSec == nil {
            logger.info("no --bw-limit-mbps: using MistServer's bwlimit, else 1 Gbit/s (128 MiB/s)")
        }
        // A parent may have spawned us with these blocked (a blocked mask survives exec).
        var set = sigset_t()
        sigemptyset(&set)
        for signum in [SIGTERM, SIGINT] { sigaddset(&set, signum) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        loop.execute { [self] in
            signals = SignalWatcher(loop: loop, signals: [SIGTERM, SIGINT]) { [unowned self] signum in
                logger.notice("signal received, stopping", metadata: ["signal": "\(signum == SIGTERM ? "SIGTERM" : "SIGINT")"])
                stop(.stopped)
            }
            timer = LoopTimer(loop: loop) { [unowned self] in step() }
            step()
        }
        loop.runOnCurrentThread()
        return outcome
    }

    func stop(_ result: Outcome) {
        guard !stopping else { return }
        stopping = true
        outcome = result
        timer?.close()
        signals?.close()
        // Not now: a connection that just answered goes back to the pool after this callback.
        loop.addShutdownHook { [pool] in pool.closeAll() }
        loop.stop()
    }

    /// One step: enrol if needed, else sample and report.
    func step() {
        guard !stopping else { return }
        if state == nil { enroll(attempt: 0) } else { sampleAndReport() }
    }

    func schedule(afterMs ms: UInt64) {
        guard !stopping else { return }
        timer?.start(afterMs: max(ms, 1))
    }

    var intervalMs: UInt64 { UInt64(max(1, options.intervalS ?? state?.reportIntervalS ?? 5)) * 1000 }

    /// Backoff after `failures` failed rounds: 1 s doubling to the report interval (at most
    /// 60 s), ±20 % jitter so a fleet that lost Foghorn together does not come back together.
    func backoffMs() -> UInt64 {
        let cap = max(intervalMs, 60_000)
        let base = min(cap, UInt64(1000) << UInt64(min(failures, 16)))
        let jitter = Double.random(in: 0.8...1.2)
        return UInt64(Double(base) * jitter)
    }

    // MARK: Enrolment

    func enroll(attempt: Int) {
        guard let token = options.enrollmentToken else { return stop(.needsOperator) }
        var body: [(key: String, value: JSONValue)] = [(key: "enrollment_token", value: .string(token))]
        if let ip = options.publicIP { body.append((key: "public_ip", value: .string(ip))) }
        if let url = options.baseURL { body.append((key: "base_url", value: .string(url))) }
        if let lat = options.lat, let lon = options.lon {
            body.append((key: "lat", value: .double(lat)))
            body.append((key: "lon", value: .double(lon)))
        }
        if let location = options.location { body.append((key: "location", value: .string(location))) }
        let endpoint = endpoints[current]
        var requestOptions = HTTPClientPool.Options()
        requestOptions.timeoutMs = options.timeoutMs
        pool.request(endpoint.origin, method: "POST", path: endpoint.basePath + "/v1/edges/enroll", body: Array(JSONValue.object(body).jsonText.utf8),
                     retryOnStale: false, options: requestOptions) { [self] result in
            switch result {
            case .success(let r) where r.status == 201:
                enrolled(r, token: token)
            case .success(let r) where r.status == 429 || r.status >= 500:
                logger.warning("enrolment: Foghorn is busy or failing; trying again", metadata: ["foghorn": "\(endpoint.text)", "status": "\(r.status)", "error": "\(Self.errorText(r))"])
                enrollFailed(attempt: attempt)
            case .success(let r):
                // A definitive answer: a spent, revoked, expired or forged token, or a bad field.
                logger.critical("enrolment refused: \(Self.errorText(r)). Ask for a new enrolment token (POST /v1/enrollment-tokens) and start the agent with it.",
                                metadata: ["foghorn": "\(endpoint.text)", "status": "\(r.status)"])
                stop(.needsOperator)
            case .failure(let e):
                logger.warning("enrolment: cannot reach Foghorn", metadata: ["foghorn": "\(endpoint.text)", "error": "\(e.description)"])
                enrollFailed(attempt: attempt)
            }
        }
    }

    func enrollFailed(attempt: Int) {
        current = (current + 1) % endpoints.count
        // Every URL tried once this round: back off (or give up with --once).
        if (attempt + 1) % endpoints.count == 0 {
            if options.once { return stop(.failed) }
            failures += 1
            return schedule(afterMs: backoffMs())
        }
        enroll(attempt: attempt + 1)
    }

    func enrolled(_ r: HTTPFetchResponse, token: String) {
        guard let v = try? JSONParser.parse(r.body), let node = v["node_id"]?.stringValue, let credential = v["edge_token"]?.stringValue,
              StaticNodeID.isValid(node) else {
            logger.critical("enrolment answered 201 without node_id and edge_token: is --foghorn Foghorn's edge API?")
            return stop(.needsOperator)
        }
        let s = AgentState(
            nodeId: node, edgeToken: credential, domain: v["domain"]?.stringValue ?? "", clusterId: v["cluster_id"]?.stringValue ?? "",
            baseURL: v["base_url"]?.stringValue ?? "", reportURL: v["report_url"]?.stringValue ?? "",
            reportIntervalS: Int(min(max(v["report_interval_s"]?.intValue ?? 5, 1), 300)),
            enrolledWithToken: AgentState.tokenId(token) ?? "", enrolledAtUnix: Int64(time(nil)))
        do {
            try s.save(options.stateFile)
            if let tls = v["tls"], let cert = tls["certificate_pem"]?.stringValue, let key = tls["private_key_pem"]?.stringValue {
                let dir = AgentFiles.directory(of: options.stateFile)
                try AgentFiles.writeAtomically(dir + "/edge-cert.pem", Array(cert.utf8), mode: 0o644)
                try AgentFiles.writeAtomically(dir + "/edge-key.pem", Array(key.utf8), mode: 0o600)
                logger.info("wrote the edge's TLS certificate for its domain", metadata: ["cert": "\(dir)/edge-cert.pem", "key": "\(dir)/edge-key.pem"])
            }
        } catch {
            // The token's use is spent: say what to keep so the operator can recover it.
            logger.critical("enrolled as \(node) but cannot write the state file: \(error.description)", metadata: ["node_id": "\(node)"])
            return stop(.needsOperator)
        }
        state = s
        failures = 0
        logger.info("enrolled", metadata: ["node_id": "\(node)", "domain": "\(s.domain)", "base_url": "\(s.baseURL)",
                                           "report_interval_s": "\(s.reportIntervalS)", "state_file": "\(options.stateFile)"])
        sampleAndReport()
    }

    // MARK: Reports

    func sampleAndReport() {
        guard let mist = ResolverAddress.parse(options.mistURL) else { return }
        var fetchOptions = HTTPFetch.Options()
        fetchOptions.connectTimeoutMs = min(options.timeoutMs, 2000)
        fetchOptions.totalTimeoutMs = min(options.timeoutMs, 4000)
        fetchOptions.maxResponseBytes = 32 << 20
        HTTPFetch.get(on: loop, host: mist.host, port: mist.port, path: mist.basePath + "/" + options.mistPassphrase + ".json", options: fetchOptions) { [self] result in
            var sample: MistSample?
            var problem = ""
            switch result {
            case .success(let r) where r.status == 200:
                do {
                    sample = try MistSample.parse(try JSONParser.parse(r.body))
                } catch {
                    problem = "MistServer's document did not parse (\(error)): is --mist-passphrase right?"
                }
            case .success(let r): problem = "MistServer answered \(r.status): is --mist-passphrase right?"
            case .failure(let e): problem = "MistServer unreachable at \(options.mistURL): \(e.description)"
            }
            noteMist(problem)
            let host = HostSample.parse(stat: AgentFiles.text(options.procRoot + "/stat"), meminfo: AgentFiles.text(options.procRoot + "/meminfo"),
                                        netDev: AgentFiles.text(options.procRoot + "/net/dev"), interface: options.netInterface)
            let now = EdgeReportBuilder.Sample(mist: sample, host: host, atMs: loop.nowMs)
            let body = builder.build(now, previous: previous, mistDown: sample == nil)
            previous = now
            send(Array(body.jsonText.utf8), attempt: 0)
        }
    }

    func noteMist(_ problem: String) {
        guard problem != lastMistStatus else { return }
        if problem.isEmpty {
            logger.info("MistServer answers", metadata: ["mist": "\(options.mistURL)"])
        } else {
            logger.warning("\(problem); reporting no streams until it answers")
        }
        lastMistStatus = problem
    }

    func send(_ body: [UInt8], attempt: Int) {
        guard let s = state else { return }
        let endpoint = endpoints[current]
        var requestOptions = HTTPClientPool.Options()
        requestOptions.timeoutMs = options.timeoutMs
        logger.debug("report", metadata: ["foghorn": "\(endpoint.text)", "body": "\(String(decoding: body, as: UTF8.self))"])
        pool.request(endpoint.origin, method: "POST", path: endpoint.basePath + "/v1/edges/" + s.nodeId + "/report",
                     headers: [("Authorization", "Bearer " + s.edgeToken)], body: body, options: requestOptions) { [self] result in
            switch result {
            case .success(let r) where r.status == 200 || r.status == 204:
                reportsSent += 1
                failures = 0
                noteAnswer(r, endpoint: endpoint)
                if options.once { return stop(.stopped) }
                schedule(afterMs: intervalMs)
            case .success(let r) where r.status == 401 || r.status == 404:
                status("refused", level: .error,
                       "Foghorn refused this edge's credential (\(r.status) \(Self.errorCode(r))): the edge was removed (DELETE /v1/edges/\(s.nodeId)) or the cluster's secret changed. Enrol again: start the agent with a new --enrollment-token.",
                       ["foghorn": "\(endpoint.text)", "node_id": "\(s.nodeId)"])
                if options.once { return stop(.needsOperator) }
                failures += 1
                schedule(afterMs: max(backoffMs(), intervalMs))
            case .success(let r) where r.status == 400:
                status("invalid:" + Self.errorText(r), level: .error, "Foghorn refused the report: \(Self.errorText(r))", ["foghorn": "\(endpoint.text)"])
                if options.once { return stop(.failed) }
                schedule(afterMs: intervalMs)
            case .success(let r) where r.status == 429:
                let retry = r.headers.first { $0.name.lowercased() == "retry-after" }.flatMap { UInt64($0.value) } ?? 1
                status("rate_limited", level: .warning, "Foghorn rate-limits this edge's reports", ["foghorn": "\(endpoint.text)", "retry_after_s": "\(retry)"])
                if options.once { return stop(.failed) }
                schedule(afterMs: max(retry * 1000, intervalMs))
            case .success(let r):
                reportFailed(body, attempt: attempt, endpoint: endpoint, "answered \(r.status): \(Self.errorText(r))")
            case .failure(let e):
                reportFailed(body, attempt: attempt, endpoint: endpoint, e.description)
            }
        }
    }

    /// No answer (or a 5xx) from one URL: the next one now; after all of them, back off.
    func reportFailed(_ body: [UInt8], attempt: Int, endpoint: Endpoint, _ detail: String) {
        logger.debug("report failed", metadata: ["foghorn": "\(endpoint.text)", "error": "\(detail)"])
        current = (current + 1) % endpoints.count
        if attempt + 1 < endpoints.count { return send(body, attempt: attempt + 1) }
        status("unreachable", level: .warning, "no Foghorn took the report: \(detail); retrying with backoff", ["foghorn": "\(endpoint.text)"])
        if options.once { return stop(.failed) }
        failures += 1
        schedule(afterMs: backoffMs())
    }

    /// Logs the edge's routing state when it changes: routable, or what keeps it out.
    func noteAnswer(_ r: HTTPFetchResponse, endpoint: Endpoint) {
        let v = try? JSONParser.parse(r.body)
        let warnings = v?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let notes = v?["notes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let state = v?["state"]?.stringValue ?? "reported"
        // Foghorn's interval wins over the one enrolment gave (an operator changed edge_api), unless a flag set it.
        if let i = v?["report_interval_s"]?.intValue, (1...300).contains(i), Int(i) != self.state?.reportIntervalS {
            logger.info("report interval changed", metadata: ["report_interval_s": "\(i)"])
            self.state?.reportIntervalS = Int(i)
        }
        if warnings.isEmpty {
            status("ok:" + state + notes.joined(), level: .info, "reporting; edge is \(state)",
                   ["foghorn": "\(endpoint.text)", "notes": "\(notes.joined(separator: "; "))"])
        } else {
            status("out:" + warnings.joined(), level: .warning, "reporting, but the edge is out of routing: \(warnings.joined(separator: "; "))",
                   ["foghorn": "\(endpoint.text)", "state": "\(state)"])
        }
    }

    /// Logs `message` when `key` differs from the last status logged.
    func status(_ key: String, level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
        guard key != lastStatus else { return }
        lastStatus = key
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    static func errorCode(_ r: HTTPFetchResponse) -> String {
        (try? JSONParser.parse(r.body))?["code"]?.stringValue ?? ""
    }

    /// `CODE: message` from a Foghorn error body (or the start of whatever else came back).
    static func errorText(_ r: HTTPFetchResponse) -> String {
        if let v = try? JSONParser.parse(r.body), let code = v["code"]?.stringValue {
            return code + ": " + (v["message"]?.stringValue ?? "")
        }
        return String(decoding: r.body.prefix(200), as: UTF8.self).filter { $0.isASCII && !$0.isNewline }
    }
}

/// Node IDs Foghorn hands out (12 lowercase hex digits) or configures (letters, digits, `-_.`).
enum StaticNodeID {
    static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 }
    }
}
