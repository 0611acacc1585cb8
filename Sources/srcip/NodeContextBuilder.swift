import Foundation
import SrcipCore
import SrcipKernel
import SrcipServices

/// Gathers what the correlator needs to know about this node: its name, interfaces, addresses and Services.
enum NodeContextBuilder {
    /// `nodeIPs`: the cluster's node addresses given on the command line; a kubectl dump's Node objects add to them.
    /// This node's own addresses are left out (they classify as the local host).
    static func build(node: String?, services: ServiceSource, nodeIPs: [IPAddress] = []) throws -> NodeContext {
        var warnings: [String] = []
        return try build(node: node, services: services, nodeIPs: nodeIPs, warnings: &warnings)
    }

    /// As above; `warnings` receives the catalog's warnings (also printed) for the run record.
    static func build(node: String?, services: ServiceSource, nodeIPs: [IPAddress] = [], warnings: inout [String]) throws -> NodeContext {
        let name = node ?? NodeIdentity.current()
        let interfaces = Dictionary(Interfaces.list(includeLoopback: true).map { ($0.index, $0.name) },
                                    uniquingKeysWith: { a, _ in a })
        let local = Set(Interfaces.localAddresses().values.joined())
        var catalog = ServiceCatalog(services: [], source: "none")
        var nodes = Set(nodeIPs)
        if services != .none {
            let found = try ServiceDiscovery.discover(services, localNodeName: name)
            for w in found.warnings { Diagnostics.warning(w) }
            warnings = found.warnings
            catalog = found.catalog()
            nodes.formUnion(found.nodeAddresses)
        }
        var context = NodeContext(node: name, interfaces: interfaces, localAddresses: local, clusterCIDRs: catalog.clusterCIDRs,
                                  nodeAddresses: nodes.subtracting(local), catalog: catalog, monotonicToUnixNs: KernelClock.unixOffsetNs())
        context.interfaceNames = InterfaceNames(interfaces)   // kept current by the tracer as interfaces come and go
        return context
    }
}
