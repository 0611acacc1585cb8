import ArgumentParser
import Foundation
import SrcipCore
import SrcipExport
import SrcipKernel
import SrcipServices

/// `srcip trace`: attach to interfaces, correlate what the BPF programs record into flows, write them out.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace flows at tc ingress and egress and show where their source IP was rewritten.",
        discussion: """
        srcip attaches BPF programs to the ingress and egress hooks of the interfaces of the current network \
        namespace, joins what they see before and after NAT (from the kernel's conntrack entry, or packet \
        fingerprints), attributes each flow to a Kubernetes Service and writes one record per flow when it \
        ends: the tuple as it entered the node, the tuple as it left toward the backend, where SNAT happened \
        (interface, hook), the verdict (preserved, snat, dropped, rejected) and what Kubernetes documents for \
        that Service and client.

        Run it on a node, or inside any network namespace:
          srcip trace --port 30080
          ip netns exec NODE srcip trace --format jsonl --output flows.jsonl --duration 30
          srcip trace --raw -i eth0          # one line per BPF record instead of per flow

        Stop with Ctrl-C; srcip detaches everything, writes the flows still open and prints its counters.
        """)

    @Option(name: [.short, .customLong("interface")],
            help: "Interface to attach to (repeatable). Default: every non-loopback interface of this network namespace.")
    var interfaces: [String] = []

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: "Stop after this many records written (flows, or BPF records with --raw).")
    var count: Int?

    @Option(name: .customLong("host"), help: "Only flows to or from this address, before or after NAT (repeatable).")
    var hosts: [String] = []

    @Option(name: .customLong("port"), help: "Only flows with this port, before or after NAT (repeatable).")
    var ports: [UInt16] = []

    @Option(name: .customLong("protocol"), help: "Only this protocol: tcp, udp, icmp or icmpv6 (repeatable).")
    var protocols: [ProtocolOption] = []

    @Option(help: "Output format: text, jsonl, csv or ipfix (with --raw: text or jsonl).")
    var format: TraceFormat = .text

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    @Option(help: "Where Services come from: auto, iptables, nftables, none, or a file (iptables-save output, nft -j list ruleset, kubectl get svc,endpointslices -A -o json).")
    var services: ServiceSource = .auto

    @Option(help: "Node name written into records. Default: the network namespace's name, else the host name.")
    var node: String?

    @Option(name: .customLong("node-ips"),
            help: "Addresses of the cluster's nodes, comma-separated or repeated; a source there is a `node` client (kube-proxy still treats it as external). A kubectl dump given to --services adds its Nodes' addresses.")
    var nodeIPs: [String] = []

    @Option(help: "End flows idle for this many seconds (UDP, ICMP, TCP without FIN).")
    var idleTimeout: Double = 30

    @Option(name: .customLong("ready-file"),
            help: "Once tracing (hooks attached, Services read), write this file: one JSON line with pid, node, interfaces, attach (tcx or clsact), join (conntrack or fingerprint) and services.")
    var readyFile: String?

    @Flag(help: "Exit with status 1 if any flow's verdict differs from what Kubernetes documents for its Service and client (e.g. SNAT where externalTrafficPolicy: Local promises the client IP), 2 if no flow could be checked.")
    var check = false

    @Flag(help: "Write one line per BPF record instead of one per flow.")
    var raw = false

    @Flag(help: "Never use conntrack; join pre- and post-NAT views by packet fingerprints only.")
    var fingerprint = false

    @Flag(help: "Use clsact filters even where tcx links are available.")
    var clsact = false

    @Flag(name: .shortAndLong, help: "Print libbpf's log, including the verifier log when loading fails.")
    var verbose = false

    func validate() throws {
        for h in hosts where IPAddress(h) == nil {
            throw ValidationError("--host \(h) is not an IPv4 or IPv6 address")
        }
        for ip in nodeIPList where IPAddress(ip) == nil {
            throw ValidationError("--node-ips \(ip) is not an IPv4 or IPv6 address")
        }
        if raw && check { throw ValidationError("--check judges flows: it cannot be combined with --raw") }
        if raw && format.rawFormat == nil { throw ValidationError("--format \(format) with --raw: use text or jsonl") }
        if format == .ipfix && output == nil { throw ValidationError("--format ipfix is binary: name a file with --output") }
        if let d = duration, d <= 0 { throw ValidationError("--duration must be positive") }
        if let c = count, c <= 0 { throw ValidationError("--count must be positive") }
        if idleTimeout <= 0 { throw ValidationError("--idle-timeout must be positive") }
    }

    private var nodeIPList: [String] {
        nodeIPs.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        TerminationSignal.install()
        let filter = FlowFilter(hosts: Set(hosts.compactMap { IPAddress($0) }), ports: Set(ports),
                                protocols: Set(protocols.map(\.l4)))
        let names = interfaces.isEmpty ? Interfaces.list().map(\.name) : interfaces
        guard !names.isEmpty else {
            throw ValidationError("this network namespace has no interface besides loopback; name one with --interface")
        }
        let (context, discovered) = try NodeContextBuilder.build(node: node, services: raw ? .none : services,
                                                                 nodeIPs: nodeIPList.compactMap { IPAddress($0) })
        var options = Tracer.Options(interfaces: names)
        options.preferTCX = !clsact
        options.load.forceFingerprint = fingerprint
        options.load.verbose = verbose
        let tracer = try Tracer(options: options)
        let idleNs = UInt64(idleTimeout * 1e9)
        let path = output ?? "-"
        let out: TraceOutput
        if raw, let rawFormat = format.rawFormat {
            out = .raw(try RawRecordOutput(format: rawFormat, path: path, context: context, filter: filter,
                                           limit: count ?? .max))
        } else {
            out = .flows(try FlowOutput(format: format.flowFormat, path: path, context: context, filter: filter,
                                        idleTimeoutNs: idleNs, limit: count ?? .max))
        }
        let start = try tracer.counters()
        let attach = tracer.attachments.first?.mode.description ?? "-"

        Diagnostics.note("tracing \(names.joined(separator: ", ")) on \(context.node) (\(attach), "
                         + "\(tracer.flavour) join; services: \(context.catalog.source)); Ctrl-C to stop")
        if let readyFile {
            try ReadyFile(pid: getpid(), node: context.node, interfaces: names, attach: attach,
                          join: tracer.flavour.description, services: context.catalog.source).write(to: readyFile)
        }
        var pipeline = TracePipeline(tracer: tracer, idleTimeoutNs: idleNs, duration: duration)
        pipeline.catalog = try CatalogFollower(source: raw ? .none : services, node: context.node, initial: discovered, verbose: verbose)
        try await pipeline.run { event in
            try out.handle(event)
            return count.map { out.written >= $0 } ?? false
        }
        try out.finish()
        let end = try tracer.counters()
        var stats: CorrelatorStats?
        if case .flows(let f) = out { stats = f.correlatorStats }
        Diagnostics.note(TraceSummary.line(written: out.written, unit: out.unit, counters: end.since(start),
                                           received: tracer.recordsReceived, bufferDropped: pipeline.dropped.value,
                                           correlator: stats))
        if let catalog = pipeline.catalog { Diagnostics.note(catalog.summary) }
        if check, case .flows(let f) = out { try Self.verdict(f) }
    }

    /// `--check`: one line per flow that broke the documented behaviour, and the exit status scripts act on.
    static func verdict(_ out: FlowOutput) throws {
        for r in out.expectationsMissed {
            Diagnostics.note("FAIL \(r.textLine)")
        }
        let missed = out.expectationsMissed.count
        Diagnostics.note("check: \(out.expectationsMet) flows as documented, \(missed) not")
        if missed > 0 { throw ExitCode(1) }
        if out.expectationsMet == 0 {
            Diagnostics.note("check: no flow to a known Service was seen, nothing verified")
            throw ExitCode(2)
        }
    }
}
