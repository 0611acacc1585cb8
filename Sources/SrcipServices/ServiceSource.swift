/// Where `--services` reads Services from: `auto`, `iptables`, `nftables`, `none`, or any other text as a dump file.
/// The CLI can conform it to `ExpressibleByArgument` as is (`init(argument:)` never fails).
public enum ServiceSource: Sendable, Hashable, CustomStringConvertible {
    /// Whatever kube-proxy programmed in this network namespace (nftables table or iptables chains, both families).
    case auto
    case iptables
    case nftables
    /// No Services: flows are not attributed.
    case none
    /// A dump file: iptables-save text, `nft -j list ruleset` JSON or kubectl JSON.
    case file(String)

    public static let keywords = ["auto", "iptables", "nftables", "none"]

    public init(argument: String) {
        switch argument {
        case "auto": self = .auto
        case "iptables": self = .iptables
        case "nftables": self = .nftables
        case "none": self = .none
        default: self = .file(argument)
        }
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .iptables: "iptables"
        case .nftables: "nftables"
        case .none: "none"
        case .file(let path): path
        }
    }
}
