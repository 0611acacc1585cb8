import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabWorkloads
@testable import SrcipLabNetwork
@testable import SrcipLabDemo
import SrcipSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// srcip's verdicts against ground truth: every §4 scenario (KubeProxyScenarioTests.rows) in both proxy modes with
/// `srcip trace` running in every node twice — conntrack join and `--fingerprint` — for the whole lab. Per request:
/// srcip's end-to-end verdict and the source it says the backend saw equal what the echo pod saw; the entry node's
/// xlat_* equals its `conntrack -L`; the fingerprint run gives the same hops and verdict. `srcip merge` of node2's and
/// node1's records yields the whole two-hop NodePort path. The conntrack traces run with `--check --junit`: their
/// verification rows and JUnit reports are checked against the records and the echo pods (VerificationReportGroundTruth).
@Suite("srcip verdicts vs the lab's ground truth (privileged)", .serialized, .privileged)
struct VerdictGroundTruthTests {
    /// One request as sent, with its send window and the entry node's conntrack entries read right after it.
    struct Sent {
        var probe: ScenarioProbe
        var startNs: Int64
        var endNs: Int64
        var conntrack: [ConntrackEntry]
    }

    @Test("§4 rows 1–4, 8–21, 23: srcip's verdict, conntrack mapping, fingerprint join and merge", arguments: ProxyMode.allCases)
    func verdicts(mode: ProxyMode) throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName(mode == .iptables ? "vi" : "vn"))
        let (objects, _) = try LabManifest.parse(ScenarioManifest.yaml, source: "scenarios")
        let state = try ClusterState.build(from: objects, nodeCount: 3)
        let srcip = try LabTestSupport.srcipExecutable()
        let started = Date()
        var record = try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: mode, srcipExecutable: srcip))
        defer { _ = try? LabController.down(naming: naming) }
        let ct = try LabTraceSession.start(record: record, naming: naming, srcip: srcip, options: .init(tag: "ct", check: true))
        defer { ct.stop() }
        let fp = try LabTraceSession.start(record: record, naming: naming, srcip: srcip, options: .init(fingerprint: true, tag: "fp"))
        defer { fp.stop() }
        print("[\(mode)] lab and traces up in \(Int(Date().timeIntervalSince(started) * 1000)) ms")

        let scenarios = KubeProxyScenarioTests()
        var sent: [Sent] = []
        var port: UInt16 = 42000
        for row in KubeProxyScenarioTests.rows(mode) {
            port += 1
            let t0 = DemoTraceObserver.nowNs()
            let probe = try scenarios.run(row, record: &record, naming: naming, sourcePort: port)
            let t1 = DemoTraceObserver.nowNs()
            let entries = try ConntrackListing.tcp(in: naming.nodeNamespace(probe.entry.name), sourcePort: port)
            sent.append(Sent(probe: probe, startNs: t0, endNs: t1, conntrack: entries))
        }
        // bpftool 7.1 does not list tcx links: check that the programs the traces hold (their fds; other srcip runs on
        // this machine hold their own) are gone once they stop.
        let ours = Self.programsHeld(by: (ct.traces + fp.traces).map(\.pid))
        #expect(ours.count >= 4 * record.state.nodes.count, "both traces' ingress and egress programs on every node: \(ours)")
        let ctStatus = ct.stop()   // `--check`'s exit status: VerificationReportGroundTruth compares it with the report
        let fpStatus = fp.stop()
        #expect(fpStatus.values.allSatisfy { $0 == 0 }, "fingerprint traces exited with \(fpStatus)")
        var left = try srcipPrograms().intersection(ours)
        for _ in 0..<20 where !left.isEmpty {
            usleep(100_000)
            left = try srcipPrograms().intersection(ours)
        }
        #expect(left.isEmpty, "BPF programs of the stopped traces still loaded: \(left)")
        let ctRecords = try ct.records()
        let fpRecords = try fp.records()
        let ctPaths = FlowPathMerger.merge(ctRecords.values.flatMap { $0 }).paths
        let fpPaths = FlowPathMerger.merge(fpRecords.values.flatMap { $0 }).paths

        for s in sent {
            try check(s, ctPaths: ctPaths, fpPaths: fpPaths, state: record.state, mode: mode)
        }
        try checkMerge(sent, session: ct, srcip: srcip)
        try VerificationReportGroundTruth.check(probes: sent.map(\.probe), session: ct, statuses: ctStatus, state: record.state, mode: mode)
        print("[\(mode)] verdicts checked in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    }

    /// Ids of the loaded BPF programs named srcip_* (`bpftool prog show`).
    /// BPF program ids the processes hold open (`prog_id:` in /proc/PID/fdinfo).
    static func programsHeld(by pids: [pid_t]) -> Set<Int> {
        var ids = Set<Int>()
        for pid in pids {
            let dir = "/proc/\(pid)/fdinfo"
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                guard let text = try? String(contentsOfFile: "\(dir)/\(fd)", encoding: .utf8) else { continue }
                for line in text.split(separator: "\n") where line.hasPrefix("prog_id:") {
                    if let id = Int(line.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces)) { ids.insert(id) }
                }
            }
        }
        return ids
    }

    private func srcipPrograms() throws -> Set<Int> {
        let out = try Command.check("bpftool", ["prog", "show"])
        return Set(out.split(separator: "\n").compactMap { line -> Int? in
            guard line.contains(" name srcip_"), let id = line.split(separator: ":").first else { return nil }
            return Int(id)
        })
    }

    private func isHost(_ c: LabClient) -> Bool {
        if case .host = c { return true }
        return false
    }

    private func demoCase(_ p: ScenarioProbe) -> DemoCase {
        DemoCase(service: p.service, frontend: p.frontend, client: p.client, clientNamespace: p.namespace, sourcePort: p.sourcePort,
                 destination: IPAddress(p.destination)!, destinationPort: p.destinationPort, loadBalancerMode: nil, intendedEntry: p.entry)
    }

    /// Checks one request's conntrack-joined path against the echo pod and the entry node's `conntrack -L`;
    /// returns the path (nil when there is nothing srcip could see or the request itself failed).
    @discardableResult
    func checkOne(_ s: Sent, paths ctPaths: [FlowPath], state: ClusterState, what: String) throws -> FlowPath? {
        let p = s.probe
        if case .loopbackNodePort = p.row.target, p.outcome == .refused {
            return nil   // nftables refuses 127.0.0.1:NodePort on lo, which srcip does not attach to: nothing to see.
        }
        // Ground truth from the echo pod.
        let truth: Verdict
        var clientIP: IPAddress?
        switch p.client {
        case let .pod(pod): clientIP = pod.ip(p.row.family) ?? pod.ip
        case let .host(node): clientIP = node.ip(p.row.family) ?? node.ip
        case let .external(ip): clientIP = ip
        }
        if case .loopbackNodePort = p.row.target { clientIP = IPAddress("127.0.0.1") }
        switch p.outcome {
        // A host masqueraded to its own address looks preserved to the pod; only the address is checked then.
        case .response where isHost(p.client) && p.outcome.clientAddress == clientIP?.description: truth = .unknown
        case .response: truth = p.outcome.clientAddress == clientIP?.description ? .preserved : .snat
        case .timeout: truth = .dropped
        case .refused: truth = .rejected
        case .failed(let why): Issue.record("\(what): request failed: \(why)"); return nil
        }

        let c = demoCase(p)
        let path = try #require(DemoPathMatcher.path(for: c, sentBetween: s.startNs, and: s.endNs, in: ctPaths, state: state),
                                "\(what): srcip recorded no flow for source port \(p.sourcePort)")
        #expect(truth == .unknown || path.verdict == truth, "\(what): srcip says \(path.verdict), the echo pod shows \(truth) (\(p.outcome)); \(path.textLine)")
        if let saw = p.outcome.clientAddress {
            #expect(path.backendSawSource.description == saw, "\(what): srcip says the backend saw \(path.backendSawSource), it saw \(saw)")
        }
        let entryHop = path.hops[0]
        #expect(entryHop.node == p.entry.name, "\(what): first hop on \(entryHop.node), expected \(p.entry.name)")

        // The entry node's conntrack table, read right after the request.
        if case .response = p.outcome {
            #expect(entryHop.join == .conntrack, "\(what): \(entryHop.join)")
            let entry = s.conntrack.first { $0.original == entryHop.original }
            #expect(entry != nil, "\(what): no conntrack entry for \(entryHop.original) on \(p.entry.name): \(s.conntrack)")
            if let entry { #expect(entryHop.translated == entry.translated, "\(what): xlat \(String(describing: entryHop.translated)), conntrack \(entry)") }
        } else {
            #expect(entryHop.translated == nil, "\(what): not delivered, yet xlat \(String(describing: entryHop.translated))")
        }
        return path
    }

    func check(_ s: Sent, ctPaths: [FlowPath], fpPaths: [FlowPath], state: ClusterState, mode: ProxyMode) throws {
        let p = s.probe
        let what = "\(p.row) [\(mode)]"
        guard let path = try checkOne(s, paths: ctPaths, state: state, what: what) else { return }
        let c = demoCase(p)

        // Without conntrack, the fingerprint join must find the same hops. A host's own connections are translated
        // before any tc hook, so only conntrack knows what the socket sent: those are left out.
        if case .host = p.client { return }
        let fpPath = try #require(DemoPathMatcher.path(for: c, sentBetween: s.startNs, and: s.endNs, in: fpPaths, state: state),
                                  "\(what): the --fingerprint trace recorded no flow for source port \(p.sourcePort)")
        #expect(fpPath.verdict == path.verdict, "\(what): fingerprint \(fpPath.verdict) vs conntrack \(path.verdict)")
        #expect(fpPath.hops.map(\.node) == path.hops.map(\.node), "\(what): fingerprint hops \(fpPath.textLine) vs \(path.textLine)")
        for (a, b) in zip(fpPath.hops, path.hops) {
            #expect(a.original == b.original && a.translated == b.translated,
                    "\(what) on \(a.node): fingerprint \(a.original) ⇒ \(String(describing: a.translated)), conntrack \(b.original) ⇒ \(String(describing: b.translated))")
            #expect(a.verdict == b.verdict, "\(what) on \(a.node): fingerprint \(a.verdict) vs conntrack \(b.verdict)")
        }
        if case .response = p.outcome { #expect(fpPath.hops[0].join == .fingerprint, "\(what)") }
    }

    /// The request external → node2:NodePort (eTP Cluster, row 8) and the `srcip merge --format jsonl` paths of its
    /// client port over node2's and node1's files.
    static func mergedNodePortPaths(_ sent: [Sent], session: LabTraceSession, srcip: String) throws
        -> (sent: Sent, paths: [[String: Any]], output: String) {
        let s = try #require(sent.first { s in
            if s.probe.row.row == 8, case .nodePort(_, let node) = s.probe.row.target { return node == "node2" }
            return false
        })
        let files = ["node2", "node1"].compactMap { n in session.traces.first { $0.node == n }?.output }
        let r = try Command.run(srcip, ["merge", "--format", "jsonl"] + files)
        #expect(r.status == 0, "srcip merge: \(r.stderr)")
        let paths = r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["kind"] as? String == "path" && $0["client_port"] as? Int == Int(s.probe.sourcePort) }
        return (s, paths, r.stdout)
    }

    /// `srcip merge` over node2's and node1's files: external → node2:NodePort (eTP Cluster) with the backend on node1.
    private func checkMerge(_ sent: [Sent], session: LabTraceSession, srcip: String) throws {
        let merged = try Self.mergedNodePortPaths(sent, session: session, srcip: srcip)
        let path = try #require(merged.paths.first,
                                "no merged path for client port \(merged.sent.probe.sourcePort) in \(merged.output.prefix(2000))")
        let hops = path["hops"] as? [[String: Any]] ?? []
        #expect(hops.map { $0["node"] as? String } == ["node2", "node1"], "\(path)")
        #expect(path["client_ip"] as? String == "203.0.113.10")
        #expect(path["backend_saw_ip"] as? String == "192.168.10.12", "\(path)")
        let written = path["snat_written_at"] as? [String: Any]
        #expect(written?["node"] as? String == "node2" && written?["interface"] as? String == "eth0" && written?["hook"] as? String == "egress",
                "\(String(describing: written))")
        #expect(path["verdict"] as? String == "snat" && path["expected"] as? String == "snat" && path["expectation_met"] as? Bool == true, "\(path)")
        #expect(path["service"] as? String == "default/cluster" && path["frontend"] as? String == "node_port", "\(path)")
    }
}
