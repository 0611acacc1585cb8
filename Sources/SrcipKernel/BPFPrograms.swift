import CLibbpf
import Foundation

/// Every BPF program loaded in the kernel (any process, any namespace), as `bpftool prog show` lists them:
/// how tests and operators check that no orphaned srcip program keeps running.
public enum BPFPrograms {
    /// Id and name of each loaded program (names are cut to 15 characters by the kernel).
    public static func all() throws -> [(id: UInt32, name: String)] {
        var out: [(id: UInt32, name: String)] = []
        var id: UInt32 = 0
        while bpf_prog_get_next_id(id, &id) == 0 {
            let fd = bpf_prog_get_fd_by_id(id)
            guard fd >= 0 else { continue } // unloaded meanwhile
            defer { close(fd) }
            out.append((id, (try? BPFObject.runStats(programFD: fd).name) ?? ""))
        }
        if errno != ENOENT { throw KernelError.systemCall("bpf_prog_get_next_id", errno: errno) }
        return out
    }
}
