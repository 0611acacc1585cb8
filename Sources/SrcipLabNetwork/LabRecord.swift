import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabWorkloads
import SrcipSystem

/// How the lab's load balancer brings LoadBalancer traffic to the nodes.
public enum LoadBalancerMode: String, Sendable, Codable, CaseIterable {
    /// A network LB: DNAT VIP:port → nodeIP:nodePort in the router, client IP kept (like an AWS NLB with instance targets).
    case passthrough
    /// A TCP proxy in the router: terminates and reconnects from 192.168.10.2 (like an AWS Classic ELB).
    case proxy
}

/// A background process the lab started.
public struct LabDaemon: Sendable, Codable, Hashable {
    public var pid: Int32
    public var namespace: String
    /// "echo <pod>", "healthcheck <node>", "lb-proxy".
    public var role: String
}

/// Everything `lab up` created, saved to `/run/srcip/labs/<lab>.json` before anything is created so `lab down` can undo it.
///
/// The one JSON file srcip reads and writes with Foundation's Codable instead of SrcipJSON: the record nests the whole
/// `ClusterState` (nodes, pods, Services with ports and endpoints, prefixes: about 19 Codable types), whose hand-written
/// reader and writer would cost some 300 lines, for a private file of a few KB (7 KB for the 3-node demo lab) that only
/// this module writes and reads back once per command, so the fast reader would gain nothing measurable. Nothing
/// outside the lab depends on its format.
public struct LabRecord: Sendable, Codable {
    public var lab: String
    public var proxyMode: ProxyMode
    public var loadBalancerMode: LoadBalancerMode
    /// The manifest text `up` started from (nil when built in code).
    public var manifest: String?
    /// The lab's current Kubernetes objects: the manifest's, then edited by `lab apply`, `lab delete` and `lab scale`
    /// (nil when the state was built in code; then those commands parse `manifest`, or refuse).
    public var objects: ManifestObjects?
    public var state: ClusterState
    /// Node that receives routed ClusterIP/externalIP traffic from outside (router next hop).
    public var entryNode: String
    public var namespaces: [String]
    public var daemons: [LabDaemon]
    /// Set once `up` finished without error.
    public var complete: Bool
    public var createdAt: Date

    public static func load(_ naming: LabNaming) throws -> LabRecord? {
        guard FileManager.default.fileExists(atPath: naming.stateFile) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: naming.stateFile))
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(LabRecord.self, from: data)
        } catch {
            throw LabError.stateFile(path: naming.stateFile, reason: "unreadable (\(error)); `srcip lab down` still removes the namespaces")
        }
    }

    /// Writes the record atomically.
    public func save(_ naming: LabNaming) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        do {
            try FileManager.default.createDirectory(atPath: naming.runDirectory, withIntermediateDirectories: true)
            try encoder.encode(self).write(to: URL(fileURLWithPath: naming.stateFile), options: .atomic)
        } catch {
            throw LabError.stateFile(path: naming.stateFile, reason: "cannot write (\(error))")
        }
    }
}
