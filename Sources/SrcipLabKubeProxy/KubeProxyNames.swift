import SrcipCore
import SrcipLabCluster

/// kube-proxy's chain names for a service port and its endpoints (iptables and nftables modes).
public enum KubeProxyNames {
    /// `base32(sha256(s))`.
    static func hash(_ s: String) -> String { Base32.encode(SHA256.digest(Array(s.utf8))) }

    /// iptables: `H = base32(sha256(servicePortName + proto))[:16]`, shared by KUBE-SVC/SVL/EXT/FW.
    public static func iptablesServiceHash(servicePortName: String, proto: L4Protocol) -> String {
        String(hash(servicePortName + proto.description).prefix(16))
    }

    /// iptables: `KUBE-SEP-` + `base32(sha256(servicePortName + proto + "ip:port"))[:16]`.
    public static func iptablesEndpointChain(servicePortName: String, proto: L4Protocol, endpoint: String) -> String {
        "KUBE-SEP-" + String(hash(servicePortName + proto.description + endpoint).prefix(16))
    }

    /// nftables: `<H8>-ns/name/proto/port` where H8 = `base32(sha256("ns/name/proto/port"))[:8]`.
    public static func nftablesServiceBase(namespace: String, name: String, portName: String?, proto: L4Protocol) -> String {
        let base = "\(namespace)/\(name)/\(proto)/\(portName ?? "")"
        return String(hash(base).prefix(8)) + "-" + base
    }

    /// nftables: `<H8>-ns/name/proto/port__ip/port` (IPv6 colons become dots).
    public static func nftablesEndpointBase(namespace: String, name: String, portName: String?, proto: L4Protocol,
                                            ip: IPAddress, port: UInt16) -> String {
        let ipText = ip.description.replacingColons
        let base = "\(namespace)/\(name)/\(proto)/\(portName ?? "")__\(ipText)/\(port)"
        return String(hash(base).prefix(8)) + "-" + base
    }
}

extension String {
    fileprivate var replacingColons: String { String(map { $0 == ":" ? "." : $0 }) }
}
