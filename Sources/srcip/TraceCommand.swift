import ArgumentParser
import Foundation
import SrcipCore
import SrcipExport
import SrcipKernel
import SrcipServices
import SrcipVersion

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
            help: "Interface to attach to, a name or a shell pattern ('veth*', 'cali*'; repeatable). Default: every non-loopback interface of this network namespace. Interfaces that appear later and match are attached too.")
    var interfaces: [String] = []

    @Option(name: .customLong("exclude-interface"), help: "Interface not to attach to, a name or a shell pattern (repeatable).")
    var excludedInterfaces: [String] = []

    @Option(parsing: .unconditional, help: "Stop after this many seconds (0.001 to one year).")
    var duration: Double?

    @Option(parsing: .unconditional, help: "Stop after this many records written (flows, or BPF records with --raw); at least 1.")
    var count: Int?

    @Option(name: .customLong("host"), help: "Only flows to or from this address, before or after NAT (repeatable).")
    var hosts: [String] = []

    @Option(name: .customLong("port"), parsing: .unconditionalSingleValue,
            help: "Only flows with this port (0 to 65535), before or after NAT (repeatable).")
    var ports: [Int] = []

    @Option(name: .customLong("protocol"), help: "Only this protocol: tcp, udp, icmp or icmpv6 (repeatable).")
    var protocols: [ProtocolOption] = []

    // --service, --namespace, --verdict, --from-ip, --to-ip (FilterOptions.swift).
    @OptionGroup(title: "Filters")
    var filtering: FilterOptions

    @Option(help: "Output format: text, compact (one short line), table (aligned columns), jsonl, csv or ipfix (with --raw: text or jsonl).")
    var format: TraceFormat = .text

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output. An existing file is refused unless --append or --force is given. Records reach the file within a second, as whole lines; SIGHUP reopens it (for logrotate), SIGUSR1 prints a status line.")
    var output: String?

    @Flag(help: "With --output: add to an existing file instead of refusing it.")
    var append = false

    @Flag(help: "With --output: replace an existing file instead of refusing it.")
    var force = false

    @Option(help: "Where Services come from: auto, iptables, nftables, none, or a file (iptables-save output, nft -j list ruleset, kubectl get svc,endpointslices,nodes -A -o json).")
    var services: ServiceSource = .auto

    @Option(help: "Node name written into records. Default: the network namespace's name, else the host name.")
    var node: String?

    @Option(name: .customLong("node-ips"),
            help: "Addresses of the cluster's nodes, comma-separated or repeated; a source there is a `node` client (kube-proxy still treats it as external). A kubectl dump given to --services adds its Nodes' addresses.")
    var nodeIPs: [String] = []

    @Option(parsing: .unconditional, help: "End flows idle for this many seconds (UDP, ICMP, TCP without FIN); 0.1 to one year.")
    var idleTimeout: Double = 30

    @Option(name: .customLong("max-new-flows"), parsing: .unconditional,
            help: "New flows per second traced in full (0: no limit). Past it, under a flood of new connections, only a sample of 1 in 2, 4, 8, ... new flows is traced, chosen by the connection's tuple; the rest are counted (exit summary, JSON summary, --metrics) so that srcip's CPU stays bounded and the node is never slowed.")
    var maxNewFlows = 10_000

    @Option(name: .customLong("ready-file"),
            help: "Once tracing (hooks attached, Services read), write this file: one JSON line with pid, node, interfaces, attach (tcx or clsact), join (conntrack or fingerprint) and services.")
    var readyFile: String?

    // --check, --junit, --check-service (CheckReport.swift).
    @OptionGroup(title: "Verification")
    var checking: CheckOptions
    private var check: Bool { checking.check }

    // --metrics (TraceMetricsOptions.swift).
    @OptionGroup(title: "Metrics")
    var metricsOptions: MetricsOptions

    // --active-timeout, --ipfix-collector, --template-refresh, --observation-domain (TraceExportOptions.swift).
    @OptionGroup(title: "Long flows and IPFIX export")
    var export: TraceExportOptions

    @Flag(help: "Write one line per BPF record instead of one per flow.")
    var raw = false

    @Flag(help: "Never use conntrack; join pre- and post-NAT views by packet fingerprints only.")
    var fingerprint = false

    @Flag(help: "Use clsact filters even where tcx links are available.")
    var clsact = false

    @Flag(name: .shortAndLong, help: "Print libbpf's log, including the verifier log when loading fails, the verifier's instructions and time per program, and interfaces attached or let go while tracing.")
    var verbose = false

    func validate() throws {
        for h in hosts where IPAddress(h) == nil {
            throw ValidationError("--host \(h) is not an IPv4 or IPv6 address")
        }
        for ip in nodeIPList where IPAddress(ip) == nil {
            throw ValidationError("--node-ips \(ip) is not an IPv4 or IPv6 address")
        }
        try OutputPathCheck.validate(output)
        if raw && !filtering.filter.isEmpty {
            throw ValidationError("--service, --namespace, --verdict, --from-ip and --to-ip select flows: they cannot be combined with --raw (use --host)")
        }
        if raw && check { throw ValidationError("--check judges flows: it cannot be combined with --raw") }
        if raw && format.rawFormat == nil { throw ValidationError("--format \(format) with --raw: use text or jsonl") }
        if format == .ipfix && output == nil { throw ValidationError("--format ipfix is binary: name a file with --output") }
        if raw && !export.collectors.isEmpty { throw ValidationError("--ipfix-collector exports flows: it cannot be combined with --raw") }
        if append && force { throw ValidationError("--append and --force exclude each other: keep the file's records, or replace them") }
        if (append || force) && output == nil { throw ValidationError("--append and --force apply to --output FILE") }
        if let output, output != "-", !append, !force,
           (try? FileManager.default.attributesOfItem(atPath: output)[.type] as? FileAttributeType) == .typeRegular {
            throw ValidationError("--output \(output) already exists; add --append to add to it or --force to replace it")
        }
        if let d = duration { try OptionValidation.seconds(d, option: "--duration", min: 0.001) }
        if let c = count { try OptionValidation.integer(c, option: "--count", in: 1...Int.max) }
        for p in ports { try OptionValidation.integer(p, option: "--port", in: 0...65535) }
        try OptionValidation.seconds(idleTimeout, option: "--idle-timeout", min: 0.1)
        try OptionValidation.integer(maxNewFlows, option: "--max-new-flows", in: 0...100_000_000)
    }

    private var nodeIPList: [String] {
        nodeIPs.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// How `--output` is opened.
    var openMode: FileOpenMode { append ? .append : force ? .truncate : .create }

    func run() async throws {
        try Capabilities.current().requireTracing()   // before anything else can fail or warn for the same reason
        TerminationSignal.install()
        ControlSignals.install()
        let filter = FlowFilter(hosts: Set(hosts.compactMap { IPAddress($0) }), ports: Set(ports.map { UInt16($0) }),
                                protocols: Set(protocols.map(\.l4)), records: filtering.filter)
        let (context, discovered) = try NodeContextBuilder.build(node: node, services: raw ? .none : services,
                                                                 nodeIPs: nodeIPList.compactMap { IPAddress($0) })
        let catalogWarnings = discovered?.warnings ?? []
        var options = Tracer.Options(selection: InterfaceSelection(include: interfaces, exclude: excludedInterfaces))
        options.interfaceNames = context.interfaceNames
        options.onInterfaceChange = { [verbose] c in
            if c.isProblem { Diagnostics.warning("\(c)") } else if verbose { Diagnostics.note("\(c)") }
        }
        options.preferTCX = !clsact
        options.load.forceFingerprint = fingerprint
        options.load.verbose = verbose
        options.load.verifierStatistics = verbose
        let tracer = try Tracer(options: options)
        if verbose, !tracer.object.verifierStatistics.isEmpty {
            Diagnostics.note("verifier: " + tracer.object.verifierStatistics.map {
                "\($0.program) \($0.instructionsProcessed) instructions, \($0.verificationMicroseconds / 1000) ms"
            }.joined(separator: "; "))
        }
        let names = tracer.interfacesAtStart.map(\.name)
        let idleNs = UInt64(idleTimeout * 1e9)
        let path = output ?? "-"
        let out: TraceOutput
        if raw, let rawFormat = format.rawFormat {
            out = .raw(try RawRecordOutput(format: rawFormat, path: path, mode: openMode, context: context, filter: filter,
                                           limit: count ?? .max))
        } else {
            out = .flows(try FlowOutput(format: format.flowFormat, path: path, mode: openMode, context: context, filter: filter,
                                        idleTimeoutNs: idleNs, limit: count ?? .max,
                                        liveCounts: { [object = tracer.object] in object.flowCounts($0, remove: true) },
                                        peekCounts: { [object = tracer.object] in object.flowCounts($0, remove: false) },
                                        activeTimeoutNs: UInt64(export.activeTimeout * 1e9),
                                        observationDomainID: export.domain(node: context.node),
                                        collectors: try export.collectorWriters(node: context.node),
                                        maxNewFlowsPerSecond: maxNewFlows))
        }
        let start = try tracer.counters()
        let attach = tracer.attachments.first?.mode.description ?? "-"
        try out.writeRun(TraceRunRecord(
            srcipVersion: SrcipVersion.current, node: context.node, kernel: KernelRelease.current, attach: attach,
            join: tracer.flavour.description, services: context.catalog.source, catalogWarnings: catalogWarnings,
            interfaces: names, commandLine: CommandLine.arguments, activeTimeout: raw ? 0 : export.activeTimeout,
            startNs: KernelClock.unixNs()))

        Diagnostics.note("tracing \(names.isEmpty ? "no interface yet" : names.joined(separator: ", ")) on \(context.node) (\(attach), "
                         + "\(tracer.flavour) join; services: \(context.catalog.source)); Ctrl-C to stop")
        if let readyFile {
            try ReadyFile(pid: getpid(), node: context.node, interfaces: names, attach: attach,
                          join: tracer.flavour.description, services: context.catalog.source).write(to: readyFile)
        }
        let metrics = try metricsOptions.start(catalogServices: context.catalog.services.count)
        if let metrics, case .flows(let f) = out { f.onWrite = metrics.flowWritten }
        var pipeline = TracePipeline(tracer: tracer, idleTimeoutNs: idleNs, duration: duration)
        pipeline.catalog = try CatalogFollower(source: raw ? .none : services, node: context.node, initial: discovered, verbose: verbose)
        var monitor = LossMonitor()
        let status = { (prefix: String) -> String in
            var stats: CorrelatorStats?
            if case .flows(let f) = out { stats = f.correlatorStats }
            let c = (try? tracer.counters()).map { $0.since(start) } ?? CounterSnapshot()
            return prefix + TraceSummary.line(written: out.written, unit: out.unit, counters: c, received: tracer.recordsReceived,
                                              bufferDropped: pipeline.dropped.value, correlator: stats)
        }
        try await pipeline.run { event in
            try out.handle(event)
            if case .catalog(.refreshed(let r)) = event { metrics?.catalogRefreshed(services: r.services.services.count) }
            if case .sweep(_, _, let now) = event {
                try out.flush()
                if let c = try? tracer.counters().since(start) {
                    var stats: CorrelatorStats?
                    if case .flows(let f) = out { stats = f.correlatorStats }
                    let losses = LossMonitor.Losses(ringBuffer: c.ringbufLost, mapEvicted: c.flowsEvicted,
                                                    correlatorEvicted: stats?.flowsEvicted ?? 0,
                                                    consumerDropped: pipeline.dropped.value,
                                                    sampledOut: stats?.newFlowsSampledOut ?? 0)
                    if let warning = monitor.check(losses, atNs: now) { Diagnostics.warning(warning) }
                }
                var stats: CorrelatorStats?
                if case .flows(let f) = out { stats = f.correlatorStats }
                metrics?.sweep(tracer: tracer, since: start, correlator: stats, consumerDropped: pipeline.dropped.value)
            }
            if ControlSignals.takeHangup() {
                try out.reopen()
                Diagnostics.note("SIGHUP: reopened \(path)")
            }
            if ControlSignals.takeStatus() { Diagnostics.note(status("status: ")) }
            return count.map { out.written >= $0 } ?? false
        }
        try out.finish { stats in
            TraceSummaryRecord.make(node: context.node, counters: ((try? tracer.counters()) ?? start).since(start),
                                    received: tracer.recordsReceived, bufferDropped: pipeline.dropped.value,
                                    correlator: stats, interfaces: tracer.interfaceCounts)
        }
        metrics?.stop()
        let end = try tracer.counters()
        var stats: CorrelatorStats?
        if case .flows(let f) = out { stats = f.correlatorStats }
        Diagnostics.summary(TraceSummary.line(written: out.written, unit: out.unit, counters: end.since(start),
                                           received: tracer.recordsReceived, bufferDropped: pipeline.dropped.value,
                                           correlator: stats))
        Diagnostics.note("interfaces: \(tracer.interfaceCounts)")
        if let catalog = pipeline.catalog { Diagnostics.note(catalog.summary) }
        if check, case .flows(let f) = out { try verdict(f, node: context.node) }
    }

    /// `--check`: the verification table on standard error (JSON lines with `--format jsonl`), `--junit`, and the exit
    /// status scripts act on (0 all as documented, 1 a mismatch, 2 nothing verifiable).
    func verdict(_ out: FlowOutput, node: String) throws {
        let report = out.verification.report(services: checking.checkServices)
        try CheckReport.finish(report, options: checking, jsonl: format == .jsonl, suite: "srcip check \(node)") { text in
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}
