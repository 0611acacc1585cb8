import CLibbpf
import CSrcipSkeleton
import Foundation
import SrcipCore

/// One program attached to one hook of one interface; detached on `detach()` or deinit.
///
/// `@unchecked Sendable` is safe: `linkFD`, `netnsFD` and `attached` are set before the attachment is returned and
/// afterwards only read or changed by `detach()` under `lock`; every other stored property is a `let`.
public final class HookAttachment: @unchecked Sendable {
    /// How the program is attached.
    public enum Mode: String, Sendable, CustomStringConvertible {
        /// A tcx link (Linux 6.6+); vanishes with the process.
        case tcx
        /// A clsact filter with this process's own handle and priority (`ClsactFilter`); removed on detach, or by
        /// the next srcip start after a kill (`StaleFilters`).
        case clsact
        public var description: String { rawValue }
    }

    static let tcxIngress: UInt32 = 46 // BPF_TCX_INGRESS (uapi headers here predate it)
    static let tcxEgress: UInt32 = 47  // BPF_TCX_EGRESS

    public let interface: String
    public let ifindex: UInt32
    public let hook: Hook
    public let mode: Mode
    private var linkFD: Int32
    /// clsact only: the filter (handle and priority are this attachment's own).
    public private(set) var filter: ClsactFilter?
    /// clsact only: this attachment created the clsact qdisc.
    private var createdQdisc = false
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
        try attach(programFD: programFD, interface: NetworkInterface(name: interface, index: try Interfaces.index(of: interface)),
                   hook: hook, preferTCX: preferTCX)
    }

    /// The same for an interface known by index (as a link notification names it; the name is for messages).
    public static func attach(programFD: Int32, interface i: NetworkInterface, hook: Hook, preferTCX: Bool = true) throws -> HookAttachment {
        let (interface, ifindex) = (i.name, i.index)
        var tcxErrno: Int32 = 0
        if preferTCX {
            let type = bpf_attach_type(rawValue: hook == .ingress ? tcxIngress : tcxEgress)
            let fd = bpf_link_create(programFD, Int32(ifindex), type, nil)
            if fd >= 0 {
                return HookAttachment(interface: interface, ifindex: ifindex, hook: hook, mode: .tcx, linkFD: fd)
            }
            tcxErrno = -fd
        }
        let detail = "clsact filter" + (tcxErrno != 0 ? " after tcx failed with \(errnoText(tcxErrno))" : "")
        let filter = ClsactFilter(ifindex: ifindex, hook: hook, handle: ClsactFilter.ownHandle,
                                  priority: ClsactFilter.nextPriority(), programID: 0, programName: "", kind: "bpf")
        let created = try ClsactQdisc.withLock { () throws -> Bool in
            let created: Bool
            do { created = try ClsactQdisc.ensure(ifindex: ifindex) } catch KernelError.systemCall(_, let e) {
                throw KernelError.attachFailed(interface: interface, hook: hook.description, errno: e, detail: detail)
            }
            let rc = filter.attach(programFD: programFD)
            if rc != 0 {
                if created { ClsactQdisc.removeIfUnused(ifindex: ifindex, createdHere: true) }
                throw KernelError.attachFailed(interface: interface, hook: hook.description, errno: -rc, detail: detail)
            }
            return created
        }
        let a = HookAttachment(interface: interface, ifindex: ifindex, hook: hook, mode: .clsact, linkFD: -1)
        a.filter = filter
        a.createdQdisc = created
        a.netnsFD = NetworkNamespace.openCurrent()
        return a
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
            guard let filter else { return }
            let created = createdQdisc
            let remove = {
                ClsactQdisc.withLock {
                    try? filter.remove()
                    ClsactQdisc.removeIfUnused(ifindex: filter.ifindex, createdHere: created)
                }
            }
            if netnsFD >= 0 {
                _ = try? NetworkNamespace.run(fd: netnsFD, remove)
                close(netnsFD)
                netnsFD = -1
            } else {
                remove()
            }
        }
    }

    deinit { detach() }
}
