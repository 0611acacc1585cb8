import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// Node objects in a kubectl dump give the cluster's node addresses (for the `node` client kind).
@Suite struct KubernetesNodeAddressTests {
    @Test func nodeInternalAndExternalAddressesAreCollected() throws {
        let dump = #"""
        {"kind":"List","items":[
         {"kind":"Node","metadata":{"name":"node1"},"status":{"addresses":[
           {"type":"InternalIP","address":"192.168.10.11"},{"type":"Hostname","address":"node1"},{"type":"ExternalIP","address":"198.51.100.7"}]}},
         {"kind":"Node","metadata":{"name":"node2"},"status":{"addresses":[{"type":"InternalIP","address":"192.168.10.12"}]}},
         {"kind":"Node","metadata":{"name":"node2-dup"},"status":{"addresses":[{"type":"InternalIP","address":"192.168.10.12"}]}},
         {"kind":"Service","metadata":{"namespace":"a","name":"b"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.9","ports":[{"port":80}]}}
        ]}
        """#
        let d = try KubernetesDumpParser.parse(Data(dump.utf8))
        #expect(d.nodeAddresses == ["192.168.10.11", "198.51.100.7", "192.168.10.12"].map { IPAddress($0)! })
        #expect(d.services.count == 1)
        #expect(d.warnings.isEmpty)
    }
}
