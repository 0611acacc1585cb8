/// What went wrong on the kernel side, and what to do about it.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    /// The process lacks capabilities (names them, e.g. ["CAP_BPF", "CAP_NET_ADMIN"]).
    case missingCapabilities([String])
    /// The bpf(2) system call itself was refused (EPERM/EACCES, or ENOSYS from a seccomp allow-list): a seccomp profile
    /// or missing capabilities.
    case bpfDenied(errno: Int32)
    /// No kernel BTF at /sys/kernel/btf/vmlinux.
    case noKernelBTF
    /// The kernel has no BPF ring buffer map.
    case noRingBuffer
    /// Conntrack mode was required but the kfuncs are missing.
    case noConntrackKfuncs
    /// No interface of that name in this network namespace.
    case unknownInterface(String, available: [String])
    /// Opening the embedded BPF object failed.
    case openFailed(errno: Int32)
    /// Loading/verifying failed; `log` holds libbpf's output, including the verifier log.
    case loadFailed(errno: Int32, log: String)
    /// Attaching a program to an interface failed.
    case attachFailed(interface: String, hook: String, errno: Int32, detail: String)
    /// A map operation failed.
    case mapFailed(map: String, operation: String, errno: Int32)
    /// A syscall or libbpf call failed.
    case systemCall(String, errno: Int32)
    /// A packet is too short or too long for BPF_PROG_TEST_RUN.
    case badTestPacket(String)

    public var description: String {
        switch self {
        case .missingCapabilities(let caps):
            return "missing capabilities \(caps.joined(separator: ", ")): run srcip as root or grant them "
                + "(e.g. `sudo setcap cap_bpf,cap_net_admin,cap_perfmon+ep srcip`)"
        case .bpfDenied(let e):
            return "the bpf() system call was denied (\(errnoText(e))): a seccomp profile blocks it or capabilities are "
                + "missing\(e == ENOSYS ? " (or the kernel lacks CONFIG_BPF_SYSCALL)" : ""); in a container, use srcip's "
                + "seccomp profile deploy/seccomp/srcip.json where the runtime's default allows bpf() only with "
                + "CAP_SYS_ADMIN, as podman's and CRI-O's do (podman/docker: --security-opt seccomp=srcip.json; Kubernetes: "
                + "securityContext.seccompProfile type Localhost, localhostProfile srcip/srcip.json) and grant "
                + "CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (CAP_SYS_ADMIN before Linux 5.8)"
        case .noKernelBTF:
            return "kernel has no BTF (/sys/kernel/btf/vmlinux missing): srcip needs a kernel built with "
                + "CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.8)"
        case .noRingBuffer:
            return "kernel has no BPF ring buffer: srcip needs Linux 5.8 or newer"
        case .noConntrackKfuncs:
            return "kernel lacks the conntrack kfuncs bpf_skb_ct_lookup/bpf_cast_to_kern_ctx (Linux 6.2+ with "
                + "nf_conntrack): run with fingerprint mode instead"
        case .unknownInterface(let name, let available):
            return "no interface named \(name) in this network namespace; available: "
                + (available.isEmpty ? "(none)" : available.joined(separator: ", "))
        case .openFailed(let e):
            return "cannot open the embedded BPF object: \(errnoText(e))"
        case .loadFailed(let e, _):
            return "the kernel refused the BPF programs (\(errnoText(e))): run with --verbose to see the verifier log"
        case .attachFailed(let ifname, let hook, let e, let detail):
            return "cannot attach to \(ifname) \(hook) (\(detail)): \(errnoText(e)); "
                + "tcx needs Linux 6.6, clsact needs CAP_NET_ADMIN"
        case .mapFailed(let map, let op, let e):
            return "BPF map \(map): \(op) failed: \(errnoText(e))"
        case .systemCall(let what, let e):
            return "\(what) failed: \(errnoText(e))"
        case .badTestPacket(let why):
            return "test packet rejected: \(why)"
        }
    }
}

/// `EPERM (Operation not permitted)`-style text for an errno value.
func errnoText(_ e: Int32) -> String {
    let code = e < 0 ? -e : e
    guard let s = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: s)) (errno \(code))"
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
