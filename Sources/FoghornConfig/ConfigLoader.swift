public import FoghornModel
public import FoghornJSON

/// Builds a ``FoghornConfiguration`` from a file's text, the environment and
/// command-line overrides, in that order of increasing precedence.
///
/// ```swift
/// let config = try ConfigLoader.load(
///     fileText: "loops: 2\nhttp_listen: \"127.0.0.1:0\"\n", fileName: "foghorn.yaml",
///     environment: ["FOGHORN_LOOPS": "4"], overrides: ["log_level": "debug"])
/// config.loops  // 4: the environment beats the file
/// ```
public enum ConfigLoader {
    public enum Format: Sendable { case yaml, json }

    /// `.json` → JSON; `.yaml`/`.yml` → YAML subset; anything else is an error.
    public static func format(forFileName name: String) throws(ConfigError) -> Format {
        let lower = name.lowercased()
        if lower.hasSuffix(".json") { return .json }
        if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") { return .yaml }
        throw ConfigError(key: "file", problem: "\(name): unknown extension; use .yaml, .yml or .json", source: "file")
    }

    /// Parses a config document into its tree (no key checks yet).
    public static func parseDocument(_ text: String, format: Format, fileName: String) throws(ConfigError) -> JSONValue {
        switch format {
        case .json:
            do {
                return try JSONParser.parse(text)
            } catch {
                throw ConfigError(key: "file", problem: "\(fileName): \(error.description)", source: "file")
            }
        case .yaml:
            do {
                return try YAMLSubsetParser.parse(text)
            } catch {
                throw ConfigError(key: "file", problem: "\(fileName): \(error.description)", source: "file")
            }
        }
    }

    public static func load(
        fileText: String?, fileName: String = "config",
        environment: [String: String] = [:],
        overrides: [(key: String, value: String)] = [],
        overrideSources: [String] = [],
        names: StreamNameTable? = nil
    ) throws(ConfigError) -> FoghornConfiguration {
        var config = FoghornConfiguration()
        if let names { config.streamNames = names }
        if let text = fileText {
            let format = try format(forFileName: fileName)
            do throws(ConfigError) {
                if format == .json {
                    try applyStreamingStatics(json: text, fileName: fileName, to: &config)
                } else {
                    try apply(tree: try parseDocument(text, format: format, fileName: fileName), to: &config)
                    try StaticState.absorbTrees(&config)
                }
            } catch {
                throw ConfigErrorContext.locate(ConfigErrorContext.suggest(error), text: text, fileName: fileName, json: format == .json)
            }
        }
        for key in ConfigKeys.all {
            if let value = environment[key.environmentVariable] {
                if let problem = key.apply(&config, .string(value)) {
                    throw ConfigErrorContext.suggest(ConfigError(key: key.name, problem: problem, source: "env \(key.environmentVariable)"))
                }
            }
        }
        for (i, (name, value)) in overrides.enumerated() {
            // Where the value came from: `--set key=…` or the key's own flag.
            let flag = i < overrideSources.count ? overrideSources[i] : "--set \(name)"
            guard let key = ConfigKeys.named(name) else {
                throw ConfigError(key: name, problem: "unknown key" + nearestKey(name), source: "flag \(flag)")
            }
            if let problem = key.apply(&config, .string(value)) {
                throw ConfigErrorContext.suggest(ConfigError(key: name, problem: problem, source: "flag \(flag)"))
            }
        }
        try validate(config)
        return config
    }

    /// Reads `internal_token_file` and `cluster_secret_file` with `read` (the first line, without
    /// its line break; surrounding spaces trimmed). A secret given both inline and as a file, an
    /// unreadable or empty file are errors naming the key.
    public static func resolveSecretFiles(_ config: inout FoghornConfiguration, read: (String) throws -> String) throws(ConfigError) {
        for (fileKey, valueKey, file, value) in [("internal_token_file", "internal_token", \FoghornConfiguration.internalTokenFile, \FoghornConfiguration.internalToken),
                                                 ("cluster_secret_file", "cluster_secret", \.clusterSecretFile, \.clusterSecret)] {
            let path = config[keyPath: file]
            guard !path.isEmpty else { continue }
            guard config[keyPath: value].isEmpty else {
                throw ConfigError(key: fileKey, problem: "give \(valueKey) or \(fileKey), not both", source: "merged")
            }
            config[keyPath: value] = try readSecret(path, key: fileKey, read: read)
        }
        if !config.mistPassphraseFile.isEmpty {
            let secret = try readSecret(config.mistPassphraseFile, key: "mist.passphrase_file", read: read)
            guard !secret.contains("/") else { throw ConfigError(key: "mist.passphrase_file", problem: "the passphrase must not contain '/'", source: "merged") }
            config.mistPassphrase = secret
        }
        for i in config.peers.indices where !config.peers[i].secretFile.isEmpty {
            let key = "peers[\(i)].secret_file"
            let secret = try readSecret(config.peers[i].secretFile, key: key, read: read)
            guard secret.utf8.count >= 16 else { throw ConfigError(key: key, problem: "the shared secret must be at least 16 bytes", source: "merged") }
            config.peers[i].secret = secret
        }
    }

    /// The first line of the file at `path`, spaces trimmed; errors name `key`.
    static func readSecret(_ path: String, key: String, read: (String) throws -> String) throws(ConfigError) -> String {
        let text: String
        do { text = try read(path) } catch {
            throw ConfigError(key: key, problem: "cannot read \(path): \(error)", source: "merged")
        }
        // ("\r\n" is one Character: split on either.)
        let line = text.split(maxSplits: 1, omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).first.map(String.init) ?? ""
        let secret = line.trimmingSpaces()
        guard !secret.isEmpty else { throw ConfigError(key: key, problem: "\(path) is empty", source: "merged") }
        return secret
    }

    /// ` (did you mean FOGHORN_LOOPS?)` for an environment variable close to a real one, else empty.
    public static func nearestVariable(_ name: String) -> String { nearest(name, in: ConfigKeys.all.map(\.environmentVariable)) }

    /// ` (did you mean X?)` for the candidate within 3 edits of `name`, else empty.
    static func nearest(_ name: String, in candidates: [String]) -> String {
        guard let hint = candidates.min(by: { editDistance($0, name) < editDistance($1, name) }), editDistance(hint, name) <= 3 else { return "" }
        return " (did you mean \(hint)?)"
    }

    /// ` (did you mean loops?)` for a key close to a real one, else empty.
    static func nearestKey(_ name: String) -> String { nearest(name, in: ConfigKeys.all.map(\.name)) }

    /// Parses a JSON file with its `edges` and `playback` lists streamed: each element becomes an
    /// ``EdgeState``/``PlaybackRecord`` as soon as it is parsed, so 10,000 edges with 100 streams
    /// each never exist as one tree (which took ≈ 4× the file's size and left the heap fragmented).
    static func applyStreamingStatics(json text: String, fileName: String, to config: inout FoghornConfiguration) throws(ConfigError) {
        var builder = StaticState.Builder(names: config.streamNames)
        var failure: ConfigError?
        var streamedEdges = false, streamedPlayback = false
        var utf8 = text
        let parsed: Result<JSONValue, JSONParser.Error> = utf8.withUTF8 { bytes in
            do throws(JSONParser.Error) {
                return .success(try JSONParser.parse(UnsafeRawBufferPointer(bytes), streaming: ["edges", "playback"]) { key, i, item in
                    do throws(ConfigError) {
                        if key == "edges" {
                            streamedEdges = true
                            try builder.addEdge(item, index: i)
                        } else {
                            streamedPlayback = true
                            try builder.addPlayback(item, index: i)
                        }
                        return true
                    } catch {
                        failure = error
                        return false
                    }
                })
            } catch {
                return .failure(error)
            }
        }
        if let failure { throw failure }
        let tree: JSONValue
        switch parsed {
        case .success(let t): tree = t
        case .failure(let error): throw ConfigError(key: "file", problem: "\(fileName): \(error.description)", source: "file")
        }
        // In the tree, the streamed lists are empty arrays (a non-array `edges` is not streamed
        // and fails in `apply` with the section's own message).
        try apply(tree: tree, to: &config)
        if streamedEdges { config.staticEdges = builder.edges }
        if streamedPlayback { config.staticPlayback = builder.playback }
    }

    /// Applies a parsed file: the top level must be a mapping; unknown keys are errors.
    public static func apply(tree: JSONValue, to config: inout FoghornConfiguration) throws(ConfigError) {
        guard case .object(let members) = tree else {
            throw ConfigError(key: "file", problem: "the top level must be a mapping of keys to values", source: "file")
        }
        for (name, value) in members {
            guard let key = ConfigKeys.named(name) else {
                throw ConfigError(key: name, problem: "unknown key" + nearestKey(name), source: "file")
            }
            if case .string = value {} else if case .int = value {} else if case .double = value {} else {
                if case .null = value { throw ConfigError(key: name, problem: "value is empty", source: "file") }
            }
            if let problem = key.apply(&config, value) {
                throw ConfigError(key: name, problem: problem, source: "file")
            }
        }
    }

    /// Cross-key checks.
    public static func validate(_ config: FoghornConfiguration) throws(ConfigError) {
        if config.httpListen == config.internalListen && config.httpListen.port != 0 {
            throw ConfigError(key: "internal_listen", problem: "must differ from http_listen (\(config.httpListen))", source: "merged")
        }
        if config.edgeEvictAfterMs <= config.edgeStaleAfterMs {
            throw ConfigError(key: "edge_evict_after_ms", problem: "must be greater than edge_stale_after_ms (\(config.edgeStaleAfterMs))", source: "merged")
        }
        if config.redirectStatus != 302 && config.redirectStatus != 307 {
            throw ConfigError(key: "redirect_status", problem: "must be 302 or 307", source: "merged")
        }
        _ = try StaticState.parse(config)
        if !config.resolverUrl.isEmpty {
            guard ResolverAddress.parse(config.resolverUrl) != nil else {
                throw ConfigError(key: "resolver_url", problem: "must be http(s)://host[:port][/base path]", source: "merged")
            }
        }
        if config.peering.tlsListen && config.tlsCertificates.isEmpty {
            throw ConfigError(key: "peering", problem: "tls_listen needs tls.certificates (the peer listener presents them)", source: "merged")
        }
        if config.httpRedirectToHttps && config.tlsCertificates.isEmpty {
            throw ConfigError(key: "http_redirect_to_https", problem: "needs tls.certificates (there is no HTTPS listener to redirect to)", source: "merged")
        }
        if config.httpRedirectStatus != 301 && config.httpRedirectStatus != 308 {
            throw ConfigError(key: "http_redirect_status", problem: "must be 301 or 308", source: "merged")
        }
        if !config.tlsCertificates.isEmpty && config.httpsListen == config.httpListen && config.httpListen.port != 0 {
            throw ConfigError(key: "https_listen", problem: "must differ from http_listen (\(config.httpListen))", source: "merged")
        }
        if let edge = config.edgeListen {
            if config.tlsCertificates.isEmpty && !config.edgeAPI.plaintext {
                throw ConfigError(key: "edge_listen", problem: "needs tls.certificates (edges send credentials), or edge_api.plaintext: true behind a TLS-terminating proxy", source: "merged")
            }
            if edge.port != 0 && [config.httpListen, config.internalListen].contains(edge) {
                throw ConfigError(key: "edge_listen", problem: "must differ from http_listen and internal_listen (\(edge))", source: "merged")
            }
            if edge.port != 0 && !config.tlsCertificates.isEmpty && edge == config.httpsListen {
                throw ConfigError(key: "edge_listen", problem: "must differ from https_listen (\(edge))", source: "merged")
            }
        }
        if config.hardStopAfterMs <= config.shutdownDelayMs {
            throw ConfigError(
                key: "hard_stop_after_ms",
                problem: "must be greater than shutdown_delay_ms (\(config.shutdownDelayMs))", source: "merged")
        }
    }

    /// Environment variables that look like ours but name no key (typos); callers warn about them.
    public static func unknownEnvironmentVariables(_ environment: [String: String]) -> [String] {
        let known = Set(ConfigKeys.all.map(\.environmentVariable))
        return environment.keys.filter { $0.hasPrefix("FOGHORN_") && !known.contains($0) }.sorted()
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        var previous = Array(0...y.count)
        for i in 1...max(x.count, 1) where !x.isEmpty {
            var current = [i] + Array(repeating: 0, count: y.count)
            for j in 1...max(y.count, 1) where !y.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[y.count]
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
        return String(s)
    }
}
