import ArgumentParser
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornOps
import FoghornModel
import Logging

struct FoghornCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "foghorn",
        abstract: "Routes live-video viewers to the best edge.",
        version: "foghorn \(FoghornVersion.full)",
        subcommands: [Serve.self, CheckConfig.self, EdgeAgentCommand.self, Version.self],
        defaultSubcommand: Serve.self
    )
}

/// Options shared by `serve` and `check-config`: the file and the flags that override it.
struct ConfigOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "Config file (.yaml, .yml or .json). Keys: docs/OPERATIONS.md.")
    var config: String?

    @Option(name: .long, help: "Viewer listener HOST:PORT (default 0.0.0.0:18008).")
    var httpListen: String?

    @Option(name: .long, help: "Internal listener HOST:PORT for ops, admin and the edge API (default 127.0.0.1:18009).")
    var internalListen: String?

    @Option(name: .long, help: "Data loops (threads serving viewers); 0 = one per core.")
    var loops: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .long, help: "JSON access log of viewer requests: on or off.")
    var accessLog: String?

    @Option(name: .long, help: "Admin bearer token for the internal listener (none: every mutation is refused).")
    var internalToken: String?

    @Option(name: .long, help: "Comma-separated CIDRs whose forwarding headers are trusted.")
    var trustedProxies: String?

    @Option(name: .long, help: "MaxMind-format City database (.mmdb) for viewer positions.")
    var geoipDb: String?

    @Option(name: .long, help: ArgumentHelp("Durable state file (SQLite; :memory: keeps none across restarts).", valueName: "PATH"))
    var statePath: String?

    @Option(name: .long, help: "This cluster's ID.")
    var clusterId: String?

    @Option(name: .long, help: "This cluster's DNS label (edge-<node>.<slug>.<root-domain>).")
    var clusterSlug: String?

    @Option(name: .long, help: "Root DNS domain of edge names.")
    var rootDomain: String?

    @Option(name: .long, help: "HMAC key for enrollment tokens and edge credentials.")
    var clusterSecret: String?

    @Option(name: .long, help: ArgumentHelp("Upstream playback resolver: unknown IDs → GET <url>/v1/playback/<id>.", valueName: "http(s)://host[:port][/base]"))
    var resolverUrl: String?

    @Option(name: .long, help: ArgumentHelp("HTTPS viewer listener (needs --tls-cert/--tls-key; default 0.0.0.0:18443).", valueName: "HOST:PORT"))
    var httpsListen: String?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Certificate chain PEM (repeatable; pairs with --tls-key in order).", valueName: "PEM"))
    var tlsCerts: [String] = []

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("Private key PEM (repeatable; pairs with --tls-cert in order).", valueName: "PEM"))
    var tlsKeys: [String] = []

    @Flag(name: .long, help: "Redirect every plain-HTTP request to HTTPS.")
    var httpRedirectToHttps = false

    @Option(name: .long, help: ArgumentHelp("Public edge API listener: enrolment and reports over TLS (needs --tls-cert/--tls-key).", valueName: "HOST:PORT"))
    var edgeListen: String?

    @Option(name: .long, help: ArgumentHelp("Peer listener for PeerChannels (bound only when peers are configured; default 0.0.0.0:18019).", valueName: "HOST:PORT"))
    var peerListen: String?

    @Option(name: .customLong("mist-node"), help: ArgumentHelp("A MistServer node to poll (repeatable).", valueName: "host[:port][/MiB]"))
    var mistNodes: [String] = []

    @Option(name: .customLong("set"), help: ArgumentHelp("Override any config key.", valueName: "key=value"))
    var set: [String] = []

    /// `names`: the table to intern stream names in (a reload passes the running one; nil: a new table).
    func load(names: StreamNameTable? = nil) throws(ConfigError) -> FoghornConfiguration {
        var text: String?
        var fileName = "config"
        if let path = config {
            fileName = path
            do {
                text = try ProcessIO.readFile(path)
            } catch {
                throw ConfigError(key: "file", problem: "cannot read \(path): \(error.description)", source: "--config")
            }
        }
        var overrides: [(key: String, value: String)] = []
        for item in set {
            guard let eq = item.firstIndex(of: "=") else {
                throw ConfigError(key: item, problem: "expected key=value", source: "flag --set")
            }
            overrides.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
        }
        // Where each override came from, for errors: `--set key` above, the key's own flag below.
        var sources = overrides.map { "--set \($0.key)" }
        if let v = httpListen { overrides.append(("http_listen", v)) }
        if let v = internalListen { overrides.append(("internal_listen", v)) }
        if let v = loops { overrides.append(("loops", v)) }
        if let v = logLevel { overrides.append(("log_level", v)) }
        if let v = accessLog { overrides.append(("access_log", v)) }
        if let v = internalToken { overrides.append(("internal_token", v)) }
        if let v = trustedProxies { overrides.append(("trusted_proxies", v)) }
        if let v = geoipDb { overrides.append(("geoip_db", v)) }
        if let v = statePath { overrides.append(("state_path", v)) }
        if let v = clusterId { overrides.append(("cluster_id", v)) }
        if let v = clusterSlug { overrides.append(("cluster_slug", v)) }
        if let v = rootDomain { overrides.append(("root_domain", v)) }
        if let v = clusterSecret { overrides.append(("cluster_secret", v)) }
        if let v = peerListen { overrides.append(("peer_listen", v)) }
        if let v = httpsListen { overrides.append(("https_listen", v)) }
        if let v = edgeListen { overrides.append(("edge_listen", v)) }
        if let v = resolverUrl { overrides.append(("resolver_url", v)) }
        if tlsCerts.count != tlsKeys.count {
            throw ConfigError(key: "tls", problem: "--tls-cert and --tls-key must come in pairs (\(tlsCerts.count) certificates, \(tlsKeys.count) keys)", source: "flag --tls-cert")
        }
        if !tlsCerts.isEmpty {
            func quoted(_ s: String) -> String {
                var j = JSONWriter()
                j.string(s)
                return j.string
            }
            let list = zip(tlsCerts, tlsKeys).map { "{\"cert\": \(quoted($0.0)), \"key\": \(quoted($0.1))}" }.joined(separator: ",")
            overrides.append(("tls", "{\"certificates\": [\(list)]}"))
        }
        if httpRedirectToHttps { overrides.append(("http_redirect_to_https", "true")) }
        if !mistNodes.isEmpty {
            let list = mistNodes.map { "\"" + $0.replacingAll("\"", with: "") + "\"" }.joined(separator: ",")
            overrides.append(("mist", "{\"nodes\": [\(list)]}"))
        }
        for (key, _) in overrides.dropFirst(sources.count) {
            sources.append(key == "tls" ? "--tls-cert/--tls-key" : key == "mist" ? "--mist-node" : ConfigKeys.named(key)?.flag ?? "--\(key)")
        }
        var config = try ConfigLoader.load(
            fileText: text, fileName: fileName, environment: ProcessIO.environment, overrides: overrides, overrideSources: sources, names: names)
        try ConfigLoader.resolveSecretFiles(&config) { path in try ProcessIO.readFile(path) }
        return config
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start Foghorn and serve until SIGTERM/SIGINT.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        var config: FoghornConfiguration
        do {
            config = try options.load()
        } catch {
            ProcessIO.write("foghorn: invalid configuration: \(error)\n", to: 2)
            throw ExitCode(2)
        }
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        // JSON lines on stderr, written by the sink's own thread (loops never block on stderr).
        let sink = LogSink(fd: 2)
        sink.start()
        defer { sink.stop() }
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level, queue: sink.shared) }
        let logger = Logger(label: "foghorn")
        for name in ConfigLoader.unknownEnvironmentVariables(ProcessIO.environment) {
            logger.warning("ignoring unknown environment variable", metadata: ["name": "\(name)"])
        }
        let server = FoghornServer(config: config, logger: logger)
        // The server parses static edges/records into its own state; do not keep the trees here.
        config.dropStaticState()
        server.logSink = sink
        let source = options
        server.reloadSource = { [source] names in
            do { return try source.load(names: names) } catch { throw error }
        }
        do {
            try server.start(installSignalHandlers: true)
        } catch {
            ProcessIO.write("foghorn: cannot start: \(error)\n", to: 2)
            throw ExitCode(1)
        }
        let viewer = listenURL(config.httpListen.host, server.httpPort)
        let internalURL = listenURL(config.internalListen.host, server.internalPort)
        // Unbuffered: scripts and tests wait for this line on a pipe.
        let https = server.httpsPort == 0 ? "" : ", https on " + listenURL(config.httpsListen.host, server.httpsPort).replacingAll("http://", with: "https://")
        var edge = ""
        if server.edgePort != 0, let address = config.edgeListen {
            edge = ", edge API on " + listenURL(address.host, server.edgePort).replacingAll("http://", with: config.tlsCertificates.isEmpty ? "http://" : "https://")
        }
        let ready = "Foghorn \(FoghornVersion.full) ready: viewers on \(viewer), ops/admin on \(internalURL)\(https)\(edge) (\(server.loopCount) data loops). Ctrl-C stops.\n"
        ProcessIO.write(ready, to: 1)
        let code = server.waitUntilStopped()
        sink.stop()
        if code != 0 { throw ExitCode(code) }
    }

    private func listenURL(_ host: String, _ port: UInt16) -> String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file (and env/flag overrides); exit 0 if valid, 1 with the key and problem if not.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        do {
            let config = try options.load()
            for warning in config.warnings { ProcessIO.write("warning: \(warning)\n", to: 2) }
            for name in ConfigLoader.unknownEnvironmentVariables(ProcessIO.environment) {
                ProcessIO.write("warning: \(name) is not a Foghorn setting (ignored)\(ConfigLoader.nearestVariable(name))\n", to: 2)
            }
            if config.internalToken.isEmpty {
                ProcessIO.write("warning: internal_token is empty: every admin mutation (tokens, playback records, modes, weights, reload) is refused\n", to: 2)
            }
            print("ok: \(options.config ?? "(defaults)") is valid")
        } catch {
            ProcessIO.write("error: \(error)\n", to: 2)
            throw ExitCode(1)
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("foghorn \(FoghornVersion.full)")
    }
}
