import ArgumentParser

@main
struct Srcip: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "srcip",
        abstract: "Trace where the source IP of Kubernetes Service traffic is rewritten (SNAT).",
        subcommands: [TraceCommand.self, MergeCommand.self, LabCommand.self])
}
