import Foundation
import Testing
import FoghornApp
import FoghornConfig
import FoghornJSON
import FoghornModel
import FoghornOps
import FoghornTesting

/// What ships in `deploy/` and at the top level, checked as far as this machine can without a
/// container engine: the systemd units verify, the Dockerfile's runtime packages cover what the
/// binary links, the compose file's and Kubernetes manifests' configurations, flags, environment
/// variables and probe paths are Foghorn's own.
@Suite struct ShippingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Run {
        var status: Int32
        var output: String
    }

    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FOGHORN_") }
        if let child = env["CHILD_ASAN_OPTIONS"] { env["ASAN_OPTIONS"] = child }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        let inPipe = Pipe()
        if input != nil { p.standardInput = inPipe }
        try p.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try inPipe.fileHandleForWriting.close()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// YAML documents as JSON (PyYAML: the files use anchors and flow maps beyond Foghorn's own subset).
    static func yaml(_ path: String) throws -> [JSONValue] {
        let r = try run("/usr/bin/python3", ["-c", "import json,sys,yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))", path])
        #expect(r.status == 0, "\(r.output)")
        guard case .array(let docs) = try JSONParser.parse(Array(r.output.utf8)) else { return [] }
        return docs
    }

    static func scratch(_ name: String, _ text: String) throws -> String {
        let path = try ScratchDirectory.make("shipping") + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theLicenseIsApache2() throws {
        let text = try String(contentsOfFile: Self.root + "/LICENSE", encoding: .utf8)
        #expect(text.contains("Apache License"))
        #expect(text.contains("Version 2.0, January 2004"))
    }

    @Test func versionAndCommitAreBakedIn() throws {
        let head = try Self.run("/usr/bin/git", ["-C", Self.root, "rev-parse", "--short=12", "HEAD"])
        let r = try Self.run(FoghornProcess.binaryPath, ["--version"])
        #expect(r.status == 0)
        #expect(r.output.hasPrefix("foghorn \(FoghornVersion.string) ("), "\(r.output)")
        if head.status == 0 {
            // Built from this checkout (or from its last commit plus uncommitted changes).
            #expect(r.output.contains("(" + head.output.trimmingCharacters(in: .whitespacesAndNewlines)), "\(r.output) vs HEAD \(head.output)")
        }
        #expect(FoghornVersion.commit != "")
        let metrics = MetricsRegistry(version: FoghornVersion.string, commit: FoghornVersion.commit, startTimeSeconds: 0).render()
        #expect(metrics.contains("foghorn_build_info{version=\"\(FoghornVersion.string)\",commit=\"\(FoghornVersion.commit)\"} 1"))
    }

    @Test(arguments: ["foghorn.service", "foghorn-edge-agent.service"])
    func systemdUnitsVerify(_ unit: String) throws {
        let text = try String(contentsOfFile: Self.root + "/deploy/" + unit, encoding: .utf8)
        #expect(text.contains("ExecStart=/usr/bin/foghorn "))
        // Verified against the binary built here (systemd checks ExecStart is executable).
        let path = try Self.scratch(unit, text.replacingOccurrences(of: "/usr/bin/foghorn", with: FoghornProcess.binaryPath))
        let r = try Self.run("/usr/bin/systemd-analyze", ["verify", path])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.isEmpty, "\(r.output)")
        // Every flag ExecStart passes is one the command takes.
        let exec = text.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }!
        let words = exec.split(separator: " ").map(String.init)
        let help = try Self.run(FoghornProcess.binaryPath, [words[1], "--help"]).output
        for flag in words where flag.hasPrefix("--") { #expect(help.contains(flag + " "), "\(unit): \(flag) is not a flag of foghorn \(words[1])") }
        if unit == "foghorn.service" {
            #expect(text.contains("ExecReload=/bin/kill -HUP $MAINPID"))
            #expect(text.contains("LimitNOFILE="))
            #expect(text.contains("DynamicUser=yes"))
        }
    }

    @Test func theDockerfilesRuntimePackagesCoverWhatTheBinaryLinks() throws {
        let dockerfile = try String(contentsOfFile: Self.root + "/deploy/Dockerfile", encoding: .utf8)
        #expect(dockerfile.contains("--static-swift-stdlib"))
        let runtime = String(dockerfile[dockerfile.range(of: "FROM debian:12-slim")!.upperBound...])
        let lines = runtime.split(separator: "\n").map(String.init)
        let installLine = try #require(lines.first { $0.contains("apt-get install") })
        let words: [String] = installLine.split(separator: " ").map(String.init)
        let skipped: Set<String> = ["apt-get", "install", "&&"]
        let installed = Set(words.filter { !$0.hasPrefix("-") && !skipped.contains($0) })
        let base: Set<String> = ["libc6", "libstdc++6", "libgcc-s1"]  // in debian:12-slim
        let ldd = try Self.run("/usr/bin/ldd", [FoghornProcess.binaryPath])
        #expect(ldd.status == 0)
        var checked = 0
        for line in ldd.output.split(separator: "\n") {
            guard let arrow = line.range(of: "=> ") else { continue }
            let path = String(line[arrow.upperBound...].split(separator: " ")[0])
            // The Swift runtime is linked statically in the image (--static-swift-stdlib).
            if path.contains("/swift/") || path.contains("swift/linux") { continue }
            var owner = try Self.run("/usr/bin/dpkg", ["-S", path])
            if owner.status != 0 { owner = try Self.run("/usr/bin/dpkg", ["-S", "/usr" + path]) }
            #expect(owner.status == 0, "no Debian package owns \(path)")
            let package = String(owner.output.split(separator: ":")[0])
            #expect(installed.contains(package) || base.contains(package), "\(path) comes from \(package), which the runtime stage does not install")
            checked += 1
        }
        #expect(checked >= 6)
    }

    @Test func theComposeFileRunsFoghornsOwnConfiguration() throws {
        let composeDocs = try Self.yaml(Self.root + "/deploy/compose/compose.yaml")
        let compose = try #require(composeDocs.first)
        let services = try #require(compose["services"]?.objectValue)
        let replicas = services.filter { $0.key.hasPrefix("foghorn-") }
        #expect(replicas.count == 3)
        #expect(services.contains { $0.key == "redis" } && services.contains { $0.key == "fake-edge" })
        // The cluster configuration passes check-config, with each replica's environment.
        let config = try #require(compose["configs"]?["cluster"]?["content"]?.stringValue)
        let path = try Self.scratch("cluster.yaml", config)
        var ids: Set<String> = []
        for (name, service) in replicas {
            #expect(service["command"]?.arrayValue?.first == .string("serve"))
            var env: [String: String] = [:]
            for (k, v) in service["environment"]?.objectValue ?? [] { env[k] = v.stringValue }
            let known = Set(ConfigKeys.all.map(\.environmentVariable))
            for k in env.keys { #expect(known.contains(k), "\(name): \(k) is not a Foghorn variable") }
            let state = try JSONParser.parse(Array(env["FOGHORN_STATE"]!.utf8))
            ids.insert(state["replica_id"]!.stringValue!)
            #expect(state["redis_url"] == .string("redis://redis:6379"))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: FoghornProcess.binaryPath)
            p.arguments = ["check-config", "--config", path]
            p.environment = env.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a }
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(name): \(text)")
        }
        #expect(ids.count == 3)
        // The fake edge serves a document the Mist mapper accepts, at the address the config polls.
        let document = try #require(compose["configs"]?["mist-document"]?["content"]?.stringValue)
        _ = try MistSample.parse(JSONParser.parse(Array(document.utf8)))
        #expect(config.contains("fake-edge:4242"))
    }

    @Test func theKubernetesManifestsUseRealFlagsAndProbes() throws {
        let docs = try Self.yaml(Self.root + "/deploy/kubernetes/foghorn.yaml")
        let kinds = docs.compactMap { $0["kind"]?.stringValue }
        #expect(Set(kinds) == ["ConfigMap", "Deployment", "Service", "PodDisruptionBudget"])
        let configMap = try #require(docs.first { $0["kind"] == .string("ConfigMap") })
        let config = try #require(configMap["data"]?["foghorn.yaml"]?.stringValue)
        let deployment = try #require(docs.first { $0["kind"] == .string("Deployment") })
        let container = try #require(deployment["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first)
        let argValues: [JSONValue] = container["args"]?.arrayValue ?? []
        var args: [String] = argValues.compactMap { $0.stringValue }
        #expect(args.first == "serve")
        // The same arguments, with the ConfigMap's file, pass check-config.
        let path = try Self.scratch("foghorn.yaml", config)
        if let i = args.firstIndex(of: "--config") { args[i + 1] = path }
        let r = try Self.run(FoghornProcess.binaryPath, ["check-config"] + args.dropFirst())
        #expect(r.status == 0, "\(r.output)")
        // Probes ask Foghorn's own paths on a declared port.
        let ports = Set(container["ports"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            let get = try #require(container[probe]?["httpGet"])
            #expect([OpsPaths.livez, OpsPaths.readyz].contains(get["path"]?.stringValue ?? ""), "\(probe)")
            #expect(ports.contains(get["port"]?.stringValue ?? ""), "\(probe)")
        }
        let env = container["env"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        let known = Set(ConfigKeys.all.map(\.environmentVariable))
        for name in env where name.hasPrefix("FOGHORN_") { #expect(known.contains(name), "\(name)") }
        // Draining fits in the grace period: shutdown_delay_ms + hard_stop_after_ms < terminationGracePeriodSeconds.
        let podSpec = deployment["spec"]?["template"]?["spec"]
        let grace = podSpec?["terminationGracePeriodSeconds"]?.intValue ?? 0
        #expect(config.contains("hard_stop_after_ms: 25000") && grace * 1000 > 25_000 + 5000)
        let pdb = try #require(docs.first { $0["kind"] == .string("PodDisruptionBudget") })
        #expect(pdb["spec"]?["minAvailable"]?.intValue ?? 0 < deployment["spec"]?["replicas"]?.intValue ?? 0)
    }
}
