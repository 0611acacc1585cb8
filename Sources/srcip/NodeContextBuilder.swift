import Foundation
import SrcipCore
import SrcipKernel
import SrcipServices

/// Gathers what the correlator needs to know about this node: its name, interfaces, addresses and Services.
enum NodeContextBuilder {
    /// `nodeIPs`: the cluster's node addresses given on the command line; a kubectl dump's Node objects add to them.
    /// This node's own addresses are left out (they classify as the local host). Also returns what discovery read
    /// (nil for `none`), the baseline a `CatalogFollower` reports changes against.
    static func build(node: String?, services: ServiceSource, nodeIPs: [IPAddress] = []) throws -> (NodeContext, DiscoveredServices?) {
        let name = node ?? NodeIdentity.current()
        let interfaces = Dictionary(Interfaces.list(includeLoopback: true).map { ($0.index, $0.name) },
                                    uniquingKeysWith: { a, _ in a })
        let byInterface = Interfaces.localAddresses()
        let local = Set(byInterface.values.joined())
        var catalog = ServiceCatalog(services: [], source: "none")
        var nodes = Set(nodeIPs)
        var discovered: DiscoveredServices?
        if services != .none {
            let found = try ServiceDiscovery.discover(services, localNodeName: name)
            for w in found.warnings { Diagnostics.warning(w) }
            catalog = found.catalog()
            nodes.formUnion(found.nodeAddresses)
            discovered = found
        }
        var context = NodeContext(node: name, interfaces: interfaces, localAddresses: local, clusterCIDRs: catalog.clusterCIDRs,
                                  nodeAddresses: nodes.subtracting(local), catalog: catalog, monotonicToUnixNs: KernelClock.unixOffsetNs())
        context.setLocalAddresses(byInterface)
        context.interfaceNames = InterfaceNames(interfaces)   // kept current by the tracer as interfaces come and go
        return (context, discovered)
    }
}
