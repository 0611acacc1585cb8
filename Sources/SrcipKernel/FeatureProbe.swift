import CLibbpf
import CSrcipSkeleton
import Foundation

/// What the running kernel offers srcip, probed before loading.
public struct KernelFeatures: Sendable, Equatable {
    /// /sys/kernel/btf/vmlinux exists (CO-RE needs it).
    public var btf: Bool
    /// BPF_MAP_TYPE_RINGBUF is supported (Linux 5.8+).
    public var ringBuffer: Bool
    /// bpf_skb_ct_lookup, bpf_ct_release and bpf_cast_to_kern_ctx are in kernel BTF.
    public var conntrackKfuncs: Bool
    /// tcx links are expected to work (Linux 6.6+); attach falls back to clsact on failure anyway.
    public var tcx: Bool
    /// `uname -r`.
    public var release: String
    /// The errno (EPERM, EACCES) with which bpf(2) itself was refused — by a seccomp profile (container runtimes'
    /// defaults allow it only with CAP_SYS_ADMIN) or missing capabilities — so no feature could be probed; nil when
    /// bpf(2) works.
    public var bpfDenied: Int32?

    public init(btf: Bool, ringBuffer: Bool, conntrackKfuncs: Bool, tcx: Bool, release: String, bpfDenied: Int32? = nil) {
        self.bpfDenied = bpfDenied
        self.btf = btf
        self.ringBuffer = ringBuffer
        self.conntrackKfuncs = conntrackKfuncs
        self.tcx = tcx
        self.release = release
    }

    /// Probes the running kernel.
    public static func probe() -> KernelFeatures {
        let btf = FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux")
        let ringBuffer = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nil) == 1
        let names: [String] = ["bpf_skb_ct_lookup", "bpf_ct_release", "bpf_cast_to_kern_ctx"]
        let kfuncs = btf && names
            .allSatisfy { srcip_kernel_has_btf_func($0) == 1 }
        let release = kernelRelease()
        // libbpf reports a refused probe as "not supported": ask bpf(2) directly why.
        return KernelFeatures(btf: btf, ringBuffer: ringBuffer, conntrackKfuncs: kfuncs,
                              tcx: kernelVersion(release) >= (6, 6), release: release,
                              bpfDenied: ringBuffer ? nil : bpfAccessError())
    }

    /// EPERM, EACCES or ENOSYS if creating the simplest BPF map (a one-entry array, in every kernel with bpf(2)) is
    /// refused; nil if it works or fails for another reason. ENOSYS counts because seccomp allow-lists (runtimes'
    /// defaults and deploy/seccomp/srcip.json) answer calls they do not list with it.
    static func bpfAccessError() -> Int32? {
        let fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, nil, 4, 4, 1, nil)
        if fd >= 0 {
            close(fd)
            return nil
        }
        return deniedErrno(fd)
    }

    /// The errno of a failed libbpf call (negative errno, or -1 with errno set) if it means "not permitted".
    static func deniedErrno(_ rc: Int32) -> Int32? {
        let e = rc < -1 ? -rc : errno
        return e == EPERM || e == EACCES || e == ENOSYS ? e : nil
    }

    /// Throws the first missing hard requirement (bpf(2) allowed, BTF, ring buffer).
    public func requireBasics() throws {
        if let e = bpfDenied { throw KernelError.bpfDenied(errno: e) }
        if !btf { throw KernelError.noKernelBTF }
        if !ringBuffer { throw KernelError.noRingBuffer }
    }

    static func kernelRelease() -> String {
        var u = utsname()
        guard uname(&u) == 0 else { return "" }
        return withUnsafeBytes(of: &u.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// (major, minor) of a release string such as `6.18.44-fc`; (0, 0) if unparsable.
    static func kernelVersion(_ release: String) -> (Int, Int) {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : (0, 0)
    }
}
