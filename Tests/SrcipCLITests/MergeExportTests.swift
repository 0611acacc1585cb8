import Foundation
import Testing

/// Real output of every command, checked by standard tools: the lab demo's trace files (flow records), a `--raw`
/// trace, `srcip merge --format jsonl --check` against docs/schemas with Python's `jsonschema`; `merge --format svg`
/// names every hop; `merge --format html` renders in headless Chromium to a picture that is not blank.
@Suite(.serialized, .privileged)
struct MergeExportTests {
    static let scripts = TestEnvironment.packageRoot.appendingPathComponent("scripts").path

    /// `python3 scripts/validate-jsonl.py KIND FILES…`: exit status and output.
    static func validate(_ kind: String, _ files: [String]) -> (status: Int32, output: String) {
        run(["python3", "\(scripts)/validate-jsonl.py", kind] + files)
    }

    @Test func everyOutputValidatesAndThePictureShowsEveryHop() throws {
        let lab = "mx\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
        let dir = NSTemporaryDirectory() + "srcip-mergeexport-\(getpid())-\(lab)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // scripts/export-outputs.sh runs the commands (and removes the lab); the test waits for its `done` file
        // rather than for the process: the kept lab's daemons and Foundation's child reaping do not mix.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        p.arguments = ["sh", "\(Self.scripts)/export-outputs.sh", dir, lab, srcipBinary]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(180)
        while !FileManager.default.fileExists(atPath: "\(dir)/done") && Date() < deadline { usleep(100_000) }
        try #require(FileManager.default.fileExists(atPath: "\(dir)/done"), "scripts/export-outputs.sh did not finish in 180 s")
        let steps = try String(contentsOfFile: "\(dir)/status", encoding: .utf8)
        for step in ["demo", "get", "raw", "merge", "svg", "html", "chromium"] {
            #expect(steps.contains("\(step) 0\n"), "\(step) failed: \(steps) \((try? String(contentsOfFile: "\(dir)/\(step).txt", encoding: .utf8)) ?? "")")
        }
        let raw = "\(dir)/raw.jsonl"
        let rawCheck = Self.validate("raw", [raw])
        #expect(rawCheck.status == 0, "\(rawCheck.output)")
        // Like flow output, --raw JSON Lines opens with a `run` line and closes with a `summary` counting the records.
        let rawLines = try String(contentsOfFile: raw, encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(rawLines.first?["kind"] as? String == "run" && rawLines.first?["join"] != nil, "\(rawLines.first ?? [:])")
        #expect(rawLines.last?["kind"] as? String == "summary" && rawLines.last?["records"] as? Int == rawLines.count - 2,
                "\(rawLines.last ?? [:])")
        #expect(rawLines.dropFirst().dropLast().allSatisfy { $0["kind"] == nil && $0["hook"] != nil })

        let traces = (1...3).map { "\(dir)/trace-node\($0).jsonl" }
        let flowCheck = Self.validate("flow", traces)
        #expect(flowCheck.status == 0, "\(flowCheck.output)")

        let merged = "\(dir)/paths.jsonl"
        let mergeCheck = Self.validate("merge", [merged])
        #expect(mergeCheck.status == 0, "\(mergeCheck.output)")
        let paths = try String(contentsOfFile: merged, encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["kind"] as? String == "path" }
        #expect(paths.count >= 20, "the demo sends 20 requests to Services")
        #expect(paths.contains { $0["outcome"] as? String == "dropped" && ($0["stopped_at"] as? [String: Any])?["node"] as? String == "node2" })
        try Self.expectKubectlLogsMergeToTheSamePaths(traces: traces, paths: merged, dir: dir)

        // The SVG names every hop: node, interfaces and the tuple on each arrow.
        let svg = "\(dir)/paths.svg"
        let drawing = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(drawing.components(separatedBy: "class=\"path\"").count - 1 == paths.count)
        for p in paths {
            for hop in p["hops"] as? [[String: Any]] ?? [] {
                let node = hop["node"] as? String ?? "?"
                #expect(drawing.contains(">\(node)</text>"), "hop \(node) not drawn")
                for key in ["in_interface", "out_interface"] {
                    if let name = hop[key] as? String { #expect(drawing.contains(name), "interface \(name) of \(node) not drawn") }
                }
                if let before = hop["before"] as? [String: Any], let ip = before["src_ip"] as? String, let port = before["src_port"] as? Int {
                    #expect(drawing.contains("\(ip):\(port)"), "tuple \(ip):\(port) entering \(node) not drawn")
                }
            }
        }

        // The HTML page in headless Chromium: a screenshot with colour on it.
        let html = "\(dir)/paths.html", png = "\(dir)/paths.png"
        #expect(FileManager.default.fileExists(atPath: html) && FileManager.default.fileExists(atPath: png))
        let look = run(["python3", "\(Self.scripts)/screenshot-check.py", png, "50", "0.05"])
        #expect(look.status == 0, "screenshot looks blank: \(look.output)")
    }

    /// The three nodes' traces as `kubectl logs -n srcip -l app=srcip --prefix -f` prints them (kubectl 1.32.4 against
    /// a stub API server: `[pod/POD/CONTAINER] ` before every line, whole lines of the pods interleaved, srcip's
    /// standard-error lines among them) make the same paths through `srcip merge -` as the files do.
    static func expectKubectlLogsMergeToTheSamePaths(traces: [String], paths: String, dir: String) throws {
        let pods = ["srcip-4xk2p", "srcip-9zq7m", "srcip-t8wfd"]
        var streams: [[String]] = try zip(pods, traces).enumerated().map { i, podTrace in
            let lines = try String(contentsOfFile: podTrace.1, encoding: .utf8).split(separator: "\n").map(String.init)
            return ["srcip: tracing eth0 on node\(i + 1) (tcx, conntrack join; services: iptables (auto)); Ctrl-C to stop"]
                + lines + ["srcip: \(lines.count) flows written"]
        }
        var interleaved: [String] = []
        while streams.contains(where: { !$0.isEmpty }) {
            for i in streams.indices where !streams[i].isEmpty {
                interleaved.append("[pod/\(pods[i])/srcip] " + streams[i].removeFirst())
            }
        }
        #expect(interleaved[0].hasPrefix("[pod/srcip-4xk2p/srcip] srcip: ") && interleaved[1].hasPrefix("[pod/srcip-9zq7m/srcip] "))
        let logs = "\(dir)/kubectl-logs.txt"
        try (interleaved.joined(separator: "\n") + "\n").write(toFile: logs, atomically: true, encoding: .utf8)
        let out = "\(dir)/kubectl-paths.jsonl"
        let r = run(["sh", "-c", "\(srcipBinary) merge --format jsonl -o \(out) - < \(logs)"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("6 log lines skipped"), "srcip's own lines, two per pod: \(r.output)")
        let pathLines = { (file: String) in
            ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n")
                .filter { $0.contains("\"kind\":\"path\"") }.sorted()
        }
        let expected = pathLines(paths)
        #expect(!expected.isEmpty && pathLines(out) == expected, "kubectl-prefixed input merged differently: \(r.output)")
    }

    @Test func mergeReadsKubectlLogsFromStandardInput() throws {
        let dir = NSTemporaryDirectory() + "srcip-mergestdin-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let record = #"{"version":1,"node":"node2","start":"2026-11-26T00:37:28.523945Z","end":"2026-11-26T00:37:28.523945Z","protocol":"tcp","family":"ipv4","src_ip":"203.0.113.10","src_port":32858,"dst_ip":"192.168.10.12","dst_port":30082,"xlat_src_ip":null,"xlat_src_port":null,"xlat_dst_ip":null,"xlat_dst_port":null,"snat":false,"dnat":false,"snat_interface":null,"snat_hook":null,"in_interface":"eth0","out_interface":null,"service":{"namespace":"default","name":"nodeport-local","port_name":null,"port":80,"type":"NodePort","frontend":"node_port","external_traffic_policy":"Local","internal_traffic_policy":"Cluster","resolved_from":"vip"},"client_kind":"external","hairpin":false,"verdict":"dropped","expected":"dropped","expectation_met":true,"packets":2,"bytes":148,"reply_packets":0,"reply_bytes":0,"join":"conntrack"}"#
        let logs = "[pod/srcip-x1/srcip] srcip: tracing eth0 on node2\n[pod/srcip-x1/srcip] \(record)\n"
        try logs.write(toFile: "\(dir)/logs.txt", atomically: true, encoding: .utf8)
        let r = run(["sh", "-c", "\(srcipBinary) merge - < \(dir)/logs.txt"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("stopped at node2 (entered eth0, never left)  dropped (expected dropped ✓)"), "\(r.output)")
        #expect(r.output.contains("1 log lines skipped"))
        let refused = run([srcipBinary, "merge", "-o", "json", "\(dir)/logs.txt"])
        #expect(refused.status != 0 && refused.output.contains("did you mean --format json"))
    }
}

/// Shell completion covers every value list (ArgumentParser's generated scripts).
@Suite struct CompletionTests {
    @Test(arguments: ["bash", "zsh", "fish"]) func everyValueListCompletes(shell: String) {
        let script = run([srcipBinary, "--generate-completion-script", shell])
        #expect(script.status == 0)
        for values in [["preserved", "snat", "dropped", "rejected", "unknown"], ["compact", "table", "jsonl", "csv", "ipfix"],
                       ["html", "svg"], ["tcp", "udp", "icmp", "icmpv6"], ["auto", "iptables", "nftables", "none"]] {
            for v in values { #expect(script.output.contains(v), "\(shell): \(v) not completed") }
        }
    }
}
