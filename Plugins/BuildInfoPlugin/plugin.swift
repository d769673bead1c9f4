import Foundation
import PackagePlugin

/// Bakes the git commit into the binary: `scripts/build-info` writes `BuildInfo.swift`, re-run
/// whenever git's HEAD, the current branch's ref or the index change (a commit, a checkout, a
/// staged edit). A build command with those inputs, not a prebuild command: SwiftPM skips
/// prebuild commands when it reuses a cached build plan, and the commit went stale.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appendingPathComponent("BuildInfo.swift")
        let root = context.package.directoryURL
        let git = root.appendingPathComponent(".git")
        var inputs: [URL] = []
        for name in ["HEAD", "index", "packed-refs"] {
            let file = git.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file.path) { inputs.append(file) }
        }
        if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8), head.hasPrefix("ref: ") {
            let ref = git.appendingPathComponent(head.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines))
            if FileManager.default.fileExists(atPath: ref.path) { inputs.append(ref) }
        }
        let script = root.appendingPathComponent("scripts/build-info")
        return [
            .buildCommand(
                displayName: "Foghorn build info (git commit)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, root.path, out.deletingLastPathComponent().path],
                inputFiles: inputs + [script],
                outputFiles: [out]),
        ]
    }
}
