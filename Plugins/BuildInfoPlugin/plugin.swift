import Foundation
import PackagePlugin

/// Bakes the git commit into the binary: before every build, `scripts/build-info` writes
/// `BuildInfo.swift` (rewritten only when the commit changes, so nothing recompiles otherwise).
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appendingPathComponent("BuildInfo")
        let root = context.package.directoryURL
        return [
            .prebuildCommand(
                displayName: "Foghorn build info (git commit)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [root.appendingPathComponent("scripts/build-info").path, root.path, out.path],
                outputFilesDirectory: out),
        ]
    }
}
