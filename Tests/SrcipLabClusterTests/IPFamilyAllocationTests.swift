import SrcipCore
@testable import SrcipLabCluster
import Testing

/// Services' IP families as the API server resolves them (ipFamilyPolicy, ipFamilies, clusterIPs) on each lab family.
@Suite("IP family allocation")
struct IPFamilyAllocationTests {
    static func manifest(_ spec: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, labels: {app: web}}
        spec: {nodeName: node2, containers: [{name: c, image: echo, ports: [{containerPort: 8080}]}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec:
          type: LoadBalancer
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
        \(spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        """
    }

    static func build(_ spec: String, _ family: LabIPFamily, cni: LabCNI = .bridge) throws -> ClusterState {
        let (objects, _) = try LabManifest.parse(manifest(spec), source: "t")
        return try ClusterState.build(from: objects, nodeCount: 2, cni: cni, ipFamily: family)
    }

    @Test func dualStackServiceGetsBothFamiliesInOrder() throws {
        let state = try Self.build("ipFamilyPolicy: PreferDualStack\nipFamilies: [IPv6, IPv4]", .dual)
        let s = try #require(state.service(name: "s"))
        #expect(s.clusterIPs == [IPAddress("fd00:10:96::a")!, IPAddress("10.96.0.10")!])
        #expect(s.loadBalancerIPs == [IPAddress("fd00:198:51:100::a")!, IPAddress("198.51.100.10")!])
        #expect(Set(s.ports[0].endpoints.map(\.ip)) == [IPAddress("10.244.2.2")!, IPAddress("fd00:10:244:2::2")!])
        let node2 = try #require(state.node(named: "node2"))
        #expect(node2.ip6 == IPAddress("fd00:192:168:10::12") && node2.podCIDR6?.description == "fd00:10:244:2::/64")
    }

    @Test func defaultsFollowTheLabsPrimaryFamily() throws {
        #expect(try Self.build("", .dual).service(name: "s")?.clusterIPs == [IPAddress("10.96.0.10")!])
        #expect(try Self.build("", .ipv6).service(name: "s")?.clusterIPs == [IPAddress("fd00:10:96::a")!])
        // PreferDualStack degrades to single-stack on a single-family lab.
        #expect(try Self.build("ipFamilyPolicy: PreferDualStack", .ipv4).service(name: "s")?.clusterIPs.count == 1)
    }

    @Test func impossibleFamiliesAreRejectedWithTheField() throws {
        #expect(throws: ClusterStateBuildError.self) { try Self.build("ipFamilyPolicy: RequireDualStack", .ipv4) }
        #expect(throws: ClusterStateBuildError.self) { try Self.build("ipFamilies: [IPv6]", .ipv4) }
        #expect(throws: (any Error).self) { try Self.build("ipFamilies: [IPv4, IPv6]", .dual) }
    }

    @Test func snatAddressesPerCNIAndFamily() throws {
        let vxlan = try Self.build("", .dual, cni: .vxlan)
        let n1 = try #require(vxlan.node(named: "node1"))
        #expect(vxlan.masqueradeAddressTowardRemotePods(on: n1, family: .ipv4) == IPAddress("10.244.1.0"))
        #expect(vxlan.masqueradeAddressTowardRemotePods(on: n1, family: .ipv6) == IPAddress("fd00:10:244:1::"))
        #expect(vxlan.masqueradeAddressTowardLocalPods(on: n1, family: .ipv6) == IPAddress("fd00:10:244:1::1"))
        let routed = try Self.build("", .dual, cni: .routed)
        #expect(routed.masqueradeAddressTowardLocalPods(on: n1, family: .ipv6) == IPAddress("fd00:192:168:10::11"))
    }
}
