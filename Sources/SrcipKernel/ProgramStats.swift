import CLibbpf
import Foundation
import Synchronization
import SrcipCore

/// Run-time statistics of one loaded BPF program (kernel.bpf_stats_enabled or `BPFStats.enable()`).
public struct ProgramRunStats: Sendable, Equatable {
    public var name: String
    /// The kernel's program id (as in `bpftool prog show`).
    public var id: UInt32 = 0
    public var runCount: UInt64
    public var runTimeNs: UInt64
    public init(name: String, id: UInt32 = 0, runCount: UInt64, runTimeNs: UInt64) {
        self.name = name
        self.id = id
        self.runCount = runCount
        self.runTimeNs = runTimeNs
    }

    /// Average nanoseconds per run; 0 before the first run.
    public var nsPerRun: Double { runCount == 0 ? 0 : Double(runTimeNs) / Double(runCount) }

    /// Adds `other`'s runs and time (summing rounds of one program).
    public mutating func add(_ other: ProgramRunStats) {
        runCount &+= other.runCount
        runTimeNs &+= other.runTimeNs
    }

    /// Difference to an earlier reading of the same program.
    public func since(_ earlier: ProgramRunStats) -> ProgramRunStats {
        ProgramRunStats(name: name, id: id, runCount: runCount &- earlier.runCount, runTimeNs: runTimeNs &- earlier.runTimeNs)
    }
}

/// Keeps BPF run-time statistics on while alive (BPF_ENABLE_STATS, BPF_STATS_RUN_TIME).
public final class BPFStats: Sendable {
    /// The stats fd; -1 once disabled.
    private let fd: Mutex<Int32>

    /// Turns statistics on until `disable()` or deinit.
    public init() throws {
        let fd = bpf_enable_stats(BPF_STATS_RUN_TIME)
        guard fd >= 0 else { throw KernelError.systemCall("bpf_enable_stats(BPF_STATS_RUN_TIME)", errno: -fd) }
        self.fd = Mutex(fd)
    }

    /// Turns statistics off (when no other holder keeps them on). Idempotent, from any thread.
    public func disable() {
        fd.withLock { fd in
            if fd >= 0 { close(fd); fd = -1 }
        }
    }

    deinit { disable() }
}

extension BPFObject {
    /// Run statistics of the program at `hook`.
    public func runStats(_ hook: Hook) throws -> ProgramRunStats {
        try Self.runStats(programFD: programFD(hook))
    }

    /// Run statistics of any program fd.
    public static func runStats(programFD: Int32) throws -> ProgramRunStats {
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        let rc = bpf_obj_get_info_by_fd(programFD, &info, &len)
        guard rc == 0 else { throw KernelError.systemCall("bpf_obj_get_info_by_fd", errno: -rc) }
        let name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return ProgramRunStats(name: name, id: info.id, runCount: info.run_cnt, runTimeNs: info.run_time_ns)
    }
}
