import Testing
@testable import SrcipCore

/// The correlator keeps the outer packet of a flow seen VXLAN-encapsulated, and names the device owning a SNAT address.
@Suite struct EncapsulationRecordTests {
    typealias L = Lab

    // Pod on node1 → pod on node2 through node1's uplink: the request leaves eth0 inside VXLAN (UDP 8472, VNI 1).
    static let orig = L.tcp(L.clientPod, 40100, L.remoteBackend, 8080)
    static let outer = L.udp(L.node1IP, 51000, L.node2IP, 8472)

    static func encapsulated(_ obs: [Observation], requestsOnly: Bool, outer: FiveTuple?) -> [Observation] {
        obs.map { o in
            var o = o
            let isRequest = o.tuple == orig
            if o.ifindex == L.eth0, isRequest || !requestsOnly {
                o.encapsulation = Encapsulation(kind: .vxlan, vni: 1, outer: isRequest ? outer : outer?.reversed)
            }
            return o
        }
    }

    @Test func requestSeenInsideVXLANKeepsTheOuterTuple() throws {
        let obs = Self.encapsulated(L.tcpConnection(orig: Self.orig, xlat: Self.orig, inIf: L.vethClient, outIf: L.eth0, ctID: 40),
                                    requestsOnly: false, outer: Self.outer)
        let (records, _) = L.run(obs)
        let r = try #require(records.first)
        #expect(records.count == 1)
        #expect(r.original == Self.orig && r.translated == Self.orig, "the tuples stay the inner packet's")
        #expect(r.encapsulation == Encapsulation(kind: .vxlan, vni: 1, outer: Self.outer), "the request's outer tuple, not the reply's")
    }

    @Test func onlyRepliesEncapsulatedOrNoneGivesNoEncapsulation() throws {
        let plain = L.tcpConnection(orig: Self.orig, xlat: Self.orig, inIf: L.vethClient, outIf: L.eth0, ctID: 41)
        #expect(try #require(L.run(plain).0.first).encapsulation == nil)
        let replies = plain.map { o -> Observation in
            var o = o
            if o.ifindex == L.eth0, o.tuple != Self.orig { o.encapsulation = Encapsulation(kind: .vxlan, vni: 1, outer: Self.outer.reversed) }
            return o
        }
        #expect(try #require(L.run(replies).0.first).encapsulation == nil)
    }

    /// A flow expired from the BPF flow map keeps only the kind; a later view with the outer tuple fills it in.
    @Test func anOuterTupleReplacesAKindOnlyEncapsulation() throws {
        var obs = L.tcpConnection(orig: Self.orig, xlat: Self.orig, inIf: L.vethClient, outIf: L.eth0, ctID: 42)
        let firstEgress = try #require(obs.firstIndex { $0.ifindex == L.eth0 && $0.tuple == Self.orig })
        obs[firstEgress].encapsulation = Encapsulation(kind: .vxlan, vni: 0, outer: nil)
        let lastEgress = try #require(obs.lastIndex { $0.ifindex == L.eth0 && $0.tuple == Self.orig })
        obs[lastEgress].encapsulation = Encapsulation(kind: .vxlan, vni: 1, outer: Self.outer)
        #expect(try #require(L.run(obs).0.first).encapsulation?.outer == Self.outer)
    }

    /// NodePort eTP Cluster toward a pod on another node over flannel: MASQUERADE picks flannel.1's address.
    @Test func snatAddressOwnerIsTheOverlayDevice() throws {
        var context = L.context
        context.setLocalAddresses(["eth0": [L.ip(L.node1IP)], "cni0": [L.ip(L.gw)], "flannel.1": [L.ip("10.244.1.0")]])
        let orig = L.tcp(L.external, 40200, L.node1IP, 30082)
        let xlat = L.tcp("10.244.1.0", 52000, L.remoteBackend, 8082)
        var c = FlowCorrelator(context: context, config: CorrelatorConfig())
        for o in L.tcpConnection(orig: orig, xlat: xlat, inIf: L.eth0, outIf: L.eth0, ctID: 43) { c.add(o) }
        let r = try #require(c.flush().first)
        #expect(r.snat && r.translated?.src == L.ip("10.244.1.0"))
        #expect(r.snatAddressInterface == "flannel.1")
        // Not SNATed: no owner claimed.
        var d = FlowCorrelator(context: context, config: CorrelatorConfig())
        for o in L.tcpConnection(orig: Self.orig, xlat: Self.orig, inIf: L.vethClient, outIf: L.eth0, ctID: 44) { d.add(o) }
        #expect(try #require(d.flush().first).snatAddressInterface == nil)
    }
}
