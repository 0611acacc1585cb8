import Foundation
import PackagePlugin

/// Generates `GeneratedVersion.swift` (srcip's version from `git describe --always --dirty`) before every build
/// by running `scripts/gen-version.sh`; see that script for the fallbacks.
@main
struct SrcipVersionPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let outputDirectory = context.pluginWorkDirectoryURL.appendingPathComponent("Generated")
        let package = context.package.directoryURL
        var environment: [String: String] = [:]
        if let override = ProcessInfo.processInfo.environment["SRCIP_VERSION"] {
            environment["SRCIP_VERSION"] = override
        }
        return [
            .prebuildCommand(
                displayName: "srcip version (git describe)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [
                    package.appendingPathComponent("scripts/gen-version.sh").path,
                    package.path,
                    outputDirectory.appendingPathComponent("GeneratedVersion.swift").path,
                ],
                environment: environment,
                outputFilesDirectory: outputDirectory),
        ]
    }
}
