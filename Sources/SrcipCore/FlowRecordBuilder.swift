/// Turns the views collected for one flow into a v1 record: tuples, translation points, Service, verdict, expectation.
struct FlowRecordBuilder {
    let context: NodeContext
    let rejectWindowNs: UInt64

    /// `catalog`: the Services valid when the flow started (the context's when omitted).
    func record(_ st: FlowState, icmpFromNode: [ClientPort: UInt64], catalog: ServiceCatalog? = nil) -> FlowRecord {
        let catalog = catalog ?? context.catalog
        let ordered = st.segments.sorted { $0.precedes($1) }
        let requests = ordered.filter { !$0.isReply }
        let replies = ordered.filter(\.isReply)
        let ingress = requests.first { $0.hook == .ingress }
        let egress = requests.last { $0.hook == .egress }
        let ct = st.conntrack
        var notes: [String] = []

        // The tuple as it entered the node: first ingress view; for host-originated flows what the socket sent
        // (conntrack original), else the first egress view; with replies only, the reversed reply.
        let original: FiveTuple
        let hostOriginated = ingress == nil && egress != nil
        if let ingress {
            original = ingress.tuple
        } else if let ct {
            original = ct.original
        } else if let egress {
            original = egress.tuple
        } else {
            original = replies.last?.tuple.reversed ?? ordered[0].tuple
            notes.append("only replies observed")
        }
        // What the backend received: the kernel's conntrack entry whenever a hook saw it (its reply tuple is what the
        // backend answers), otherwise the request as it left the node (a post-NAT egress view).
        let translated = ct?.translated ?? egress?.tuple
        let snat = translated.map { $0.src != original.src || $0.srcPort != original.srcPort } ?? false
        let dnat = translated.map { $0.dst != original.dst || $0.dstPort != original.dstPort } ?? false
        let (snatAt, dnatAt) = translationPoints(requests, original, st, snat: snat, dnat: dnat)

        // Service attribution: the address the client used, else the backend it reached.
        let local = context.localAddresses
        var match = catalog.frontend(ip: original.dst, port: original.dstPort, proto: original.proto, localAddresses: local)
        // By endpoint only when exactly one Service port has it: a pod behind several Services says nothing about which one
        // the client addressed upstream.
        var endpointCandidates: [ServiceMatch] = []
        if match == nil, let t = translated {
            endpointCandidates = catalog.endpoints(ip: t.dst, port: t.dstPort, proto: t.proto)
        }
        if match == nil, endpointCandidates.isEmpty {
            endpointCandidates = catalog.endpoints(ip: original.dst, port: original.dstPort, proto: original.proto)
        }
        if match == nil, endpointCandidates.count == 1 { match = endpointCandidates[0] }
        if match == nil, endpointCandidates.count > 1 {
            let names = endpointCandidates.map { $0.service.servicePortName($0.port) }
            notes.append("backend serves \(names.count) Service ports (\(names.joined(separator: ", "))); not attributed to one")
        }
        let reachedEndpoint = match?.resolvedFrom == .endpoint || endpointCandidates.count > 1

        let client = context.classify(original.src)
        let serving = translated ?? ct?.translated
        let hairpin = match != nil && serving.map { $0.dst == original.src } == true
        let endpoint = match.flatMap { m in serving.flatMap { s in m.port.endpoints.first { $0.ip == s.dst && $0.port == s.dstPort } } }
            ?? endpointCandidates.first.flatMap { m in serving.flatMap { s in m.port.endpoints.first { $0.ip == s.dst && $0.port == s.dstPort } } }
        let replyFlags = replies.reduce(UInt8(0)) { $0 | $1.tcpFlags }

        // Observed verdict: preserved or snat only from positive evidence (a post-NAT view or a conntrack entry).
        var verdict: Verdict
        if !replies.isEmpty, egress == nil, original.proto == .tcp,
           replyFlags & TCPFlags.rst != 0, replyFlags & TCPFlags.syn == 0 {
            verdict = .rejected
            notes.append("TCP RST from the node instead of the backend")
        } else if let t = translated {
            verdict = snat ? .snat : .preserved
            if hostOriginated, ct == nil {
                verdict = .unknown
                notes.append("host-originated: translated before any tc hook and no conntrack mapping")
            } else if reachedEndpoint, ingress != nil, !snat {
                notes.append("already translated upstream (Service resolved from endpoint)")
            }
            if egress == nil, ingress != nil {
                notes.append("\(snat ? "SNAT address" : "source") from conntrack; egress toward \(t.dst) not observed")
            }
        } else if !replies.isEmpty {
            verdict = .unknown
            notes.append("answered, but what the backend received was not observed: egress toward "
                         + "\(match.map { _ in "\(original.dst) or its backend" } ?? "\(original.dst)") not observed and no conntrack entry; "
                         + "seen at: \(seenAt(ordered))")
        } else if let t = icmpFromNode[ClientPort(ip: original.src, port: original.srcPort)] ?? icmpFromNode[ClientPort(ip: original.src, port: 0)],
                  t + rejectWindowNs >= ordered[0].firstNs,
                  t <= (ordered.map(\.lastNs).max() ?? 0) + rejectWindowNs, ingress != nil {
            verdict = .rejected
            notes.append("ICMP from the node to the client instead of a forwarded request")
        } else if match?.resolvedFrom == .vip, ingress != nil {
            verdict = .dropped
        } else {
            verdict = .unknown
            if ingress != nil { notes.append("request entered and did not leave; not addressed to a known Service") }
        }

        // Expected behaviour for traffic addressed to a Service at this node.
        var expectation: Expectation?
        if let m = match, m.resolvedFrom == .vip {
            // kube-proxy runs one proxier per IP family: only the flow's family's endpoints count (a dual-stack Service has both).
            let v4 = original.dst.isIPv4
            var anyReady = false, anyLocalReady = false
            for e in m.port.endpoints where e.ready && e.ip.isIPv4 == v4 {
                anyReady = true
                if isLocal(e) { anyLocalReady = true; break }
            }
            // kube-proxy's rules show only the endpoints this node may use: a Local policy with none of them comes from
            // its "has no local endpoints" rule, so the Service has endpoints on other nodes (a kubectl dump lists all).
            let fromRules = catalog.origin.isKubeProxyRules
            let localPolicy = m.frontend == .clusterIP ? m.service.internalTrafficPolicy == .local
                                                       : m.service.externalTrafficPolicy == .local
            let input = ExpectationInput(
                frontend: m.frontend, externalTrafficPolicy: m.service.externalTrafficPolicy,
                internalTrafficPolicy: m.service.internalTrafficPolicy, client: client,
                sourceIsLocal: context.isThisHost(original.src), hairpin: hairpin,
                hasEndpoints: anyReady || (fromRules && localPolicy), hasLocalEndpoints: anyLocalReady,
                sourceAllowedByRanges: sourceAllowed(m, original.src), nftables: catalog.origin == .nftablesRules)
            expectation = Expectation.expected(input)
            if verdict == .dropped {
                notes.append("likely reason: " + dropReason(m, input, expectation))
            }
            if verdict == .dropped, expectation?.verdict == .rejected {
                notes.append("no ICMP port-unreachable or RST from the node was observed")
            }
        }
        let met: Bool? = verdict == .unknown ? nil : expectation.map { $0.verdict == verdict }

        let all = ordered
        let packets = requests.map(\.packets).max() ?? 0
        let bytes = requests.max { $0.packets < $1.packets }?.bytes ?? 0
        let replyPackets = replies.map(\.packets).max() ?? 0
        let replyBytes = replies.max { $0.packets < $1.packets }?.bytes ?? 0
        let start = all.map(\.firstNs).min() ?? 0
        let end = max(all.map(\.lastNs).max() ?? 0, start)
        let join: JoinMethod = ct != nil ? .conntrack : (st.fingerprintJoined || st.sawFingerprintRecords ? .fingerprint : .conntrack)

        var record = FlowRecord(
            node: context.node, startNs: context.unixNs(start), endNs: context.unixNs(end),
            original: original, translated: translated, snat: snat, dnat: dnat,
            snatInterface: snatAt.map { context.interfaceName($0.0) }, snatHook: snatAt?.1,
            dnatInterface: dnatAt.map { context.interfaceName($0.0) }, dnatHook: dnatAt?.1,
            inInterface: ingress.map { context.interfaceName($0.ifindex) },
            outInterface: egress.map { context.interfaceName($0.ifindex) },
            service: match.map(ServiceRef.init), clientKind: client, hairpin: hairpin, verdict: verdict,
            expected: expectation?.verdict, expectationMet: met, expectedRow: expectation?.row,
            endpointNode: endpoint.flatMap { $0.nodeName ?? ($0.isLocal == true ? context.node : nil) }, reason: notes.isEmpty ? nil : notes.joined(separator: "; "),
            packets: packets, bytes: bytes, replyPackets: replyPackets, replyBytes: replyBytes, join: join)
        if snat, let t = translated { record.snatAddressInterface = context.addressInterfaces[t.src] }
        record.inIfindex = ingress?.ifindex
        record.outIfindex = egress?.ifindex
        record.encapsulation = st.encapsulation
        record.tcpFlags = original.proto == .tcp ? all.reduce(UInt8(0)) { $0 | $1.tcpFlags } : 0
        return record
    }

    /// Where SNAT and DNAT first showed: the first request view carrying the rewritten address, else the egress request
    /// view where the conntrack mapping that shows it was first attached (a reply view says nothing about where).
    private func translationPoints(_ requests: [FlowSegment], _ original: FiveTuple, _ st: FlowState,
                                   snat: Bool, dnat: Bool) -> ((UInt32, Hook)?, (UInt32, Hook)?) {
        var s: (UInt32, Hook)?
        var d: (UInt32, Hook)?
        for seg in requests {
            if s == nil, seg.tuple.src != original.src || seg.tuple.srcPort != original.srcPort { s = (seg.ifindex, seg.hook) }
            if d == nil, seg.tuple.dst != original.dst || seg.tuple.dstPort != original.dstPort { d = (seg.ifindex, seg.hook) }
        }
        // NAT happens before tc egress: a conntrack entry first seen at egress shows where; one seen only at
        // ingress shows what, not where.
        if let hook = st.ctHook, hook == .egress,
           requests.contains(where: { $0.ifindex == st.ctIfindex && $0.hook == hook }) {
            if s == nil, snat { s = (st.ctIfindex, hook) }
            if d == nil, dnat { d = (st.ctIfindex, hook) }
        }
        return (snat ? s : nil, dnat ? d : nil)
    }

    /// Where the flow was seen, e.g. "eth0 ingress, eth0 egress (replies)".
    private func seenAt(_ segments: [FlowSegment]) -> String {
        var out: [String] = []
        for s in segments {
            let v = "\(context.interfaceName(s.ifindex)) \(s.hook)" + (s.isReply ? " (replies)" : "")
            if !out.contains(v) { out.append(v) }
        }
        return out.joined(separator: ", ")
    }

    /// Whether an endpoint runs on this node: as kube-proxy's local-policy chains say (`isLocal`), else by node name.
    private func isLocal(_ e: ServiceEndpoint) -> Bool {
        e.isLocal ?? (e.nodeName != nil && e.nodeName == context.node)
    }

    private func sourceAllowed(_ m: ServiceMatch, _ src: IPAddress) -> Bool? {
        guard m.frontend == .loadBalancer, !m.service.loadBalancerSourceRanges.isEmpty else { return nil }
        let ranges = m.service.loadBalancerSourceRanges.compactMap { IPPrefix($0) }
        guard !ranges.isEmpty else { return nil }
        return ranges.contains { $0.contains(src) }
    }

    private func dropReason(_ m: ServiceMatch, _ i: ExpectationInput, _ e: Expectation?) -> String {
        if i.sourceAllowedByRanges == false { return "source outside loadBalancerSourceRanges" }
        if !i.hasEndpoints { return "Service \(m.service.id) has no endpoints" }
        if m.frontend != .clusterIP, m.service.externalTrafficPolicy == .local, !i.hasLocalEndpoints {
            return "externalTrafficPolicy Local and no local endpoint on \(context.node)"
        }
        if m.frontend == .clusterIP, m.service.internalTrafficPolicy == .local, !i.hasLocalEndpoints {
            return "internalTrafficPolicy Local and no local endpoint on \(context.node)"
        }
        return "not explained by the Service's policies" + (e.map { " (expected \($0.verdict), row \($0.row))" } ?? "")
    }
}
