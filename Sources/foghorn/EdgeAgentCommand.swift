import ArgumentParser
import FoghornAgent
import FoghornOps
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `foghorn edge-agent`: the edge side (docs/EDGES.md).
struct EdgeAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge-agent",
        abstract: "Run beside MistServer on an edge: enrol once, then report its load and streams to Foghorn.",
        discussion: """
            First start: --enrollment-token enrols the edge and writes its credential to --state-file (mode 0600); \
            later starts need only the state file. Exit status: 0 stopped (SIGTERM/SIGINT, or --once reported), \
            1 --once could not report, 78 a person must act (token refused, credential revoked, unusable state file).
            """)

    @Option(name: .customLong("foghorn"), help: ArgumentHelp("Foghorn's edge API (repeatable: replicas; the first that answers takes the report).", valueName: "https://host[:port]"))
    var foghorn: [String] = []

    @Option(name: .long, help: ArgumentHelp("Enrolment token (first start only; a different token enrols again).", valueName: "TOKEN"))
    var enrollmentToken: String?

    @Option(name: .long, help: ArgumentHelp("Read the enrolment token from this file instead (keeps it out of ps; may be deleted once enrolled).", valueName: "PATH"))
    var enrollmentTokenFile: String?

    @Option(name: .long, help: ArgumentHelp("Where the edge's credential is kept (mode 0600).", valueName: "PATH"))
    var stateFile = "/var/lib/foghorn-edge-agent/state.json"

    @Option(name: .long, help: ArgumentHelp("CA bundle (PEM) that signed Foghorn's certificate (default: the system store).", valueName: "PEM"))
    var caFile: String?

    @Option(name: .long, help: ArgumentHelp("The local MistServer.", valueName: "http://host:port"))
    var mistUrl = "http://127.0.0.1:4242"

    @Option(name: .long, help: ArgumentHelp("Passphrase of MistServer's /<passphrase>.json.", valueName: "TEXT"))
    var mistPassphrase = "koekjes"

    @Option(name: .long, help: ArgumentHelp("Public URL viewers are sent to (default: https://<assigned domain>/).", valueName: "URL"))
    var baseUrl: String?

    @Option(name: .long, help: ArgumentHelp("This edge's public address (default: the address Foghorn sees).", valueName: "IP"))
    var publicIp: String?

    @Option(name: .long, help: ArgumentHelp("Uplink capacity in Mbit/s (default: MistServer's bwlimit, else 1000).", valueName: "MBPS"))
    var bwLimitMbps: UInt64?

    @Option(name: .long, help: "Latitude (default: MistServer's loc).")
    var lat: Double?

    @Option(name: .long, help: "Longitude (default: MistServer's loc).")
    var lon: Double?

    @Option(name: .long, help: "Location name (default: MistServer's loc).")
    var location: String?

    @Option(name: .long, help: ArgumentHelp("Report every N seconds (default: what enrolment said).", valueName: "N"))
    var intervalS: Int?

    @Option(name: .long, help: ArgumentHelp("Count only this network interface (default: all but lo).", valueName: "NAME"))
    var netInterface: String?

    @Option(name: .long, help: ArgumentHelp("Deadline of one request to Foghorn or MistServer.", valueName: "MS"))
    var timeoutMs: UInt64 = 5000

    @Option(name: .long, help: ArgumentHelp("Where /proc is.", valueName: "PATH"))
    var procRoot = "/proc"

    @Flag(name: .long, help: "Enrol if needed, report once, exit (0 when the report was taken).")
    var once = false

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        guard !foghorn.isEmpty else { throw ValidationError("--foghorn is required (Foghorn's edge API URL, e.g. https://foghorn.eu.example.net:18444)") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: one of trace, debug, info, notice, warning, error, critical") }
        if let i = intervalS, !(1...300).contains(i) { throw ValidationError("--interval-s: 1...300") }
        if let m = bwLimitMbps, !(1...10_000_000).contains(m) { throw ValidationError("--bw-limit-mbps: 1...10000000") }
        if enrollmentToken != nil && enrollmentTokenFile != nil { throw ValidationError("give --enrollment-token or --enrollment-token-file, not both") }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let sink = LogSink(fd: 2)
        sink.start()
        defer { sink.stop() }
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level, queue: sink.shared) }
        let logger = Logger(label: "foghorn-edge-agent")
        var options = EdgeAgent.Options()
        options.foghornURLs = foghorn
        options.enrollmentToken = enrollmentToken
        // A token file that is gone is fine once enrolled (the state file has the credential).
        if let path = enrollmentTokenFile, access(path, F_OK) == 0 {
            do {
                options.enrollmentToken = try ProcessIO.readFile(path).split(whereSeparator: \.isWhitespace).first.map(String.init)
            } catch {
                logger.critical("cannot read --enrollment-token-file \(path): \(error.description)")
                sink.stop()
                throw ExitCode(EdgeAgent.Outcome.needsOperator.rawValue)
            }
        }
        options.stateFile = stateFile
        options.caFile = caFile
        options.mistURL = mistUrl
        options.mistPassphrase = mistPassphrase
        options.baseURL = baseUrl
        options.publicIP = publicIp
        options.bwLimitBytesPerSec = bwLimitMbps.map { $0 * 125_000 }
        options.lat = lat
        options.lon = lon
        options.location = location
        options.intervalS = intervalS
        options.netInterface = netInterface
        options.timeoutMs = timeoutMs
        options.procRoot = procRoot
        options.once = once
        let outcome: EdgeAgent.Outcome
        do {
            outcome = try EdgeAgent(options: options, logger: logger).run()
        } catch {
            logger.critical("\(error.description)")
            sink.stop()
            throw ExitCode(EdgeAgent.Outcome.needsOperator.rawValue)
        }
        sink.stop()
        if outcome != .stopped { throw ExitCode(outcome.rawValue) }
    }
}
