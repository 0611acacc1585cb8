import ArgumentParser
import Foundation
import SrcipCore
import SrcipExport

/// `--check`, `--junit FILE`, `--check-service NS/NAME`: shared by `srcip trace` and `srcip merge`.
struct CheckOptions: ParsableArguments {
    @Flag(help: "Verify every flow against what Kubernetes documents (docs/kube-proxy-nat.md §4) and print a table per Service port and entry path, failures first. Exit status: 0 all as documented, 1 a mismatch, 2 nothing verifiable.")
    var check = false

    @Option(name: .customLong("junit"), help: "With --check: also write the verification as JUnit XML to this file (one test case per Service port and entry path).")
    var junit: String?

    @Option(name: .customLong("check-service"),
            help: "With --check: verify only this Service, NAMESPACE/NAME (repeatable); one that saw no traffic is reported as not exercised.")
    var checkServices: [String] = []

    func validate() throws {
        if !check && (junit != nil || !checkServices.isEmpty) {
            throw ValidationError("--junit and --check-service only apply with --check")
        }
        for s in checkServices {
            let parts = s.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count != 2 || parts.contains(where: \.isEmpty) {
                throw ValidationError("--check-service \(s): write NAMESPACE/NAME, e.g. default/nodeport")
            }
        }
    }
}

/// Writes a verification report where `--check` asked for it and turns it into the exit status.
enum CheckReport {
    /// Prints the report (text, or JSON lines for `jsonl`) through `emit`, writes `--junit`, and throws the exit status
    /// (1 a mismatch, 2 nothing verifiable) unless every selected path was as documented.
    static func finish(_ report: VerificationReport, options: CheckOptions, jsonl: Bool, suite: String,
                       emit: (String) throws -> Void) throws {
        if jsonl {
            for line in report.jsonLines() { try emit(line) }
        } else {
            try emit(VerificationText.render(report))
        }
        if let path = options.junit {
            let xml = VerificationJUnit.render(report, suite: suite, timestamp: RFC3339.format(unixNs: nowNs()),
                                               hostname: ProcessInfo.processInfo.hostName)
            do {
                try xml.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("--junit \(path): cannot write the report: \(error.localizedDescription)")
            }
        }
        let status = report.exitStatus
        if status != 0 { throw ExitCode(status) }
    }

    static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
