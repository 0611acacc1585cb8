import SrcipCore
import SrcipLabCluster

/// flannel's VXLAN backend as its daemon programs a node: the device `flannel.1` (and `flannel-v6.1` for IPv6), VNI 1,
/// UDP 8472, learning off, the node's overlay address (the first address of its pod CIDR, 10.244.N.0/32 or
/// fd00:10:244:N::/128) on it; per other node a route to its pod CIDR via its overlay address (`onlink`), a permanent
/// neighbour entry for that address with the other device's MAC, and an FDB entry sending that MAC to the node's IP.
enum VXLANOverlay {
    static let vni = 1
    static let port = 8472

    /// The overlay device of `family`.
    static func device(_ family: IPFamily) -> String { family == .ipv4 ? "flannel.1" : "flannel-v6.1" }

    /// The device MAC of node `index` (1-based, from the node name), locally administered: 0e:5c:00:04|06:HH:LL.
    static func mac(_ node: LabNode, _ family: IPFamily) -> String {
        let n = Int(node.name.drop { !$0.isNumber }) ?? 0
        let hex = { (v: Int) in String(format: "%02x", v) }
        return "0e:5c:00:\(family == .ipv4 ? "04" : "06"):\(hex(n >> 8 & 0xff)):\(hex(n & 0xff))"
    }

    static func families(_ node: LabNode) -> [IPFamily] { node.ip6 == nil ? [.ipv4] : [.ipv4, .ipv6] }

    /// `ip -batch` lines creating the devices on `node`.
    static func deviceLines(_ node: LabNode) -> [String] {
        families(node).flatMap { f -> [String] in
            let dev = device(f)
            let overlay = node.overlayIP(f)!
            return ["link add \(dev) address \(mac(node, f)) type vxlan id \(vni) local \(node.ip(f)!) dev \(LabNaming.uplink) "
                    + "dstport \(port) nolearning",
                    "addr add \(overlay)/\(f == .ipv4 ? 32 : 128) dev \(dev)" + (f == .ipv6 ? " nodad" : ""),
                    "link set \(dev) up"]
        }
    }

    /// `ip -batch` lines on `node` toward `other`: route and neighbour entry.
    static func peerLines(_ node: LabNode, to other: LabNode) -> [String] {
        families(node).flatMap { f -> [String] in
            let dev = device(f)
            let overlay = other.overlayIP(f)!
            return ["route add \(other.podCIDR(f)!) via \(overlay) dev \(dev) onlink",
                    "neigh add \(overlay) lladdr \(mac(other, f)) dev \(dev) nud permanent"]
        }
    }

    /// `bridge -batch` lines on `node` toward `other`: the FDB entry.
    static func fdbLines(_ node: LabNode, to other: LabNode) -> [String] {
        families(node).map { f in "fdb add \(mac(other, f)) dev \(device(f)) dst \(other.ip(f)!) self permanent" }
    }
}
