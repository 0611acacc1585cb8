import ArgumentParser
import SrcipVersion

@main
struct Srcip: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "srcip",
        abstract: "Trace where the source IP of Kubernetes Service traffic is rewritten (SNAT).",
        version: SrcipVersion.current,
        subcommands: [TraceCommand.self, MergeCommand.self, LabCommand.self])
}
