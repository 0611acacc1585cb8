import ArgumentParser
import Foundation
import SrcipCore
import SrcipKernel

/// `srcip trace`: attach to interfaces and print what the BPF programs record.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace flows at tc ingress and egress and show the NAT the kernel applied to them.",
        discussion: """
        srcip attaches BPF programs to the ingress and egress hooks of the interfaces of the current network \
        namespace and prints one line per record: time, interface, hook, event, the tuple as seen there, and \
        the conntrack original ⇒ translated mapping with SNAT/DNAT marked. Records follow flows, not packets: \
        a flow is reported when first seen at a hook, when its NAT mapping becomes known, and when it ends.

        Run it on a node, or inside any network namespace:
          srcip trace --interface eth0 --port 30080
          ip netns exec NODE srcip trace --format jsonl --output flows.jsonl --duration 30

        Stop with Ctrl-C; srcip detaches everything and prints its loss counters on exit.
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, jsonl
    }

    @Option(name: [.short, .customLong("interface")],
            help: "Interface to attach to (repeatable). Default: every non-loopback interface of this network namespace.")
    var interfaces: [String] = []

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: "Stop after this many records.")
    var count: Int?

    @Option(name: .customLong("host"), help: "Only flows to or from this address, before or after NAT (repeatable).")
    var hosts: [String] = []

    @Option(name: .customLong("port"), help: "Only flows with this port, before or after NAT (repeatable).")
    var ports: [UInt16] = []

    @Option(name: .customLong("protocol"), help: "Only this protocol: tcp, udp, icmp or icmpv6 (repeatable).")
    var protocols: [String] = []

    @Option(help: "Output format: text (one line per record) or jsonl (one JSON object per record).")
    var format: Format = .text

    @Option(name: .shortAndLong, help: "Write records to this file instead of standard output.")
    var output: String?

    @Option(help: "Node name written into JSON records. Default: the network namespace's name, else the host name.")
    var node: String?

    @Option(help: "End flows idle for this many seconds (UDP, ICMP, TCP without FIN).")
    var idleTimeout: Double = 30

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
        for p in protocols where L4Protocol(name: p) == nil {
            throw ValidationError("--protocol \(p) is not one of tcp, udp, icmp, icmpv6")
        }
        if let d = duration, d <= 0 { throw ValidationError("--duration must be positive") }
        if let c = count, c <= 0 { throw ValidationError("--count must be positive") }
        if idleTimeout <= 0 { throw ValidationError("--idle-timeout must be positive") }
    }

    func run() async throws {
        let filter = ObservationFilter(hosts: Set(hosts.compactMap { IPAddress($0) }), ports: Set(ports),
                                       protocols: Set(protocols.compactMap { L4Protocol(name: $0) }))
        let names = interfaces.isEmpty ? Interfaces.list().map(\.name) : interfaces
        guard !names.isEmpty else {
            throw ValidationError("this network namespace has no interface besides loopback; name one with --interface")
        }
        var options = Tracer.Options(interfaces: names)
        options.preferTCX = !clsact
        options.load.forceFingerprint = fingerprint
        options.load.verbose = verbose
        let tracer = try Tracer(options: options)
        let sink = try OutputSink(path: output)
        let nodeName = node ?? NodeIdentity.current()
        let ifnames = Dictionary(Interfaces.list(includeLoopback: true).map { ($0.index, $0.name) },
                                 uniquingKeysWith: { a, _ in a })
        let clock = WallClock()
        let start = try tracer.counters()

        Diagnostics.note("tracing \(names.joined(separator: ", ")) (\(tracer.attachments.first?.mode.description ?? "-"), "
                         + "\(tracer.flavour) join); Ctrl-C to stop")
        let stop = StopSignal(tracer: tracer)
        stop.install(duration: duration)
        let (stream, continuation) = AsyncStream<Observation>.makeStream()
        let sweeper = FlowSweepTimer(tracer: tracer, idleNs: UInt64(idleTimeout * 1e9)) { expired in
            for o in expired { continuation.yield(o) }
        }
        let forward = Task {
            for await o in tracer.observations() { continuation.yield(o) }
            continuation.finish()
        }

        var written = 0
        for await o in stream {
            guard filter.matches(o) else { continue }
            let ifname = ifnames[o.ifindex] ?? "if\(o.ifindex)"
            let unix = clock.unixNs(monotonic: o.timestampNs)
            switch format {
            case .text: sink.write(ObservationFormat.text(o, interface: ifname, unixNs: unix))
            case .jsonl: sink.write(ObservationFormat.json(o, node: nodeName, interface: ifname, unixNs: unix))
            }
            written += 1
            if let count, written >= count { stop.fire() }
        }
        sweeper.cancel()
        await forward.value
        sink.close()
        let end = try tracer.counters()
        tracer.close()
        Diagnostics.note(TraceSummary.line(records: written, counters: end.since(start),
                                           received: tracer.recordsReceived))
    }
}

/// Which observations `trace` prints.
struct ObservationFilter {
    var hosts: Set<IPAddress>
    var ports: Set<UInt16>
    var protocols: Set<L4Protocol>

    func matches(_ o: Observation) -> Bool {
        if !protocols.isEmpty && !protocols.contains(o.tuple.proto) { return false }
        var tuples = [o.tuple]
        if let ct = o.conntrack { tuples += [ct.original, ct.reply] }
        if !hosts.isEmpty && !tuples.contains(where: { hosts.contains($0.src) || hosts.contains($0.dst) }) { return false }
        if !ports.isEmpty && !tuples.contains(where: { ports.contains($0.srcPort) || ports.contains($0.dstPort) }) {
            return false
        }
        return true
    }
}
