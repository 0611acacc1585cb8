import Foundation
import SrcipTestbed
import Testing

/// `srcip trace --ipfix-collector`: real collectors (nfcapd/nfdump, tshark) on the router's loopback receive what the
/// JSON Lines file of the same run says — one nfcapd listening from the start, another nfcapd and a tshark capture
/// started after srcip (they decode only because the templates are refreshed).
@Suite(.serialized, .enabled(if: mustRunPrivileged, "needs root (set CI to make this a failure)"))
struct IPFIXCollectorTests {
    /// A collector process in the router namespace, stopped by SIGTERM (so it writes its file). The test runner's
    /// children inherit a signal mask with SIGTERM blocked: a small exec wrapper clears it first.
    final class Collector {
        let process = Process()
        static let unblock = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])"
        init(netns: String, _ args: [String]) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", netns, "python3", "-c", Self.unblock] + args
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }
        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, Date() < deadline { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    static func nfdump(_ dir: String) throws -> [[String: Any]] {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("nfcapd.") }
        var out: [[String: Any]] = []
        for f in files {
            let json = try NATLab.run(["nfdump", "-r", dir + "/" + f, "-o", "json"])
            guard let start = json.firstIndex(of: "[") else { continue }
            let arr = try JSONSerialization.jsonObject(with: Data(json[start...].utf8)) as? [[String: Any]] ?? []
            out += arr.filter { $0["type"] as? String == "FLOW" }
        }
        return out
    }

    /// Milliseconds of an RFC 3339 time (`…T12:00:00.123456Z` → truncated to ms, as the exporter writes it).
    static func ms(_ s: String) -> String { String(s.prefix(23)) }

    /// nfdump's `t_event` prints milliseconds without leading zeros (`42.66` for 42.066): the same as `ms` in that form.
    static func nfdumpMs(_ rfc3339: String) -> String {
        let m = ms(rfc3339)
        guard let dot = m.lastIndex(of: ".") else { return m }
        return String(m[...dot]) + String(Int(m[m.index(after: dot)...]) ?? 0)
    }

    @Test func earlyAndLateCollectorsDecodeEveryFlowWithTheJSONLinesValues() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        _ = try NATLab.run(["ip", "-n", lab.router, "link", "set", "lo", "up"])
        let dir = NSTemporaryDirectory() + "srcip-ipfix-\(lab.tag)"
        for d in ["early", "late"] { try FileManager.default.createDirectory(atPath: "\(dir)/\(d)", withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = 41_000 + Int(UInt16.random(in: 0...8_000))
        let (early, late, shark) = (base, base + 1, base + 2)

        let nfEarly = try Collector(netns: lab.router, ["nfcapd", "-p", "\(early)", "-b", "127.0.0.1", "-w", "\(dir)/early", "-t", "3600"])
        defer { nfEarly.stop() }
        usleep(500_000)
        let jsonl = "\(dir)/flows.jsonl"
        let trace = try SrcipProcess(["trace", "--format", "jsonl", "-o", jsonl, "--services", "none", "--idle-timeout", "2",
                                      "--active-timeout", "2", "--template-refresh", "1", "--observation-domain", "4711",
                                      "--node", "ipfix-node", "-i", lab.routerClientIf, "-i", lab.routerServerIf,
                                      "--ipfix-collector", "udp://127.0.0.1:\(early)", "--ipfix-collector", "udp://127.0.0.1:\(late)",
                                      "--ipfix-collector", "udp://127.0.0.1:\(shark)"], netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        usleep(2_000_000)   // the first templates went to nobody on the late ports
        let nfLate = try Collector(netns: lab.router, ["nfcapd", "-p", "\(late)", "-b", "127.0.0.1", "-w", "\(dir)/late", "-t", "3600"])
        defer { nfLate.stop() }
        let pcap = "\(dir)/late.pcap"
        let tshark = try Collector(netns: lab.router, ["tshark", "-q", "-i", "lo", "-f", "udp port \(shark)", "-w", pcap])
        defer { tshark.stop() }
        usleep(3_000_000)

        _ = try lab.clientTraffic(tcpConnections: 3, bytes: 3000, udpExchanges: 2)
        // A connection open for 5 s: interim records every 2 s, then its final record.
        _ = try lab.exec(lab.client, ["python3", "-c", """
            import socket, time
            c = socket.socket(); c.connect(("\(NATLab.vip)", \(NATLab.vipTCPPort)))
            for i in range(10):
                c.sendall(b"l" * 1000); time.sleep(0.5)
            c.shutdown(socket.SHUT_WR); c.recv(100); c.close()
            """])
        usleep(4_000_000)
        kill(trace.pid, SIGINT)
        #expect(trace.wait(timeout: 30) == 0, "\(trace.stderr)")
        usleep(1_500_000)
        for c in [nfEarly, nfLate, tshark] { c.stop() }

        let lines = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.first?["kind"] as? String == "run" && lines.last?["kind"] as? String == "summary")
        let flows = lines.filter { $0["kind"] as? String == "flow" && $0["src_ip"] as? String == NATLab.clientIP }
        let interim = flows.filter { $0["final"] as? Bool == false }
        #expect(flows.count >= 6 && !interim.isEmpty, "\(flows.count) flows, \(interim.count) interim:\n\(lines)")
        #expect(interim.allSatisfy { $0["end_reason"] as? String == "active_timeout" })

        func key(_ r: [String: Any]) -> String {
            "\(r["src_port"] ?? "") \(r["dst_port"] ?? "") \(r["end"].map { Self.ms("\($0)") } ?? "")"
        }
        var fwdExpected: [String: Int] = [:]   // nfdump 1.7.1 does not decode forwardingStatus from IPFIX: tshark checks it
        for (name, got) in [("early nfcapd", try Self.nfdump("\(dir)/early")), ("late nfcapd", try Self.nfdump("\(dir)/late"))] {
            let mine = got.filter { $0["src4_addr"] as? String == NATLab.clientIP }
            #expect(mine.count == flows.count, "\(name): \(mine.count) flows, JSON Lines \(flows.count)")
            let byKey = Dictionary(mine.map { ("\($0["src_port"] ?? "") \($0["dst_port"] ?? "") \(Self.ms("\($0["last"] ?? "")"))", $0) },
                                   uniquingKeysWith: { a, _ in a })
            for f in flows {
                let k = "\(f["src_port"] ?? "") \(f["dst_port"] ?? "") \(Self.ms("\(f["end"] ?? "")"))"
                guard let n = byKey[k] else { Issue.record("\(name): no flow \(k)"); continue }
                let translated = (f["snat"] as? Bool == true) || (f["dnat"] as? Bool == true)
                let event = translated ? (f["final"] as? Bool == false ? "4" : "5") : "0"
                let fwd: Int = ["preserved": 64, "snat": 64, "dropped": 128, "rejected": 129][f["verdict"] as? String ?? ""] ?? 0
                #expect(n["dst4_addr"] as? String == f["dst_ip"] as? String, "\(name) \(k)")
                #expect(n["proto"] as? Int == (f["protocol"] as? String == "tcp" ? 6 : 17), "\(name) \(k)")
                #expect(n["in_packets"] as? Int == f["packets"] as? Int && n["in_bytes"] as? Int == f["bytes"] as? Int, "\(name) \(k): \(n) vs \(f)")
                #expect(Self.ms("\(n["first"] ?? "")") == Self.ms("\(f["start"] ?? "")"), "\(name) \(k)")
                #expect(n["src4_xlt_ip"] as? String == (f["xlat_src_ip"] as? String ?? f["src_ip"] as? String), "\(name) \(k)")
                #expect(n["dst4_xlt_ip"] as? String == (f["xlat_dst_ip"] as? String ?? f["dst_ip"] as? String), "\(name) \(k)")
                #expect(n["src_xlt_port"] as? String == "\(f["xlat_src_port"] as? Int ?? f["src_port"] as? Int ?? -1)", "\(name) \(k)")
                #expect(n["dst_xlt_port"] as? String == "\(f["xlat_dst_port"] as? Int ?? f["dst_port"] as? Int ?? -1)", "\(name) \(k)")
                #expect(n["nat_event_id"] as? String == event, "\(name) \(k): \(n)")
                #expect(n["t_event"] as? String == Self.nfdumpMs("\(f["end"] ?? "")"), "\(name) \(k): event time")
                fwdExpected[k] = fwd
            }
        }

        // tshark, started late: decodes the data records (templates refreshed), with domain, NAT fields and end reasons.
        let fields = ["cflow.od_id", "cflow.srcaddr", "cflow.srcport", "cflow.dstport", "cflow.post_natsource_ipv4_address",
                      "cflow.nat_event", "cflow.flow_end_reason", "cflow.observation_domain_name",
                      "cflow.forwarding_status"]
        let out = try NATLab.run(["tshark", "-r", pcap, "-d", "udp.port==\(shark),cflow", "-T", "fields", "-E", "occurrence=a",
                                  "-E", "aggregator=;", "-E", "separator=|"] + fields.flatMap { ["-e", $0] })
        var decoded = 0, names = Set<String>(), reasons: [String] = [], forwarding = Set<String>()
        for row in out.split(separator: "\n") {
            let cols = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.split(separator: ";").map(String.init) }
            guard cols.count == fields.count else { continue }
            #expect(cols[0].allSatisfy { $0 == "4711" }, "\(row)")
            names.formUnion(cols[7])
            for (i, src) in cols[1].enumerated() where src == NATLab.clientIP {
                decoded += 1
                if i < cols[6].count { reasons.append(cols[6][i]) }
                if i < cols[8].count { forwarding.insert(cols[8][i]) }
                if i < cols[4].count, i < cols[5].count, cols[5][i] != "0" {
                    #expect(cols[4][i] == NATLab.routerServerSide, "post-NAT source: \(row)")
                }
            }
        }
        #expect(decoded == flows.count, "tshark decoded \(decoded) client flows, JSON Lines has \(flows.count):\n\(out)")
        #expect(names == ["ipfix-node"], "observation domain names: \(names)")
        #expect(reasons.contains("2") && reasons.contains { $0 != "2" }, "flowEndReason values: \(reasons)")
        // Every client flow was forwarded (snat/preserved): forwardingStatus 64, which tshark shows as status 1 (Forwarded).
        #expect(Set(fwdExpected.values) == [64] && forwarding == ["1"], "forwardingStatus: \(forwarding), expected \(Set(fwdExpected.values))")
    }
}
