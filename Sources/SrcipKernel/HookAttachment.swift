import CLibbpf
import CSrcipSkeleton
import Foundation
import SrcipCore

/// One program attached to one hook of one interface; detached on `detach()` or deinit.
public final class HookAttachment: @unchecked Sendable {
    /// How the program is attached.
    public enum Mode: String, Sendable, CustomStringConvertible {
        /// A tcx link (Linux 6.6+); vanishes with the process.
        case tcx
        /// A clsact filter with srcip's handle and priority; removed on detach or at the next start.
        case clsact
        public var description: String { rawValue }
    }

    /// Handle and priority of srcip's clsact filters ("SRIP", "SR"): recognisable, so stale ones can be removed.
    public static let clsactHandle: UInt32 = 0x5352_4950
    public static let clsactPriority: UInt32 = 0x5352

    static let tcxIngress: UInt32 = 46 // BPF_TCX_INGRESS (uapi headers here predate it)
    static let tcxEgress: UInt32 = 47  // BPF_TCX_EGRESS

    public let interface: String
    public let ifindex: UInt32
    public let hook: Hook
    public let mode: Mode
    private var linkFD: Int32
    /// clsact only: the network namespace the filter lives in, so detach works from any thread.
    private var netnsFD: Int32 = -1
    private var attached = true
    private let lock = NSLock()

    private init(interface: String, ifindex: UInt32, hook: Hook, mode: Mode, linkFD: Int32) {
        self.interface = interface
        self.ifindex = ifindex
        self.hook = hook
        self.mode = mode
        self.linkFD = linkFD
    }

    /// Names of the BPF programs attached by tcx at `hook` of the interface with `ifindex` (this thread's
    /// network namespace), from the kernel (BPF_PROG_QUERY). Empty when none.
    public static func tcxProgramNames(ifindex: UInt32, hook: Hook) throws -> [String] {
        var ids = [UInt32](repeating: 0, count: 64)
        var count = UInt32(ids.count)
        var flags: UInt32 = 0
        let type = bpf_attach_type(rawValue: hook == .ingress ? tcxIngress : tcxEgress)
        let rc = bpf_prog_query(Int32(ifindex), type, 0, &flags, &ids, &count)
        guard rc == 0 else { throw KernelError.systemCall("bpf_prog_query(ifindex \(ifindex))", errno: -rc) }
        return ids.prefix(Int(count)).map { id -> String in
            let fd = bpf_prog_get_fd_by_id(id)
            guard fd >= 0 else { return "id \(id)" }
            defer { close(fd) }
            return (try? BPFObject.runStats(programFD: fd).name) ?? "id \(id)"
        }
    }

    /// Attaches `programFD` at `hook` of `interface`: a tcx link when `preferTCX` and the kernel allows,
    /// otherwise a clsact filter.
    public static func attach(programFD: Int32, interface: String, hook: Hook, preferTCX: Bool = true) throws -> HookAttachment {
        let ifindex = try Interfaces.index(of: interface)
        removeStaleFilter(ifindex: ifindex, hook: hook)
        var tcxErrno: Int32 = 0
        if preferTCX {
            let type = bpf_attach_type(rawValue: hook == .ingress ? tcxIngress : tcxEgress)
            let fd = bpf_link_create(programFD, Int32(ifindex), type, nil)
            if fd >= 0 {
                return HookAttachment(interface: interface, ifindex: ifindex, hook: hook, mode: .tcx, linkFD: fd)
            }
            tcxErrno = -fd
        }
        let rc = srcip_tc_attach(Int32(ifindex), hook == .ingress ? 1 : 0, programFD, clsactHandle, clsactPriority)
        if rc != 0 {
            throw KernelError.attachFailed(interface: interface, hook: hook.description, errno: -rc,
                                           detail: "clsact filter" + (tcxErrno != 0 ? " after tcx failed with \(errnoText(tcxErrno))" : ""))
        }
        let a = HookAttachment(interface: interface, ifindex: ifindex, hook: hook, mode: .clsact, linkFD: -1)
        a.netnsFD = NetworkNamespace.openCurrent()
        return a
    }

    /// Removes a clsact filter left by an srcip run that was killed (matched by handle and priority).
    /// Returns true if one was removed.
    @discardableResult
    public static func removeStaleFilter(ifindex: UInt32, hook: Hook) -> Bool {
        srcip_tc_detach(Int32(ifindex), hook == .ingress ? 1 : 0, clsactHandle, clsactPriority) == 0
    }

    /// Detaches; safe to call more than once.
    public func detach() {
        lock.lock()
        defer { lock.unlock() }
        guard attached else { return }
        attached = false
        switch mode {
        case .tcx:
            close(linkFD)
            linkFD = -1
        case .clsact:
            let (ifindex, hook) = (self.ifindex, self.hook)
            if netnsFD >= 0 {
                _ = try? NetworkNamespace.run(fd: netnsFD) { Self.removeStaleFilter(ifindex: ifindex, hook: hook) }
                close(netnsFD)
                netnsFD = -1
            } else {
                Self.removeStaleFilter(ifindex: ifindex, hook: hook)
            }
        }
    }

    deinit { detach() }
}
