import SrcipCore
import SrcipMetrics
import Testing

/// `TraceMetrics`: what flows, losses and the catalog turn into, and the bound on Service and SNAT labels.
struct TraceMetricsTests {
    static func record(service: String?, verdict: Verdict, met: Bool?, snatTo: String? = nil, device: String? = nil,
                       addressDevice: String? = nil) -> FlowRecord {
        let original = FiveTuple(src: IPAddress("10.0.0.1")!, dst: IPAddress("10.96.0.10")!, srcPort: 40000, dstPort: 80, proto: .tcp)
        var translated: FiveTuple?
        if let snatTo { translated = FiveTuple(src: IPAddress(snatTo)!, dst: IPAddress("10.244.1.5")!, srcPort: 40000, dstPort: 8080, proto: .tcp) }
        var r = FlowRecord(node: "n", startNs: 0, endNs: 1, original: original, translated: translated, snat: snatTo != nil, dnat: true,
                           clientKind: .external, verdict: verdict, join: .conntrack)
        r.snatInterface = device
        r.snatAddressInterface = addressDevice
        r.expectationMet = met
        if let service {
            let parts = service.split(separator: "/")
            r.service = ServiceRef(namespace: String(parts[0]), name: String(parts[1]), portName: nil, port: 80, type: .nodePort,
                                   frontend: .nodePort, externalTrafficPolicy: .cluster, internalTrafficPolicy: .cluster, resolvedFrom: .vip)
        }
        return r
    }

    static func samples(_ m: TraceMetrics, _ name: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for f in m.families() where f.name == name {
            for s in f.samples { out[s.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",")] = s.value }
        }
        return out
    }

    @Test func flowsAreCountedByServiceVerdictAndExpectation() {
        let m = TraceMetrics(version: "v1.2.3")
        m.flowWritten(Self.record(service: "default/web", verdict: .snat, met: true, snatTo: "10.0.0.9", device: "eth0"))
        m.flowWritten(Self.record(service: "default/web", verdict: .snat, met: true, snatTo: "10.0.0.9", device: "eth0"))
        m.flowWritten(Self.record(service: "default/web", verdict: .preserved, met: false))
        m.flowWritten(Self.record(service: nil, verdict: .preserved, met: nil))
        #expect(Self.samples(m, "srcip_flows_total") == [
            "service=default/web,verdict=snat,expectation_met=true": 2,
            "service=default/web,verdict=preserved,expectation_met=false": 1,
            "service=none,verdict=preserved,expectation_met=unknown": 1,
        ])
        #expect(Self.samples(m, "srcip_snat_flows_total") == ["address=10.0.0.9,device=eth0,address_device=unknown": 2])
        #expect(Self.samples(m, "srcip_build_info") == ["version=v1.2.3": 1])
    }

    @Test func servicesAndSNATPairsPastTheLimitBecomeOther() {
        let m = TraceMetrics(version: "x", limits: MetricsLimits(services: 2, snatPairs: 1))
        for name in ["a", "b", "c", "d"] {
            m.flowWritten(Self.record(service: "ns/\(name)", verdict: .snat, met: true, snatTo: "10.0.0.9", device: "eth-\(name)"))
        }
        let flows = Self.samples(m, "srcip_flows_total")
        #expect(flows == ["service=ns/a,verdict=snat,expectation_met=true": 1, "service=ns/b,verdict=snat,expectation_met=true": 1,
                          "service=other,verdict=snat,expectation_met=true": 2])
        let snat = Self.samples(m, "srcip_snat_flows_total")
        #expect(snat.count == 2)
        #expect(snat["address=other,device=other,address_device=other"] == 3)
    }

    /// The labels follow the record: `device` is `snat_interface` (where the translation was seen), `address_device`
    /// is `snat_address_interface` (the device owning the address). They differ with `--cni routed`, where node1
    /// masquerades toward its own pod at the pod's veth, which has no address, so the kernel picks eth0's node IP; they
    /// agree for the overlay address seen at flannel.1; a record that names neither counts as unknown.
    @Test func snatIsLabelledByWhereItWasSeenAndWhoOwnsTheAddress() {
        let m = TraceMetrics(version: "x")
        m.flowWritten(Self.record(service: "default/web", verdict: .snat, met: true, snatTo: "192.168.10.11", device: "calie01462f3d7c",
                                  addressDevice: "eth0"))
        m.flowWritten(Self.record(service: "default/web", verdict: .snat, met: true, snatTo: "192.168.10.11", device: "calie01462f3d7c",
                                  addressDevice: "eth0"))
        m.flowWritten(Self.record(service: "default/web", verdict: .snat, met: true, snatTo: "10.244.2.0", device: "flannel.1",
                                  addressDevice: "flannel.1"))
        m.flowWritten(Self.record(service: "default/web", verdict: .snat, met: true, snatTo: "192.168.10.12", device: nil))
        #expect(Self.samples(m, "srcip_snat_flows_total") == [
            "address=192.168.10.11,device=calie01462f3d7c,address_device=eth0": 2,
            "address=10.244.2.0,device=flannel.1,address_device=flannel.1": 1,
            "address=192.168.10.12,device=unknown,address_device=unknown": 1,
        ])
        let text = m.exposition()
        #expect(text.contains(#"srcip_snat_flows_total{address="192.168.10.11",device="calie01462f3d7c",address_device="eth0"} 2"#), "\(text)")
        #expect(text.contains("the device that owns the address (snat_address_interface)"))
    }

    /// README: at most 201 × 13 + 5 = 2,618 flow series — 200 Services and `other`, each with 4 verdicts × 3
    /// expectation values plus `unknown` (never judged), and `none` with its 5 verdicts.
    @Test func flowSeriesStayWithinTheDocumentedBound() {
        let m = TraceMetrics(version: "x")
        let judged: [Verdict] = [.preserved, .snat, .dropped, .rejected]
        for i in 0..<250 {
            for v in judged { for met in [true, false, nil] as [Bool?] { m.flowWritten(Self.record(service: "ns/s\(i)", verdict: v, met: met)) } }
            m.flowWritten(Self.record(service: "ns/s\(i)", verdict: .unknown, met: nil))
        }
        for v in judged + [.unknown] { m.flowWritten(Self.record(service: nil, verdict: v, met: nil)) }
        let flows = Self.samples(m, "srcip_flows_total")
        #expect(flows.count == 2_618)
        #expect(flows.values.reduce(0, +) == Double(250 * 13 + 5))
        #expect(flows["service=other,verdict=snat,expectation_met=true"] == 50)
    }

    @Test func lossesCatalogAndProgramStatsAppearAsExposedAndProgramsOnlyWhenMeasured() {
        let m = TraceMetrics(version: "x")
        m.catalogRefreshed(services: 7)
        m.catalogRefreshed(services: 9)
        var g = TraceGauges()
        g.losses = LossCounts(ringBuffer: 1, bpfMapEviction: 2, correlatorBound: 3, consumerBuffer: 4)
        g.interfacesAttached = 3
        m.update(g)
        #expect(Self.samples(m, "srcip_records_lost_total") == ["cause=ring_buffer": 1, "cause=bpf_map_eviction": 2,
                                                                "cause=correlator_bound": 3, "cause=consumer_buffer": 4])
        #expect(Self.samples(m, "srcip_catalog_refreshes_total") == ["": 2])
        #expect(Self.samples(m, "srcip_catalog_services") == ["": 9])
        #expect(Self.samples(m, "srcip_interfaces_attached") == ["": 3])
        #expect(!m.exposition().contains("srcip_bpf_program_runs_total"))
        g.programs = [ProgramSample(program: "srcip_tc", hook: "ingress", runCount: 10, runTimeNs: 2_500_000_000)]
        m.update(g)
        #expect(Self.samples(m, "srcip_bpf_program_runs_total") == ["program=srcip_tc,hook=ingress": 10])
        #expect(Self.samples(m, "srcip_bpf_program_run_seconds_total") == ["program=srcip_tc,hook=ingress": 2.5])
        let text = m.exposition()
        #expect(text.contains("# TYPE srcip_flows_total counter\n"))
        #expect(text.contains("srcip_records_lost_total{cause=\"consumer_buffer\"} 4\n"))
    }
}
