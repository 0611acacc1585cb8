import Foundation
import SrcipKernel
import Testing

/// srcip under a seccomp filter that refuses bpf(2) with EPERM (what container runtimes' default profiles do without
/// CAP_SYS_ADMIN) or ENOSYS (what allow-lists such as deploy/seccomp/srcip.json answer for calls they do not list)
/// says the call was denied, not that the kernel lacks a ring buffer.
@Suite(.serialized, .privileged)
struct SeccompDeniedTests {
    /// Installs a seccomp filter returning the errno in argv[1] for bpf(2) only, then execs the rest of its arguments.
    static let denyBPF = """
        import ctypes, os, platform, struct, sys
        nr = {"x86_64": 321, "aarch64": 280}[platform.machine()]
        insns = [(0x20, 0, 0, 0), (0x15, 0, 1, nr), (0x06, 0, 0, 0x00050000 | int(sys.argv[1])), (0x06, 0, 0, 0x7fff0000)]
        class Prog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
        code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in insns))
        prog = Prog(len(insns), ctypes.addressof(code))
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.prctl(38, 1, 0, 0, 0) == 0                      # PR_SET_NO_NEW_PRIVS
        assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0     # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        os.execv(sys.argv[2], sys.argv[2:])
        """

    @Test(arguments: [(EPERM, "Operation not permitted"), (ENOSYS, "Function not implemented")])
    func bpfRefusedBySeccompIsReportedAsDeniedNotAsAMissingFeature(errno: Int32, text: String) throws {
        let (status, output) = run(["python3", "-c", Self.denyBPF, "\(errno)", srcipBinary, "trace", "--services", "none",
                                    "--duration", "1"])
        #expect(status != 0, "\(output)")
        #expect(output.contains("bpf() system call was denied"), "\(output)")
        #expect(output.contains(text), "\(output)")
        #expect(output.contains("deploy/seccomp/srcip.json"), "\(output)")
        #expect(output.contains("seccomp"), "\(output)")
        #expect(!output.contains("ring buffer"), "\(output)")
        // Without the filter the same probe finds the ring buffer and no denial.
        let features = KernelFeatures.probe()
        #expect(features.ringBuffer && features.bpfDenied == nil)
    }
}
