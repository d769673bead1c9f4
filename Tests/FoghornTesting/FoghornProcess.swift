import Foundation

/// Runs the real `foghorn` binary (built next to the test bundle) and reads
/// the ports it prints when ready.
public final class FoghornProcess {
    let process = Process()
    public private(set) var httpPort: UInt16 = 0
    public private(set) var internalPort: UInt16 = 0
    /// The HTTPS port, when the binary serves HTTPS.
    public private(set) var httpsPort: UInt16 = 0
    /// The edge API's port, when the binary serves one (`edge_listen`).
    public private(set) var edgePort: UInt16 = 0
    private let stdout = Pipe()
    private let stderr = Pipe()

    public static var binaryPath: String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("foghorn").path,
            FileManager.default.currentDirectoryPath + "/.build/debug/foghorn",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    public var processIdentifier: Int32 { process.processIdentifier }

    /// Runs `executable` (default: the foghorn binary) with `arguments`.
    public init(arguments: [String], environment: [String: String] = [:], executable: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable ?? FoghornProcess.binaryPath)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FOGHORN_") }
        // scripts/sanitize turns leak detection off for the test process (in-process servers are not
        // freed) but on for the binary it starts: a leak there makes it exit 23, failing its test.
        if let child = env["CHILD_ASAN_OPTIONS"] { env["ASAN_OPTIONS"] = child }
        // Durable state only where a test asks for it (`--state-path`, FOGHORN_STATE_PATH): never a
        // foghorn-state.db in the package directory.
        if !arguments.contains(where: { $0.contains("--state-path") }) { env["FOGHORN_STATE_PATH"] = ":memory:" }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        launched = true
    }

    private var launched = false

    /// Waits (bounded) for the ready line and parses the two ports from it.
    public func waitUntilReady(timeoutMs: Int = 10000) throws {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        var text = ""
        let fd = stdout.fileHandleForReading.fileDescriptor
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            text += String(decoding: chunk[0..<n], as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.contains("ready:") }) {
                let ports = line.matches(of: /127\.0\.0\.1:(\d+)/).compactMap { UInt16($0.output.1) }
                guard ports.count >= 2 else { break }
                httpPort = ports[0]
                internalPort = ports[1]
                if let m = line.firstMatch(of: /https on https:\/\/127\.0\.0\.1:(\d+)/) { httpsPort = UInt16(m.output.1) ?? 0 }
                if let m = line.firstMatch(of: /edge API on https?:\/\/127\.0\.0\.1:(\d+)/) { edgePort = UInt16(m.output.1) ?? 0 }
                return
            }
        }
        throw TestClient.ClientError(message: "foghorn did not become ready; stdout: \(text)")
    }

    public func signal(_ signum: Int32) { kill(process.processIdentifier, signum) }

    /// Waits (bounded) for exit; returns the exit status or nil on timeout (then kills it).
    public func waitForExit(timeoutMs: Int) -> Int32? {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while process.isRunning && Date() < deadline { usleep(10000) }
        if process.isRunning {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        process.waitUntilExit()  // lets Foundation release what it holds for a running child
        return process.terminationStatus
    }

    public var standardErrorText: String {
        String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    deinit {
        guard launched else { return }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        // Returns once the (killed) child is reaped; without it Foundation's Process and its
        // pipes stay allocated (LeakSanitizer: 56 allocations per binary started).
        process.waitUntilExit()
    }
}
