import Testing
import FoghornJSON
import FoghornModel
import FoghornModelFixtures
@testable import FoghornConfig

@Suite struct YAMLSubsetParserTests {
    @Test func parsesTheSubset() throws {
        let yaml = """
        ---
        # comment
        http_listen: "127.0.0.1:8080"   # trailing comment
        loops: 2
        ratio: 0.5
        on: true
        nothing: ~
        quoted: 'it''s # not a comment'
        list: [a, "b c", 3]
        map: {x: 1, y: [2]}
        edges:
          - id: e1
            tags: [eu]
          - id: e2
            nested:
              deep: yes
        seq:
        - 1
        - - 2
          - 3
        """
        let v = try YAMLSubsetParser.parse(yaml)
        #expect(v["http_listen"] == .string("127.0.0.1:8080"))
        #expect(v["loops"] == .int(2))
        #expect(v["ratio"] == .double(0.5))
        #expect(v["on"] == .bool(true))
        #expect(v["nothing"] == .null)
        #expect(v["quoted"] == .string("it's # not a comment"))
        #expect(v["list"] == .array([.string("a"), .string("b c"), .int(3)]))
        #expect(v["map"] == .object([("x", .int(1)), ("y", .array([.int(2)]))]))
        #expect(v["edges"] == .array([
            .object([("id", .string("e1")), ("tags", .array([.string("eu")]))]),
            .object([("id", .string("e2")), ("nested", .object([("deep", .string("yes"))]))]),
        ]))
        #expect(v["seq"] == .array([.int(1), .array([.int(2), .int(3)])]))
    }

    @Test(arguments: [
        ("a: 1\na: 2", 2, "duplicate key"),
        ("a:\n\tb: 1", 2, "tab"),
        ("a: &x 1", 1, "anchors"),
        ("a: *x", 1, "aliases"),
        ("a: !!str 1", 1, "tags"),
        ("a: |\n  text", 1, "block scalars"),
        ("a: 1\n  b: 2", 2, "indentation"),
        ("a: \"open", 1, "unterminated"),
        ("just text", 1, "key: value"),
        ("a: b: c", 1, "':'"),
        ("---\na: 1\n---\nb: 2", 3, "several documents"),
    ])
    func rejects(_ text: String, _ line: Int, _ fragment: String) {
        do {
            _ = try YAMLSubsetParser.parse(text)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.reason.contains(fragment), "\(error)")
        }
    }
}

@Suite struct ConfigLoaderTests {
    @Test func defaults() throws {
        let c = try ConfigLoader.load(fileText: nil)
        #expect(c.httpListen == ListenAddress(host: "0.0.0.0", port: 18008))
        #expect(c.internalListen == ListenAddress(host: "127.0.0.1", port: 18009))
        #expect(c.maxRequestLineBytes == 8192)
        #expect(c.maxHeaderBytes == 16384)
        #expect(c.maxHeaders == 64)
        #expect(c.headerTimeoutMs == 5000)
        #expect(c.idleTimeoutMs == 30000)
        #expect(c.shutdownDelayMs == 0)
    }

    @Test func yamlAndJsonGiveTheSameConfig() throws {
        // Configurations compare equal with the same name table (IDs from different ones differ).
        let yaml = try ConfigLoader.load(fileText: "loops: 3\nhttp_listen: \"[::1]:9000\"\nlog_level: debug\n", fileName: "f.yaml", names: fixtureNames)
        let json = try ConfigLoader.load(fileText: #"{"loops":3,"http_listen":"[::1]:9000","log_level":"debug"}"#, fileName: "f.json", names: fixtureNames)
        #expect(yaml == json)
        #expect(yaml.loops == 3)
        #expect(yaml.httpListen == ListenAddress(host: "::1", port: 9000))
    }

    @Test func precedenceIsFlagsThenEnvThenFile() throws {
        let file = "loops: 1\nidle_timeout_ms: 100\nheader_timeout_ms: 200\n"
        let c = try ConfigLoader.load(
            fileText: file, fileName: "f.yml",
            environment: ["FOGHORN_LOOPS": "2", "FOGHORN_IDLE_TIMEOUT_MS": "300"],
            overrides: [("loops", "4")])
        #expect(c.loops == 4)
        #expect(c.idleTimeoutMs == 300)
        #expect(c.headerTimeoutMs == 200)
    }

    @Test(arguments: [
        ("lops: 2", "f.yaml", "lops: unknown key (did you mean loops?) (from file f.yaml:1)"),
        ("loops: two", "f.yaml", "loops: expected an integer, got a string (from file f.yaml:1)"),
        ("loops: 999", "f.yaml", "loops: 999 is out of range 0...256 (from file f.yaml:1)"),
        ("http_listen: \"localhost:80\"", "f.yaml", #"http_listen: "localhost:80" is not HOST:PORT with a numeric IPv4 host or a bracketed IPv6 host (from file f.yaml:1)"#),
        ("log_level: loud", "f.yaml", #"log_level: "loud" is not one of trace, debug, info, notice, warning, error, critical (from file f.yaml:1)"#),
        ("[1]", "f.json", "file: the top level must be a mapping of keys to values (from file)"),
        ("{\"loops\": 1,}", "f.json", "file: f.json: invalid JSON at byte 12: expected a string key (from file)"),
        ("loops: 1", "f.toml", "file: f.toml: unknown extension; use .yaml, .yml or .json (from file)"),
        ("shutdown_delay_ms: 5000\nhard_stop_after_ms: 4000", "f.yaml", "hard_stop_after_ms: must be greater than shutdown_delay_ms (5000) (from merged)"),
    ])
    func invalidFilesNameKeyAndProblem(_ text: String, _ name: String, _ expected: String) {
        do {
            _ = try ConfigLoader.load(fileText: text, fileName: name)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description == expected)
        }
    }

    static let staticsYAML = """
        edges:
          - node_id: e2
            base_url: "https://e2.example/"
            ram_max_bytes: 1000
            bw_limit_bytes_per_sec: 1000000
            streams: {"live+a": {"inputs": 1, "viewers": 3}}
          - {node_id: e1, base_url: "https://e1.example/", mode: draining, tenant: t1}
        playback:
          - {id: pa, stream: "live+a"}
          - {id: pb, stream: "live+b", tenant: t1, cluster: c2}
        loops: 2
        """
    static let staticsJSON = #"""
        {"edges": [
           {"node_id": "e2", "base_url": "https://e2.example/", "ram_max_bytes": 1000, "bw_limit_bytes_per_sec": 1000000,
            "streams": {"live+a": {"inputs": 1, "viewers": 3}}},
           {"node_id": "e1", "base_url": "https://e1.example/", "mode": "draining", "tenant": "t1"}],
         "playback": [{"id": "pa", "stream": "live+a"}, {"id": "pb", "stream": "live+b", "tenant": "t1", "cluster": "c2"}],
         "loops": 2}
        """#

    /// JSON files stream their static lists (each element typed as it is parsed); YAML goes
    /// through the tree. Both end up as the same typed edges and records, in file order.
    @Test func staticEdgesAndPlaybackAreTypedAtLoad() throws {
        let yaml = try ConfigLoader.load(fileText: ConfigLoaderTests.staticsYAML, fileName: "f.yaml", names: fixtureNames)
        let json = try ConfigLoader.load(fileText: ConfigLoaderTests.staticsJSON, fileName: "f.json", names: fixtureNames)
        #expect(yaml == json)
        #expect(json.edges.isEmpty && json.playback.isEmpty)  // no trees kept
        #expect(json.loops == 2)
        #expect(json.staticEdges.map(\.nodeId) == ["e2", "e1"])
        #expect(json.staticEdges.allSatisfy { $0.isStatic })
        #expect(json.staticEdges[0].stats(for: "live+a", in: fixtureNames) == EdgeStreamStats(inputs: 1, viewers: 3))
        #expect(json.staticEdges[0].ramMaxBytes == 1000)
        #expect(json.staticEdges[1].mode == .draining && json.staticEdges[1].tenant == "t1")
        #expect(json.staticPlayback == [
            PlaybackRecord(playbackId: "pa", stream: "live+a"),
            PlaybackRecord(playbackId: "pb", stream: "live+b", tenant: "t1", cluster: "c2"),
        ])
        let read = ConfigKeys.named("edges")!.read(json)
        #expect(read == .string("2 entries (see /v1/edges, /v1/playback)"))
        // StaticState.parse hands the typed lists back as they are; into another table, the same
        // streams under that table's IDs.
        let parsed = try StaticState.parse(json)
        #expect(parsed.edges == json.staticEdges && parsed.playback == json.staticPlayback)
        let other = StreamNameTable()
        let moved = try StaticState.parse(json, into: other)
        #expect(moved.edges.map { $0.streams(in: other) } == json.staticEdges.map { $0.streams(in: fixtureNames) })
    }

    @Test(arguments: [
        (#"{"edges": [{"node_id": "a"}, {"node_id": "a"}]}"#, #"edges[1].node_id: duplicate node_id "a" (from file f.json at $.edges[1].node_id)"#),
        (#"{"edges": [{"node_id": "a b"}]}"#, "edges[0].node_id: required: 1-64 characters of [A-Za-z0-9_.-] (from file f.json at $.edges[0].node_id)"),
        (#"{"edges": [{"node_id": "a", "mode": "off"}]}"#, "edges[0].mode: must be normal, draining or maintenance (from file f.json at $.edges[0].mode)"),
        (#"{"playback": [{"id": "p", "stream": "s"}, {"id": "p", "stream": "t"}]}"#, #"playback[1].id: duplicate playback id "p" (from file f.json at $.playback[1].id)"#),
        (#"{"playback": [{"id": "p", "stream": "s", "owner": 1}]}"#, "playback[0].owner: unknown field (from file f.json at $.playback[0].owner)"),
        (#"{"playback": [7]}"#, "playback[0]: must be an object {id, stream} (from file f.json at $.playback[0])"),
        (#"{"playback": [{"id": "p"}]}"#, "playback[0].stream: required: the internal stream name (1-256 bytes) (from file f.json at $.playback[0].stream)"),
        (#"{"edges": 5}"#, "edges: expected a list, got an integer (from file f.json at $.edges)"),
        (#"{"edges": [{"node_id": "a"},]}"#, "file: f.json: invalid JSON at byte 28: unexpected character (from file)"),
        (#"{"edges": [{"node_id": "a"}], "edges": []}"#, #"file: f.json: invalid JSON at byte 30: duplicate key "edges" (from file)"#),
    ])
    func invalidStaticListsNameTheItem(_ text: String, _ expected: String) {
        // Streamed (the JSON loader) …
        do {
            _ = try ConfigLoader.load(fileText: text, fileName: "f.json")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description == expected)
        }
        // … and through the tree (YAML files, configs built in code): the same message.
        guard !expected.hasPrefix("file:"), let tree = try? JSONParser.parse(text) else { return }
        do {
            var config = FoghornConfiguration()
            try ConfigLoader.apply(tree: tree, to: &config)
            try StaticState.absorbTrees(&config)
            Issue.record("accepted \(text) as a tree")
        } catch {
            // No file text here to locate the error in: the same key and problem, from the file.
            let core = expected.firstRange(of: " (from file").map { String(expected[..<$0.lowerBound]) } ?? expected
            #expect(error.description == core + " (from file)", "tree")
        }
    }

    @Test func environmentErrorsNameTheVariable() {
        do {
            _ = try ConfigLoader.load(fileText: nil, environment: ["FOGHORN_MAX_HEADERS": "0"])
            Issue.record("accepted")
        } catch {
            #expect(error.description == "max_headers: 0 is out of range 1...1000 (from env FOGHORN_MAX_HEADERS)")
        }
        #expect(ConfigLoader.unknownEnvironmentVariables(["FOGHORN_LOPS": "1", "FOGHORN_LOOPS": "1", "PATH": "/"]) == ["FOGHORN_LOPS"])
    }

    @Test func listenAddresses() {
        #expect(ListenAddress.parse("0.0.0.0:18008") == ListenAddress(host: "0.0.0.0", port: 18008))
        #expect(ListenAddress.parse(":80") == ListenAddress(host: "0.0.0.0", port: 80))
        #expect(ListenAddress.parse("[::]:80") == ListenAddress(host: "::", port: 80))
        #expect(ListenAddress.parse("[2001:db8::1]:443")?.host == "2001:db8::1")
        for bad in ["1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "::1:80", "[::1]", "256.0.0.1:1", "01.2.3.4:5", "a.b.c.d:1", "[1.2.3.4]:5"] {
            #expect(ListenAddress.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func everyKeyHasDocsAndAnEnvironmentVariable() {
        #expect(Set(ConfigKeys.all.map(\.name)).count == ConfigKeys.all.count)
        for key in ConfigKeys.all {
            #expect(!key.summary.isEmpty)
            #expect(key.environmentVariable == "FOGHORN_" + key.name.uppercased())
        }
        #expect(ConfigKeys.named("http_listen")?.flag == "--http-listen")
    }
}

@Suite struct ConfigErgonomicsTests {
    static func error(_ text: String, file: String = "foghorn.yaml", overrides: [(key: String, value: String)] = [], sources: [String] = [],
                      environment: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try ConfigLoader.load(fileText: text, fileName: file, environment: environment, overrides: overrides, overrideSources: sources)
            return nil
        } catch {
            return error
        }
    }

    @Test func errorsNameTheLineAndTheNearestField() throws {
        let yaml = "loops: 2\nedges:\n  - node_id: a\n    base_url: \"https://a.example/\"\n  - node_id: b\n    latt: 3\n"
        let e = try #require(Self.error(yaml))
        #expect(e.description == "edges[1].latt: unknown field (did you mean lat?) (from file foghorn.yaml:6)")
        let peering = try #require(Self.error("loops: 1\n\npeering:\n  heartbeat_interval_s: 2\n  close_grac_s: 3\n"))
        #expect(peering.source == "file foghorn.yaml:5")
        #expect(peering.problem.hasPrefix("close_grac_s: unknown field (did you mean close_grace_s? one of: "))
        let top = try #require(Self.error("loops: 2\nlogg_level: debug\n"))
        #expect(top.description == "logg_level: unknown key (did you mean log_level?) (from file foghorn.yaml:2)")
        let playback = try #require(Self.error("playback:\n  - id: x\n    stream: live+a\n  - id: y\n    strem: live+b\n"))
        #expect(playback.description == "playback[1].strem: unknown field (did you mean stream?) (from file foghorn.yaml:5)")
        let value = try #require(Self.error("http_listen: \"127.0.0.1:0\"\nloops: many\n"))
        #expect(value.source == "file foghorn.yaml:2")
        // JSON: the path.
        let json = try #require(Self.error(#"{"loops": 2, "edges": [{"node_id": "a"}, {"node_id": "b", "latt": 3}]}"#, file: "f.json"))
        #expect(json.description == "edges[1].latt: unknown field (did you mean lat?) (from file f.json at $.edges[1].latt)")
        // Nothing close: no guess.
        let far = try #require(Self.error("edges:\n  - node_id: a\n    zzzzzzzz: 1\n"))
        #expect(far.problem == "unknown field")
    }

    @Test func overridesNameTheFlagTheyCameFrom() throws {
        let set = try #require(Self.error("", overrides: [("loops", "x")]))
        #expect(set.source == "flag --set loops")
        let own = try #require(Self.error("", overrides: [("loops", "x")], sources: ["--loops"]))
        #expect(own.source == "flag --loops")
        let typo = try #require(Self.error("", overrides: [("lops", "3")]))
        #expect(typo.description == "lops: unknown key (did you mean loops?) (from flag --set lops)")
        #expect(ConfigLoader.nearestVariable("FOGHORN_LOPS") == " (did you mean FOGHORN_LOOPS?)")
        #expect(ConfigLoader.nearestVariable("HOME") == "")
    }

    @Test func secretsFromFiles() throws {
        var c = try ConfigLoader.load(fileText: "internal_token_file: /run/secrets/token\ncluster_secret_file: /run/secrets/cluster\n", fileName: "f.yaml")
        try ConfigLoader.resolveSecretFiles(&c) { path in path.hasSuffix("token") ? "s3cr3t\n" : "  cluster-key \r\nignored second line\n" }
        #expect(c.internalToken == "s3cr3t")
        #expect(c.clusterSecret == "cluster-key")
        var both = try ConfigLoader.load(fileText: "internal_token: a\ninternal_token_file: /x\n", fileName: "f.yaml")
        #expect(throws: ConfigError.self) { try ConfigLoader.resolveSecretFiles(&both) { _ in "b" } }
        var empty = try ConfigLoader.load(fileText: "internal_token_file: /x\n", fileName: "f.yaml")
        do {
            try ConfigLoader.resolveSecretFiles(&empty) { _ in "\n" }
            Issue.record("an empty secret file was accepted")
        } catch {
            #expect(error.key == "internal_token_file")
            #expect(error.problem == "/x is empty")
        }
        // Every secret has a file variant: the Mist passphrase and each peer's shared secret.
        var more = try ConfigLoader.load(fileText: """
            mist: {passphrase_file: /run/secrets/mist}
            peers:
              - {cluster: b, address: "10.0.0.2:18019", mode: always, secret_file: /run/secrets/peer-b}
            """, fileName: "f.yaml")
        try ConfigLoader.resolveSecretFiles(&more) { path in path.hasSuffix("mist") ? "m1st\n" : "a-long-enough-shared-secret\n" }
        #expect(more.mistPassphrase == "m1st")
        #expect(more.peers[0].secret == "a-long-enough-shared-secret")
        var short = try ConfigLoader.load(fileText: "peers:\n  - {cluster: b, address: \"10.0.0.2:18019\", mode: always, secret_file: /s}\n", fileName: "f.yaml")
        do {
            try ConfigLoader.resolveSecretFiles(&short) { _ in "short" }
            Issue.record("a short peer secret was accepted")
        } catch {
            #expect(error.key == "peers[0].secret_file")
        }
        #expect(throws: ConfigError.self) {
            _ = try ConfigLoader.load(fileText: "peers:\n  - {cluster: b, address: \"10.0.0.2:18019\", mode: always, secret: x, secret_file: /s}\n", fileName: "f.yaml")
        }
        struct Missing: Error, CustomStringConvertible { var description: String { "No such file or directory" } }
        var missing = try ConfigLoader.load(fileText: "cluster_secret_file: /nope\n", fileName: "f.yaml")
        do {
            try ConfigLoader.resolveSecretFiles(&missing) { _ in throw Missing() }
        } catch {
            #expect(error.description == "cluster_secret_file: cannot read /nope: No such file or directory (from merged)")
        }
    }
}
