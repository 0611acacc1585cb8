import Foundation

/// The process's effective capabilities, from /proc/self/status (CapEff).
public struct Capabilities: Sendable, Equatable {
    public static let netAdmin = 12
    public static let sysAdmin = 21
    public static let perfmon = 38
    public static let bpf = 39

    public let effective: UInt64

    public init(effective: UInt64) { self.effective = effective }

    /// Reads CapEff of the current process.
    public static func current() -> Capabilities {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            return Capabilities(effective: 0)
        }
        return parse(status: text)
    }

    /// Parses the text of a /proc/<pid>/status file.
    public static func parse(status: String) -> Capabilities {
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces)
            return Capabilities(effective: UInt64(hex, radix: 16) ?? 0)
        }
        return Capabilities(effective: 0)
    }

    public func has(_ cap: Int) -> Bool { effective & (1 << UInt64(cap)) != 0 }

    /// Capabilities srcip needs but lacks (CAP_SYS_ADMIN stands in for BPF and PERFMON on older kernels).
    public var missingForTracing: [String] {
        var missing: [String] = []
        if !has(Self.bpf) && !has(Self.sysAdmin) { missing.append("CAP_BPF") }
        if !has(Self.perfmon) && !has(Self.sysAdmin) { missing.append("CAP_PERFMON") }
        if !has(Self.netAdmin) { missing.append("CAP_NET_ADMIN") }
        return missing
    }

    /// Throws `KernelError.missingCapabilities` unless tracing is possible.
    public func requireTracing() throws {
        let missing = missingForTracing
        if !missing.isEmpty { throw KernelError.missingCapabilities(missing) }
    }
}
