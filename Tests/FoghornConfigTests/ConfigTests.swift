import Testing
import FoghornJSON
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
        let yaml = try ConfigLoader.load(fileText: "loops: 3\nhttp_listen: \"[::1]:9000\"\nlog_level: debug\n", fileName: "f.yaml")
        let json = try ConfigLoader.load(fileText: #"{"loops":3,"http_listen":"[::1]:9000","log_level":"debug"}"#, fileName: "f.json")
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
        ("lops: 2", "f.yaml", "lops: unknown key (did you mean loops?) (from file)"),
        ("loops: two", "f.yaml", "loops: expected an integer, got a string (from file)"),
        ("loops: 999", "f.yaml", "loops: 999 is out of range 0...256 (from file)"),
        ("http_listen: \"localhost:80\"", "f.yaml", #"http_listen: "localhost:80" is not HOST:PORT with a numeric IPv4 host or a bracketed IPv6 host (from file)"#),
        ("log_level: loud", "f.yaml", #"log_level: "loud" is not one of trace, debug, info, notice, warning, error, critical (from file)"#),
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
