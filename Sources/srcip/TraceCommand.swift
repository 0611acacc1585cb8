import ArgumentParser
import Foundation
import SrcipCore
import SrcipExport
import SrcipKernel

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
    var protocols: [String] = []

    @Option(help: "Output format: text, jsonl, csv or ipfix (with --raw: text or jsonl).")
    var format: String = "text"

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    @Option(help: "Where Services come from: auto, iptables, nftables, none, or a file (iptables-save output, nft -j list ruleset, kubectl get svc,endpointslices -A -o json).")
    var services: String = "auto"

    @Option(help: "Node name written into records. Default: the network namespace's name, else the host name.")
    var node: String?

    @Option(name: .customLong("node-ips"),
            help: "Addresses of the cluster's nodes, comma-separated or repeated; a source there is a `node` client (kube-proxy still treats it as external). A kubectl dump given to --services adds its Nodes' addresses.")
    var nodeIPs: [String] = []

    @Option(help: "End flows idle for this many seconds (UDP, ICMP, TCP without FIN).")
    var idleTimeout: Double = 30

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

    @Option(help: "Write this file (one JSON line, atomically) once tracing has started.")
    var readyFile: String?

    func validate() throws {
        for h in hosts where IPAddress(h) == nil {
            throw ValidationError("--host \(h) is not an IPv4 or IPv6 address")
        }
        for ip in nodeIPList where IPAddress(ip) == nil {
            throw ValidationError("--node-ips \(ip) is not an IPv4 or IPv6 address")
        }
        for p in protocols where L4Protocol(name: p) == nil {
            throw ValidationError("--protocol \(p) is not one of tcp, udp, icmp, icmpv6")
        }
        if raw && check { throw ValidationError("--check judges flows: it cannot be combined with --raw") }
        if raw {
            guard format == "text" || format == "jsonl" else {
                throw ValidationError("--format \(format) with --raw: use text or jsonl")
            }
        } else if FlowRecordFormat(name: format) == nil {
            throw ValidationError("--format \(format): use text, jsonl, csv or ipfix")
        }
        if format == "ipfix" && output == nil { throw ValidationError("--format ipfix is binary: name a file with --output") }
        if let d = duration, d <= 0 { throw ValidationError("--duration must be positive") }
        if let c = count, c <= 0 { throw ValidationError("--count must be positive") }
        if idleTimeout <= 0 { throw ValidationError("--idle-timeout must be positive") }
    }

    private var nodeIPList: [String] {
        nodeIPs.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        let filter = FlowFilter(hosts: Set(hosts.compactMap { IPAddress($0) }), ports: Set(ports),
                                protocols: Set(protocols.compactMap { L4Protocol(name: $0) }))
        let names = interfaces.isEmpty ? Interfaces.list().map(\.name) : interfaces
        guard !names.isEmpty else {
            throw ValidationError("this network namespace has no interface besides loopback; name one with --interface")
        }
        let context = try NodeContextBuilder.build(node: node, services: raw ? "none" : services,
                                                   nodeIPs: nodeIPList.compactMap { IPAddress($0) })
        var options = Tracer.Options(interfaces: names)
        options.preferTCX = !clsact
        options.load.forceFingerprint = fingerprint
        options.load.verbose = verbose
        let tracer = try Tracer(options: options)
        let out = try TraceOutput(raw: raw, format: format, path: output ?? "-", context: context, filter: filter,
                                  idleTimeoutNs: UInt64(idleTimeout * 1e9))
        if let count { out.limit = count }
        let start = try tracer.counters()

        Diagnostics.note("tracing \(names.joined(separator: ", ")) on \(context.node) (\(tracer.attachments.first?.mode.description ?? "-"), "
                         + "\(tracer.flavour) join; services: \(context.catalog.source)); Ctrl-C to stop")
        if let readyFile {
            let ready: [String: Any] = ["pid": Int(getpid()), "node": context.node, "interfaces": names, "join": tracer.flavour.rawValue,
                                        "attach": tracer.attachments.first?.mode.rawValue ?? "", "services": "\(context.catalog.source)"]
            try JSONSerialization.data(withJSONObject: ready).write(to: URL(fileURLWithPath: readyFile + ".tmp"))
            guard rename(readyFile + ".tmp", readyFile) == 0 else { throw ValidationError("cannot write --ready-file \(readyFile)") }
        }
        let stop = StopSignal(tracer: tracer)
        stop.install(duration: duration)
        let (events, continuation) = AsyncStream<TraceEvent>.makeStream()
        let sweeper = FlowSweepTimer(tracer: tracer, idleNs: UInt64(idleTimeout * 1e9)) { expired, active, now in
            if !active.isEmpty { continuation.yield(.active(active)) }
            for o in expired { continuation.yield(.observation(o)) }
            continuation.yield(.tick(now))
        }
        let forward = Task {
            for await o in tracer.observations() { continuation.yield(.observation(o)) }
            continuation.finish()
        }

        for await event in events {
            switch event {
            case .observation(let o): try out.add(o)
            case .active(let flows): out.noteActivity(flows)
            case .tick(let now): try out.tick(nowNs: now)
            }
            if let count, out.written >= count {
                stop.fire()
                break
            }
        }
        sweeper.cancel()
        await forward.value
        try out.finish()
        let end = try tracer.counters()
        tracer.close()
        Diagnostics.note(TraceSummary.line(written: out.written, unit: raw ? "records" : "flows", counters: end.since(start),
                                           received: tracer.recordsReceived, correlator: raw ? nil : out.correlatorStats))
        if check { try Self.verdict(out) }
    }

    /// `--check`: one line per flow that broke the documented behaviour, and the exit status scripts act on.
    static func verdict(_ out: TraceOutput) throws {
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

/// What reaches the trace loop: a BPF observation, or a clock tick to finish idle flows.
enum TraceEvent {
    case observation(Observation)
    case tick(UInt64)
    /// Flows the BPF map saw packets for since the last sweep (no record is sent for those packets).
    case active([(tuple: FiveTuple, lastNs: UInt64)])
}
