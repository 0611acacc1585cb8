import SrcipCore
import SrcipLabCluster
import SrcipLabWorkloads
import SrcipSystem

/// The router's routes for traffic that enters the cluster by routing (ClusterIP from outside, externalIPs).
public enum LabRouting {
    /// Points the router's routes for the service CIDR and every externalIP at `node`, and records it as the entry node.
    /// This is how tests and the demo choose which node external ClusterIP/externalIP traffic arrives at.
    @discardableResult
    public static func setEntryNode(_ node: String, naming: LabNaming) throws -> LabRecord {
        guard var record = try LabRecord.load(naming) else { throw LabError.labNotFound(name: naming.lab) }
        let entry = try LabTopology.entryNode(node, in: record.state)
        let lines = LabTopology.entryRoutes(record.state, entry: entry, verb: "replace")
        try Command.check("ip", ["-n", naming.routerNamespace, "-batch", "-"], input: lines.joined(separator: "\n") + "\n")
        record.entryNode = entry.name
        try record.save(naming)
        return record
    }
}
