import Foundation
import SrcipCore

/// Programs each node namespace like kube-proxy would: `iptables-restore` (plus the base-chain jumps) or `nft -f`.
public enum KubeProxyLoader {
    static func load(_ record: LabRecord) throws {
    }
}
