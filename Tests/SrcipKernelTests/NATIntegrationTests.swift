import SrcipTestbed
import Foundation
import SrcipCore
import Testing
@testable import SrcipKernel

/// Real traffic through a DNAT+MASQUERADE router namespace, traced on the router's two interfaces.
@Suite("Tracer on a NAT router", .privileged, .serialized)
struct NATIntegrationTests {
    struct Run {
        var observations: [Observation]
        var counters: CounterSnapshot
        var received: UInt64
        var ifindex: [String: UInt32]
        var tcpPorts: [UInt16]
        var tcp6Ports: [UInt16]
        var udpPorts: [UInt16]
        var programIDs: [UInt32]
        var modes: [HookAttachment.Mode]
    }

    /// Attaches inside the router namespace, runs traffic, closes the tracer and collects everything.
    static let pingID: UInt16 = 0x5a5a

    static func trace(_ lab: NATLab, fingerprint: Bool, preferTCX: Bool, tcp: Int, bytes: Int, udp: Int, pings: Int = 0,
                      tcp6: Int = 0, conntrackDirectReads: Bool? = nil,
                      whileAttached: (Tracer) throws -> Void = { _ in }) async throws -> Run {
        var opts = Tracer.Options(interfaces: [lab.routerClientIf, lab.routerServerIf])
        opts.preferTCX = preferTCX
        opts.load.forceFingerprint = fingerprint
        opts.load.conntrackDirectReads = conntrackDirectReads
        opts.load.ringBufferBytes = 1 << 20
        opts.netnsPath = lab.routerNetnsPath
        let tracer = try Tracer(options: opts)
        let stream = try tracer.observations()
        let ports: (tcp: [UInt16], udp: [UInt16])
        var tcp6Ports: [UInt16] = []
        do {
            ports = try lab.clientTraffic(tcpConnections: tcp, bytes: bytes, udpExchanges: udp)
            if pings > 0 { try lab.ping(count: pings, id: pingID) }
            if tcp6 > 0 { tcp6Ports = try lab.clientTraffic(tcpConnections: tcp6, bytes: bytes, ipv6: true).tcp }
            try await Task.sleep(for: .milliseconds(300))
            try whileAttached(tracer)
        } catch {
            tracer.close()
            throw error
        }
        let counters = try tracer.counters()
        let ids = try Hook.allCases.map { try tracer.object.runStats($0).id }
        let attachments = tracer.attachments   // the hooks attached now (none after close)
        tracer.close()
        #expect(tracer.attachments.isEmpty)
        var observations: [Observation] = []
        for await o in stream { observations.append(o) }
        var ifindex: [String: UInt32] = [:]
        for a in attachments { ifindex[a.interface] = a.ifindex }
        return Run(observations: observations, counters: counters, received: tracer.recordsReceived, ifindex: ifindex,
                   tcpPorts: ports.tcp, tcp6Ports: tcp6Ports, udpPorts: ports.udp, programIDs: ids, modes: attachments.map(\.mode))
    }

    static func ip(_ s: String) -> IPAddress { IPAddress(s)! }

    /// Both ways of reading a conntrack entry: direct loads (Linux 6.17+) and helper copies (the fallback before).
    @Test("conntrack mode: pre-NAT tuple at ingress, post-NAT at egress, mapping equals conntrack -L",
          arguments: [true, false])
    func conntrackMode(directReads: Bool) async throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let run = try await Self.trace(lab, fingerprint: false, preferTCX: true, tcp: 3, bytes: 200_000, udp: 2, pings: 2, tcp6: 2,
                                       conntrackDirectReads: directReads) { tracer in
            #expect(tracer.object.conntrackDirectReads == directReads)
        }
        #expect(run.modes.allSatisfy { $0 == .tcx })
        let table = try lab.conntrackEntries()
        let clientSide = try #require(run.ifindex[lab.routerClientIf])
        let serverSide = try #require(run.ifindex[lab.routerServerIf])
        #expect(run.tcpPorts.count == 3 && run.udpPorts.count == 2)

        #expect(run.tcp6Ports.count == 2)
        let v4 = (NATLab.clientIP, NATLab.vip, NATLab.serverIP, NATLab.routerServerSide)
        let v6 = (NATLab.clientIP6, NATLab.vip6, NATLab.serverIP6, NATLab.routerServerSide6)
        let connections = run.tcpPorts.map { ($0, L4Protocol.tcp, NATLab.vipTCPPort, NATLab.serverTCPPort, v4) }
            + run.udpPorts.map { ($0, L4Protocol.udp, NATLab.vipUDPPort, NATLab.serverUDPPort, v4) }
            + run.tcp6Ports.map { ($0, L4Protocol.tcp, NATLab.vipTCPPort, NATLab.serverTCPPort, v6) }
        var clockPairs = 0, clockReused = 0
        for (port, proto, vipPort, serverPort, addrs) in connections {
            let preNAT = FiveTuple(src: Self.ip(addrs.0), dst: Self.ip(addrs.1), srcPort: port, dstPort: vipPort, proto: proto)
            let entry = try #require(table.first { $0.original == preNAT }, "conntrack -L has \(preNAT)")
            #expect(entry.reply.src == Self.ip(addrs.2) && entry.reply.srcPort == serverPort)
            #expect(entry.reply.dst == Self.ip(addrs.3))
            let postNAT = entry.reply.reversed

            // The four flows of one connection on the router: request in and out, reply in and out.
            let views: [(UInt32, Hook, FiveTuple, Bool)] = [
                (clientSide, .ingress, preNAT, false), (serverSide, .egress, postNAT, false),
                (serverSide, .ingress, entry.reply, true), (clientSide, .egress, preNAT.reversed, true),
            ]
            var ids: Set<UInt64> = []
            for (ifindex, hook, tuple, isReply) in views {
                let recs = run.observations.filter { $0.ifindex == ifindex && $0.hook == hook && $0.tuple == tuple }
                #expect(!recs.isEmpty, "records for \(tuple) at \(hook)")
                #expect(recs.count <= 3, "\(recs.count) records for \(tuple) at \(hook): \(recs.map(\.kind))")
                #expect(recs.first?.kind == .new)
                if proto == .tcp { #expect(recs.last?.kind == .end, "\(tuple) at \(hook) ends") }
                let withCT = recs.compactMap(\.conntrack)
                #expect(!withCT.isEmpty, "\(tuple) at \(hook) learns its conntrack mapping")
                for ct in withCT {
                    #expect(ct.original == entry.original && ct.reply == entry.reply, "\(tuple) at \(hook): \(ct)")
                    #expect(ct.packetIsReply == isReply)
                    #expect(ct.dnat && ct.snat)
                    ids.insert(ct.id)
                }
            }
            #expect(ids.count == 1, "one conntrack id at every hook of \(preNAT): \(ids)")
            // A forwarded packet's first egress record takes its ingress's clock reading + 1 ns (first_clock).
            for (inView, outView) in [(views[0], views[1]), (views[2], views[3])] {
                let first = { (v: (UInt32, Hook, FiveTuple, Bool)) in
                    run.observations.first { $0.ifindex == v.0 && $0.hook == v.1 && $0.tuple == v.2 && $0.kind == .new }?.firstSeenNs
                }
                if let i = first(inView), let o = first(outView) {
                    clockPairs += 1
                    if o == i + 1 { clockReused += 1 }
                    #expect(o > i, "\(outView.2) at egress first seen after \(inView.2) at ingress")
                }
            }
        }
        // Not every pair: a jiffy may end between a packet's ingress and its egress (then egress reads the clock).
        #expect(clockPairs == 2 * connections.count && clockReused >= clockPairs - 2, "\(clockReused) of \(clockPairs) reused")
        // ICMP echo: the ingress kfunc lookup covers only TCP/UDP, so the client-side ingress record joins
        // by fingerprint, while egress reads the attached conntrack entry (masqueraded echo).
        let echo = FiveTuple(src: Self.ip(NATLab.clientIP), dst: Self.ip(NATLab.serverIP), srcPort: Self.pingID, dstPort: 0, proto: .icmp)
        let echoIn = run.observations.filter { $0.ifindex == clientSide && $0.hook == .ingress && $0.tuple == echo }
        #expect(echoIn.count == 1 && echoIn.first?.kind == .new && echoIn.first?.conntrack == nil)
        let echoOut = run.observations.filter { $0.ifindex == serverSide && $0.hook == .egress && $0.tuple.proto == .icmp }
        let echoCT = try #require(echoOut.first?.conntrack, "egress echo record carries conntrack")
        #expect(echoCT.original == echo)
        #expect(echoCT.reply.src == Self.ip(NATLab.serverIP) && echoCT.reply.dst == Self.ip(NATLab.routerServerSide))
        // ICMP tuples keep the echo id in srcPort in both directions (FiveTuple.reversed would move it).
        #expect(echoOut.first?.tuple == FiveTuple(src: echoCT.reply.dst, dst: echoCT.reply.src, srcPort: echoCT.reply.srcPort,
                                                  dstPort: 0, proto: .icmp))
        #expect(echoOut.count == 1)

        #expect(run.counters.records == run.received, "\(run.counters)")
        #expect(run.counters.ringbufLost == 0)
        #expect(UInt64(run.observations.count) == run.received)
        #expect(run.counters.flowInsertFailed == 0)
        #expect(run.counters.ctFound > 0 && run.counters.ctLookups < run.counters.packets / 4,
                "conntrack lookups stay rare on established flows: \(run.counters)")

        let links = try NATLab.run(["bpftool", "link", "show"])
        for id in run.programIDs { #expect(!links.contains("prog \(id) "), "tcx link of program \(id) is gone") }
    }

    @Test("fingerprint mode over clsact: ingress and egress NEW records of a connection share a fingerprint")
    func fingerprintMode() async throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let filters = { (dev: String, dir: String) in try lab.exec(lab.router, ["tc", "filter", "show", "dev", dev, dir]) }
        let run = try await Self.trace(lab, fingerprint: true, preferTCX: false, tcp: 2, bytes: 5000, udp: 0) { _ in
            for dev in [lab.routerClientIf, lab.routerServerIf] {
                let ingress = try filters(dev, "ingress"), egress = try filters(dev, "egress")
                // Program names are cut to 15 characters by the kernel.
                let handle = "handle 0x" + String(ClsactFilter.ownHandle, radix: 16)
                #expect(ingress.contains("\(handle) srcip_ingress_f"))
                #expect(egress.contains("\(handle) srcip_egress_fp"))
            }
        }
        #expect(run.modes.allSatisfy { $0 == .clsact })
        let clientSide = try #require(run.ifindex[lab.routerClientIf])
        let serverSide = try #require(run.ifindex[lab.routerServerIf])
        var clockReused = 0
        for port in run.tcpPorts {
            let preNAT = FiveTuple(src: Self.ip(NATLab.clientIP), dst: Self.ip(NATLab.vip), srcPort: port,
                                   dstPort: NATLab.vipTCPPort, proto: .tcp)
            let ingress = try #require(run.observations.first {
                $0.kind == .new && $0.hook == .ingress && $0.ifindex == clientSide && $0.tuple == preNAT
            })
            #expect(ingress.join == .fingerprint && ingress.conntrack == nil)
            #expect(ingress.fingerprint.tcpSeq != 0 && ingress.fingerprint.tcpTSval != 0)
            let egress = run.observations.filter {
                $0.kind == .new && $0.hook == .egress && $0.ifindex == serverSide && $0.fingerprint == ingress.fingerprint
            }
            try #require(egress.count == 1, "one egress NEW with the fingerprint of \(preNAT)")
            #expect(egress[0].tuple.dst == Self.ip(NATLab.serverIP) && egress[0].tuple.dstPort == NATLab.serverTCPPort)
            #expect(egress[0].tuple.src == Self.ip(NATLab.routerServerSide))
            #expect(egress[0].firstSeenNs > ingress.firstSeenNs)
            if egress[0].firstSeenNs == ingress.firstSeenNs + 1 { clockReused += 1 }
        }
        #expect(clockReused >= run.tcpPorts.count - 1, "TCP: the egress reused the ingress's clock reading (\(clockReused))")
        #expect(run.counters.records == run.received && run.counters.ringbufLost == 0)
        #expect(run.counters.ctLookups == 0)
        for dev in [lab.routerClientIf, lab.routerServerIf] {
            #expect(try !filters(dev, "ingress").contains("srcip"), "clsact filter removed on close")
            #expect(try !filters(dev, "egress").contains("srcip"))
        }
    }
}
