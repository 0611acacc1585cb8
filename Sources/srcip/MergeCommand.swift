import ArgumentParser
import Foundation
import SrcipCore
import SrcipExport

/// `srcip merge`: stitch the flow records of several nodes into end-to-end paths.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join flow records of several nodes into paths and show which source IP the backend saw.",
        discussion: """
        Reads JSON Lines flow records (srcip trace --format jsonl) written on different nodes and joins them: a hop \
        whose translated tuple (xlat_*) is the next node's original tuple, within --window seconds, continues on that \
        node. Each path shows its hops, the source address the backend saw, where it was written (node/interface hook) \
        and the end-to-end verdict against what Kubernetes documents for the Service the client addressed.
          srcip merge node2.jsonl node1.jsonl
          srcip merge --format jsonl *.jsonl > paths.jsonl

        Records that fit no complete path are listed on standard error (and as "kind":"unmatched" lines with \
        --format jsonl), as are malformed lines (file:line: field: problem). Exits 1 when any input line was malformed \
        or a file could not be read.

        With --check, the paths are verified against what Kubernetes documents: a table per Service port and entry \
        path (the source each backend saw end to end), failures first, after the paths (JSON lines with --format \
        jsonl); --junit FILE writes it as JUnit XML. Exit status then: 0 all as documented, 1 a mismatch (or a bad \
        input line), 2 nothing verifiable.
          srcip merge --check --junit check.xml node*.jsonl
        """)

    @Argument(help: "Flow record files (JSON Lines; - for standard input).")
    var files: [String]

    @Option(help: "Output format: text or jsonl.")
    var format: MergeFormat = .text

    @Option(parsing: .unconditional, help: "Largest start-time difference between consecutive hops, in seconds (0.001 to one year).")
    var window: Double = 5

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    // --check, --junit, --check-service (CheckReport.swift), over the stitched paths.
    @OptionGroup(title: "Verification")
    var checking: CheckOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one flow record file") }
        try OptionValidation.seconds(window, option: "--window", min: 0.001)
    }

    func run() throws {
        var records: [FlowRecord] = []
        var failed = false
        for file in files {
            do {
                let (r, errors) = try FlowRecordReader.read(path: file)
                records += r
                for e in errors { Diagnostics.note(e.description) }
                if !errors.isEmpty { failed = true }
            } catch {
                Diagnostics.note(error.description)
                failed = true
            }
        }
        let result = FlowPathMerger.merge(records, windowNs: Int64(window * 1e9))
        let sink = try FileSink(path: output ?? "-")
        for p in result.paths {
            switch format {
            case .text: try sink.write(p.textLine + "\n")
            case .jsonl: try sink.write(p.jsonLine() + "\n")
            }
        }
        for u in result.unmatched {
            if format == .jsonl { try sink.write(u.jsonLine() + "\n") }
            Diagnostics.note("unmatched: \(u.record.node) \(Endpoint.format(u.record.original.src, u.record.original.srcPort)) → "
                             + "\(Endpoint.format(u.record.original.dst, u.record.original.dstPort)): \(u.reason)")
        }
        let report = checking.check ? VerificationReport.build(paths: result.paths, services: checking.checkServices) : nil
        if report != nil, format == .text { try sink.write("\n") }
        var checkFailure: Error?
        if let report {
            do {
                try CheckReport.finish(report, options: checking, jsonl: format == .jsonl, suite: "srcip check cluster") {
                    try sink.write($0 + "\n")
                }
            } catch { checkFailure = error }
        }
        try sink.close()
        Diagnostics.note("\(records.count) records from \(files.count) files → \(result.paths.count) paths "
                         + "(\(result.paths.filter { $0.hops.count > 1 }.count) across nodes), \(result.unmatched.count) unmatched")
        if failed { throw ExitCode(1) }
        if let checkFailure { throw checkFailure }
    }
}
