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
        Reads flow records written on different nodes (srcip trace --format jsonl or csv; files, or - for standard \
        input) and joins them: a hop whose translated tuple (xlat_*) is the next node's original tuple, within \
        --window seconds, continues on that node. Each path shows its hops, the source address the backend saw, where \
        it was written (node/interface hook) and the end-to-end verdict against what Kubernetes documents for the \
        Service the client addressed. A path that never reached a backend names the node where it stopped; a reply \
        recorded on a node that did not see its request folds into the request's path.
          srcip merge node2.jsonl node1.jsonl
          srcip merge --format jsonl *.jsonl > paths.jsonl
          kubectl logs -n srcip -l app=srcip --prefix | srcip merge -
          srcip merge --format html -o paths.html node*.jsonl   # a picture per Service (svg: the drawing alone)

        JSON Lines lines whose "kind" is not "flow" (run, summary) are skipped; kubectl's "[pod/NAME/CONTAINER] " \
        prefix is removed and the log lines between records are ignored. Formats: text (one line per path), compact, \
        table, jsonl (docs/schemas/merge.schema.json), html and svg.

        Records that fit no complete path are listed on standard error (and as "kind":"unmatched" lines with \
        --format jsonl), as are malformed lines (file:line: field: problem). Exits 1 when any input line was malformed \
        or a file could not be read.

        With --check, the paths are verified against what Kubernetes documents: a table per Service port and entry \
        path (the source each backend saw end to end), failures first, after the paths (JSON lines with --format \
        jsonl); --junit FILE writes it as JUnit XML. Exit status then: 0 all as documented, 1 a mismatch (or a bad \
        input line), 2 nothing verifiable.
          srcip merge --check --junit check.xml node*.jsonl
        """)

    @Argument(help: ArgumentHelp("Flow record files (JSON Lines or CSV; - for standard input).", valueName: "file"),
              completion: .file())
    var files: [String]

    @Option(help: "Output format: text, compact (one short line per path), table, jsonl, html or svg (a picture per Service).")
    var format: MergeFormat = .text

    @Option(parsing: .unconditional, help: "Largest start-time difference between consecutive hops, in seconds (0.001 to one year).")
    var window: Double = 5

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.", completion: .file())
    var output: String?

    // --service, --namespace, --verdict, --from-ip, --to-ip (FilterOptions.swift), over the stitched paths.
    @OptionGroup(title: "Filters")
    var filtering: FilterOptions

    // --check, --junit, --check-service (CheckReport.swift), over the stitched paths.
    @OptionGroup(title: "Verification")
    var checking: CheckOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one flow record file, or - for standard input") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read once") }
        try OptionValidation.seconds(window, option: "--window", min: 0.001)
        try OutputPathCheck.validate(output)
        if checking.check && (format == .html || format == .svg) {
            throw ValidationError("--check prints a table: use it with --format text, compact, table or jsonl")
        }
    }

    func run() throws {
        var records: [FlowRecord] = []
        var failed = false
        var skippedKinds = 0, logLines = 0
        for file in files {
            do {
                let input = try FlowRecordInput.read(path: file)
                records += input.records
                skippedKinds += input.otherKinds
                logLines += input.logLines
                for e in input.errors { Diagnostics.note(e.description) }
                if !input.errors.isEmpty { failed = true }
            } catch {
                Diagnostics.note(error.description)
                failed = true
            }
        }
        let result = FlowPathMerger.merge(records, windowNs: Int64(window * 1e9))
        let filter = filtering.filter
        let paths = result.paths.filter { filter.matches($0) }
        let unmatched = filter.isEmpty ? result.unmatched : result.unmatched.filter { filter.matches($0.record) }
        let sink = try FileSink(path: output ?? "-")
        switch format {
        case .text: for p in paths { try sink.write(p.textLine + "\n") }
        case .compact: for p in paths { try sink.write(p.compactLine + "\n") }
        case .table: try sink.write(TextTable.render(header: FlowPath.tableHeader, rows: paths.map(\.tableRow)) + "\n")
        case .jsonl: for p in paths { try sink.write(p.jsonLine() + "\n") }
        case .html: try sink.write(PathPicture.html(paths))
        case .svg: try sink.write(PathPicture.svg(paths))
        }
        for u in unmatched {
            if format == .jsonl { try sink.write(u.jsonLine() + "\n") }
            Diagnostics.note("unmatched: \(u.record.node) \(Endpoint.format(u.record.original.src, u.record.original.srcPort)) → "
                             + "\(Endpoint.format(u.record.original.dst, u.record.original.dstPort)): \(u.reason)")
        }
        let report = checking.check ? VerificationReport.build(paths: paths, services: checking.checkServices) : nil
        if report != nil, format != .jsonl { try sink.write("\n") }
        var checkFailure: Error?
        if let report {
            do {
                try CheckReport.finish(report, options: checking, jsonl: format == .jsonl, suite: "srcip check cluster") {
                    try sink.write($0 + "\n")
                }
            } catch { checkFailure = error }
        }
        try sink.close()
        var skipped = ""
        if skippedKinds > 0 { skipped += ", \(skippedKinds) run/summary lines skipped" }
        if logLines > 0 { skipped += ", \(logLines) log lines skipped" }
        let shown = filter.isEmpty ? "" : " (\(paths.count) shown after filters)"
        Diagnostics.note("\(records.count) records from \(files.count) files\(skipped) → \(result.paths.count) paths "
                         + "(\(result.paths.filter { $0.hops.count > 1 }.count) across nodes)\(shown), \(result.unmatched.count) unmatched")
        if failed { throw ExitCode(1) }
        if let checkFailure { throw checkFailure }
    }
}
