import CLibbpf
import Foundation
import SrcipCore

/// One program attached to one hook of one interface; detached on `detach()` or deinit.
public final class Attachment: @unchecked Sendable {
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
    private var attached = true
    private let lock = NSLock()

    private init(interface: String, ifindex: UInt32, hook: Hook, mode: Mode, linkFD: Int32) {
        self.interface = interface
        self.ifindex = ifindex
        self.hook = hook
        self.mode = mode
        self.linkFD = linkFD
    }

    /// Attaches `programFD` at `hook` of `interface`: a tcx link when `preferTCX` and the kernel allows,
    /// otherwise a clsact filter.
    public static func attach(programFD: Int32, interface: String, hook: Hook, preferTCX: Bool = true) throws -> Attachment {
        let ifindex = try Interfaces.index(of: interface)
        var tcxErrno: Int32 = 0
        if preferTCX {
            let type = bpf_attach_type(rawValue: hook == .ingress ? tcxIngress : tcxEgress)
            let fd = bpf_link_create(programFD, Int32(ifindex), type, nil)
            if fd >= 0 {
                return Attachment(interface: interface, ifindex: ifindex, hook: hook, mode: .tcx, linkFD: fd)
            }
            tcxErrno = -fd
        }
        removeStaleFilter(ifindex: ifindex, hook: hook)
        var tcHook = makeHook(ifindex: ifindex, hook: hook)
        let created = bpf_tc_hook_create(&tcHook)
        if created != 0 && created != -EEXIST {
            throw KernelError.attachFailed(interface: interface, hook: hook.description, errno: -created,
                                           detail: "creating clsact qdisc" + (tcxErrno != 0 ? " after tcx failed with \(errnoText(tcxErrno))" : ""))
        }
        var opts = makeOpts(programFD: programFD)
        let rc = bpf_tc_attach(&tcHook, &opts)
        if rc != 0 {
            throw KernelError.attachFailed(interface: interface, hook: hook.description, errno: -rc, detail: "clsact filter")
        }
        return Attachment(interface: interface, ifindex: ifindex, hook: hook, mode: .clsact, linkFD: -1)
    }

    /// Removes a clsact filter left by an srcip run that was killed (matched by handle and priority).
    /// Returns true if one was removed.
    @discardableResult
    public static func removeStaleFilter(ifindex: UInt32, hook: Hook) -> Bool {
        var tcHook = makeHook(ifindex: ifindex, hook: hook)
        var opts = makeOpts(programFD: 0)
        return bpf_tc_detach(&tcHook, &opts) == 0
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
            Self.removeStaleFilter(ifindex: ifindex, hook: hook)
        }
    }

    deinit { detach() }

    private static func makeHook(ifindex: UInt32, hook: Hook) -> bpf_tc_hook {
        var h = bpf_tc_hook()
        h.sz = MemoryLayout<bpf_tc_hook>.size
        h.ifindex = Int32(ifindex)
        h.attach_point = hook == .ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS
        return h
    }

    private static func makeOpts(programFD: Int32) -> bpf_tc_opts {
        var o = bpf_tc_opts()
        o.sz = MemoryLayout<bpf_tc_opts>.size
        o.prog_fd = programFD
        o.handle = clsactHandle
        o.priority = clsactPriority
        o.flags = programFD > 0 ? UInt32(BPF_TC_F_REPLACE.rawValue) : 0
        return o
    }
}
