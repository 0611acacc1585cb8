import ArgumentParser

@main
struct Srcip: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "srcip",
        abstract: "Trace where the source IP of Kubernetes Service traffic is rewritten (SNAT).",
        subcommands: [LabCommand.self])
}
