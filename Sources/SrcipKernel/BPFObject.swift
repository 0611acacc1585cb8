import CLibbpf
import CSrcipABI
import CSrcipSkeleton
import Foundation
import SrcipCore

/// How the programs join pre- and post-NAT views of a flow.
public enum TracerFlavour: String, Sendable, CustomStringConvertible {
    /// Conntrack kfuncs: records carry the kernel's NAT mapping.
    case conntrack
    /// No kfuncs: records carry packet fingerprints only.
    case fingerprint
    public var description: String { rawValue }
}

/// Load-time settings of the BPF object.
public struct LoadOptions: Sendable {
    /// Never touch conntrack, even if the kernel could.
    public var forceFingerprint: Bool = false
    /// Ring buffer size in bytes (power of two, multiple of the page size).
    public var ringBufferBytes: UInt32 = 4 << 20
    /// Capacity of the LRU flow map.
    public var flowCapacity: UInt32 = 65536
    /// Salt mixed into conntrack ids; random by default.
    public var ctSalt: UInt64 = UInt64.random(in: 1...UInt64.max)
    /// Echo libbpf's log (and verifier log) to stderr.
    public var verbose: Bool = false
    /// Skip the capability check (tests that know they are root).
    public var checkCapabilities: Bool = true
    /// Also load `srcip_nop`, a program that does nothing: the benchmark baseline for the cost of the hook
    /// and of BPF run-time statistics (see `BPFObject.baselineProgramFD`).
    public var includeBaselineProgram: Bool = false
    /// How the conntrack programs read a conntrack entry: direct loads (true; needs Linux 6.17+), helper copies
    /// (false), or nil: direct loads, and copies if the kernel refuses the programs that way.
    public var conntrackDirectReads: Bool? = nil
    /// Ask the verifier for its statistics of each program loaded (`BPFObject.verifierStatistics`).
    public var verifierStatistics: Bool = false

    public init() {}
}

/// What the kernel's verifier reported for one program (log level 4, BPF_LOG_STATS).
public struct VerifierStatistics: Sendable, Equatable {
    public var program: String
    /// Instructions the verifier processed (its budget is 1,000,000).
    public var instructionsProcessed: Int
    /// The verifier's own time for the program, in microseconds.
    public var verificationMicroseconds: Int

    public init(program: String, instructionsProcessed: Int, verificationMicroseconds: Int) {
        self.program = program
        self.instructionsProcessed = instructionsProcessed
        self.verificationMicroseconds = verificationMicroseconds
    }

    /// Parses a BPF_LOG_STATS log ("verification time N usec", "processed N insns (limit ...) ..."); nil without them.
    public init?(program: String, log: String) {
        func number(after prefix: String) -> Int? {
            guard let r = log.range(of: prefix) else { return nil }
            return Int(log[r.upperBound...].prefix { $0.isNumber })
        }
        guard let insns = number(after: "processed "), let usec = number(after: "verification time ") else { return nil }
        self.program = program
        instructionsProcessed = insns
        verificationMicroseconds = usec
    }
}

/// The loaded srcip BPF object: programs of one flavour, the maps, the verifier log.
///
/// `@unchecked Sendable` is safe: every stored property is a `let`; the skeleton pointer is only read after `init`
/// (fd and program lookups, which libbpf does without mutating the skeleton) and freed in `deinit`, when no other
/// reference exists; map operations are bpf(2) syscalls, which the kernel serialises.
public final class BPFObject: @unchecked Sendable {
    let skel: OpaquePointer
    /// Which flavour was loaded.
    public let flavour: TracerFlavour
    /// What the kernel offered at load time.
    public let features: KernelFeatures
    /// libbpf's log from loading (warnings; with `verbose`, everything).
    public let loadLog: String
    /// The salt used for conntrack ids.
    public let ctSalt: UInt64
    private let hasBaselineProgram: Bool
    /// Whether the conntrack programs read entries with direct loads (false: with helper copies, or fingerprint).
    public let conntrackDirectReads: Bool
    /// The verifier's statistics of each program loaded, with `LoadOptions.verifierStatistics` (else empty).
    public let verifierStatistics: [VerifierStatistics]
    /// User-space deletions from the flow map (`deleteFlow`), for counting evictions.
    let flowMapAccess = FlowMapAccess()

    /// Probes the kernel, opens the embedded object, configures and loads it.
    public init(options: LoadOptions = LoadOptions()) throws {
        if options.checkCapabilities { try Capabilities.current().requireTracing() }
        let features = KernelFeatures.probe()
        try features.requireBasics()
        self.features = features
        let flavour: TracerFlavour = options.forceFingerprint || !features.conntrackKfuncs ? .fingerprint : .conntrack
        self.flavour = flavour
        self.ctSalt = options.ctSalt

        self.hasBaselineProgram = options.includeBaselineProgram
        let direct = flavour == .conntrack && options.conntrackDirectReads != false
        do {
            (skel, loadLog, verifierStatistics) = try Self.load(options: options, flavour: flavour, directReads: direct)
            conntrackDirectReads = direct
        } catch KernelError.loadFailed where direct && options.conntrackDirectReads == nil {
            // Kernels before 6.17 cannot cast an address to untrusted memory (bpf_rdonly_cast(addr, 0)).
            (skel, loadLog, verifierStatistics) = try Self.load(options: options, flavour: flavour, directReads: false)
            conntrackDirectReads = false
        }
    }

    /// Opens the embedded object, configures and loads it; frees it again if the kernel refuses it.
    private static func load(options: LoadOptions, flavour: TracerFlavour,
                             directReads: Bool) throws -> (OpaquePointer, String, [VerifierStatistics]) {
        LibbpfLog.begin(echo: options.verbose)
        guard let skel = srcip_skel_open() else {
            let e = errno
            LibbpfLog.end()
            throw KernelError.openFailed(errno: e)
        }
        let cfg = srcip_skel_config(skel)!
        cfg.pointee.ct_salt = options.ctSalt
        cfg.pointee.force_fingerprint = options.forceFingerprint ? 1 : 0
        cfg.pointee.ct_read_direct = directReads ? 1 : 0
        var wanted: Set<UInt32> = flavour == .conntrack
            ? [SRCIP_PROG_INGRESS_CT.rawValue, SRCIP_PROG_EGRESS_CT.rawValue]
            : [SRCIP_PROG_INGRESS_FP.rawValue, SRCIP_PROG_EGRESS_FP.rawValue]
        wanted.insert(SRCIP_PROG_FLUSH.rawValue)
        wanted.insert(SRCIP_PROG_FILTER_REBUILD.rawValue)
        if options.includeBaselineProgram { wanted.insert(SRCIP_PROG_NOP.rawValue) }
        for id in 0..<SRCIP_PROG__MAX.rawValue {
            bpf_program__set_autoload(srcip_skel_program(skel, srcip_prog_id(rawValue: id)), wanted.contains(id))
        }
        bpf_map__set_max_entries(srcip_skel_map(skel, SRCIP_MAP_EVENTS), options.ringBufferBytes)
        bpf_map__set_max_entries(srcip_skel_map(skel, SRCIP_MAP_FLOWS), options.flowCapacity)
        // Statistics only (level 4): a program the verifier refuses then has no reasons in its log, so not by default.
        let statsLogSize = 4096
        let statsLogs = options.verifierStatistics ? wanted.sorted().map { id -> (OpaquePointer, UnsafeMutablePointer<CChar>) in
            let prog = srcip_skel_program(skel, srcip_prog_id(rawValue: id))!
            let buf = UnsafeMutablePointer<CChar>.allocate(capacity: statsLogSize)
            buf.initialize(repeating: 0, count: statsLogSize)
            bpf_program__set_log_level(prog, 4)
            bpf_program__set_log_buf(prog, buf, statsLogSize)
            return (prog, buf)
        } : []
        defer { statsLogs.forEach { $0.1.deallocate() } }
        let rc = srcip_skel_load(skel)
        let log = LibbpfLog.end()
        if rc != 0 {
            srcip_skel_destroy(skel)
            throw KernelError.loadFailed(errno: rc, log: log)
        }
        let stats = statsLogs.compactMap { prog, buf in
            VerifierStatistics(program: String(cString: bpf_program__name(prog)), log: String(cString: buf))
        }
        return (skel, log, stats)
    }

    deinit { srcip_skel_destroy(skel) }

    /// The loaded program for a hook.
    public func program(_ hook: Hook) -> OpaquePointer {
        let id: srcip_prog_id
        switch (flavour, hook) {
        case (.conntrack, .ingress): id = SRCIP_PROG_INGRESS_CT
        case (.conntrack, .egress): id = SRCIP_PROG_EGRESS_CT
        case (.fingerprint, .ingress): id = SRCIP_PROG_INGRESS_FP
        case (.fingerprint, .egress): id = SRCIP_PROG_EGRESS_FP
        }
        return srcip_skel_program(skel, id)
    }

    /// File descriptor of the loaded program for a hook.
    public func programFD(_ hook: Hook) -> Int32 { bpf_program__fd(program(hook)) }

    /// Name of the loaded program for a hook (e.g. `srcip_ingress_ct`).
    public func programName(_ hook: Hook) -> String { String(cString: bpf_program__name(program(hook))) }

    /// File descriptor of `srcip_nop` (returns -1, touches nothing); nil unless loaded with
    /// `LoadOptions.includeBaselineProgram`.
    public var baselineProgramFD: Int32? {
        hasBaselineProgram ? bpf_program__fd(srcip_skel_program(skel, SRCIP_PROG_NOP)) : nil
    }

    var flushProgramFD: Int32 { bpf_program__fd(srcip_skel_program(skel, SRCIP_PROG_FLUSH)) }
    var filterRebuildProgramFD: Int32 { bpf_program__fd(srcip_skel_program(skel, SRCIP_PROG_FILTER_REBUILD)) }
    var flowCacheFD: Int32 { bpf_map__fd(srcip_skel_map(skel, SRCIP_MAP_FLOW_CACHE)) }
    var flowsFD: Int32 { bpf_map__fd(srcip_skel_map(skel, SRCIP_MAP_FLOWS)) }
    var eventsFD: Int32 { bpf_map__fd(srcip_skel_map(skel, SRCIP_MAP_EVENTS)) }
    var countersFD: Int32 { bpf_map__fd(srcip_skel_map(skel, SRCIP_MAP_COUNTERS)) }
}
