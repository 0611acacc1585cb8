import CSrcipSkeleton
import Foundation
import SrcipCore
import Synchronization

/// A filter on a clsact qdisc, as the kernel lists it, and how srcip names its own.
///
/// Every srcip process gets its own filters: handle `0x53 << 24 | pid` (the owner; pid_max is at most 2^22)
/// and a priority of its own within the process (`0x5352 + slot`), so instances never replace or remove each
/// other's filters, and a filter whose owner is gone (SIGKILL) can be told from a live one: the owner is alive
/// only if process `pid` still holds the filter's program open (`/proc/PID/fdinfo`, so a reused pid does not
/// count). Limitation: owners are looked up in srcip's own PID namespace; instances sharing one network
/// namespace must share the PID namespace too (as with `ip netns exec`, or hostPID pods).
public struct ClsactFilter: Sendable, Hashable, CustomStringConvertible {
    public var ifindex: UInt32
    public var hook: Hook
    public var handle: UInt32
    public var priority: UInt32
    /// The BPF program's id (0 unless a bpf filter).
    public var programID: UInt32
    /// The BPF program's name (libbpf names the filter `<name>:[<id>]`; this is `<name>`).
    public var programName: String
    /// The classifier: "bpf", "u32", ...
    public var kind: String

    /// The top byte of every srcip filter handle ('S').
    static let handleTag: UInt32 = 0x53
    /// The lowest priority srcip uses; each attachment of a process takes the next one of 256.
    public static let basePriority: UInt32 = 0x5352

    /// The handle of the filters of the process with `pid`.
    public static func handle(ownerPID pid: Int32) -> UInt32 { handleTag << 24 | UInt32(UInt32(bitPattern: pid) & 0xFF_FFFF) }

    /// The handle of this process's filters.
    public static var ownHandle: UInt32 { handle(ownerPID: getpid()) }

    private static let slots = SlotCounter()

    /// A priority not used by another attachment of this process (cycles through 256).
    static func nextPriority() -> UInt32 { basePriority + slots.next() % 256 }

    /// The pid encoded in the handle, if the handle has srcip's tag.
    public var ownerPID: Int32? { handle >> 24 == Self.handleTag ? Int32(handle & 0xFF_FFFF) : nil }

    /// An srcip filter: srcip's handle tag on a BPF program named `srcip_*`. (Filters of srcip before
    /// per-process handles, `0x53524950`, count too: their "pid" 0x524950 exceeds any pid_max.)
    public var isSrcip: Bool { ownerPID != nil && kind == "bpf" && programName.hasPrefix("srcip_") }

    /// Whether the owner process is alive and holds this filter's program: false for the filters of a killed srcip.
    public var ownerIsAlive: Bool {
        guard let pid = ownerPID, pid > 0 else { return false }
        if pid == getpid() { return true }
        return Self.process(pid, holdsProgram: programID)
    }

    public var description: String {
        "\(Interfaces.name(of: ifindex) ?? "ifindex \(ifindex)") \(hook) handle 0x\(String(handle, radix: 16)) "
            + "pref \(priority) \(kind) \(programName)[\(programID)]"
    }

    /// The filters at `hook` of the clsact qdisc of `ifindex` (this thread's network namespace); empty when the
    /// interface has no clsact qdisc.
    public static func list(ifindex: UInt32, hook: Hook) throws -> [ClsactFilter] {
        var room = 16
        while true {
            var raw = [srcip_tc_filter](repeating: srcip_tc_filter(), count: room)
            let n = srcip_tc_list(Int32(ifindex), hook == .ingress ? 1 : 0, &raw, Int32(room))
            if n < 0 { throw KernelError.systemCall("listing tc filters (ifindex \(ifindex) \(hook))", errno: -n) }
            if Int(n) > room { room = Int(n) + 8; continue }
            return raw.prefix(Int(n)).map { f in
                var f = f
                let kind = withUnsafeBytes(of: &f.kind) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                let name = withUnsafeBytes(of: &f.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                return ClsactFilter(ifindex: ifindex, hook: hook, handle: f.handle, priority: f.priority,
                                    programID: f.prog_id, programName: String(name.split(separator: ":").first ?? ""),
                                    kind: kind)
            }
        }
    }

    /// Attaches (or replaces) this filter with `programFD` on an existing clsact qdisc; returns 0 or -errno.
    func attach(programFD: Int32) -> Int32 {
        srcip_tc_attach(Int32(ifindex), hook == .ingress ? 1 : 0, programFD, handle, priority)
    }

    /// Removes this filter (this thread's network namespace). ENOENT counts as success.
    public func remove() throws {
        let rc = srcip_tc_detach(Int32(ifindex), hook == .ingress ? 1 : 0, handle, priority)
        if rc != 0 && rc != -ENOENT {
            throw KernelError.systemCall("removing tc filter \(self)", errno: -rc)
        }
    }

    /// Whether process `pid` has an fd open on BPF program `id` (its fdinfo says `prog_id: ID`).
    static func process(_ pid: Int32, holdsProgram id: UInt32) -> Bool {
        let dir = "/proc/\(pid)/fdinfo"
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return false }
        let needle = "prog_id:\t\(id)\n"
        return fds.contains { readSmallFile(dir + "/" + $0).contains(needle) }
    }

    /// Reads a /proc file (size unknown to stat) up to 4 KiB.
    static func readSmallFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while total < buf.count {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n <= 0 { break }
            total += n
        }
        return String(decoding: buf.prefix(total), as: UTF8.self)
    }
}

/// A process-wide counter for priority slots.
private final class SlotCounter: Sendable {
    private let value = Atomic<UInt32>(0)
    func next() -> UInt32 { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
