import Foundation
import SrcipTestbed
import Testing

/// `srcip trace --ipfix-collector`: real collectors (nfcapd/nfdump, tshark) on the router's loopback receive what the
/// JSON Lines file of the same run says — one nfcapd listening from the start, another nfcapd and a tshark capture
/// started after srcip (they decode only because the templates are refreshed).
@Suite(.serialized, .privileged)
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

    /// The router's Service catalog for srcip (`--services`): the lab's VIP as a ClusterIP Service, its TCP and UDP
    /// ports DNATed to the server, and two ports the router drops (81) and rejects with a RST (82).
    static let services = #"""
    {"kind":"List","items":[
     {"kind":"Service","metadata":{"namespace":"default","name":"ipfix-web"},
      "spec":{"type":"ClusterIP","clusterIP":"10.77.9.9","ports":[
        {"name":"http","protocol":"TCP","port":80,"targetPort":8080},{"name":"dns","protocol":"UDP","port":53,"targetPort":5353},
        {"name":"drop","protocol":"TCP","port":81,"targetPort":81},{"name":"reject","protocol":"TCP","port":82,"targetPort":82}]}},
     {"kind":"EndpointSlice","metadata":{"namespace":"default","name":"ipfix-web-1","labels":{"kubernetes.io/service-name":"ipfix-web"}},
      "addressType":"IPv4","ports":[{"name":"http","protocol":"TCP","port":8080},{"name":"dns","protocol":"UDP","port":5353}],
      "endpoints":[{"addresses":["10.77.2.2"]}]}]}
    """#

    /// The srcip enterprise elements (PEN 32473) a flow record should carry: element id → string.
    static func enterprise(_ f: [String: Any]) -> [Int: String] {
        let s = f["service"] as? [String: Any]
        return [1: f["in_interface"] as? String ?? "", 2: f["out_interface"] as? String ?? "",
                3: s.map { "\($0["namespace"] ?? "")/\($0["name"] ?? ""):\($0["port"] ?? "")" } ?? "",
                4: f["verdict"] as? String ?? "", 5: f["snat_interface"] as? String ?? ""]
    }

    /// forwardingStatus (RFC 7270) srcip writes for a verdict.
    static func forwarding(_ verdict: Any?) -> Int {
        ["preserved": 64, "snat": 64, "dropped": 128, "rejected": 129][verdict as? String ?? ""] ?? 0
    }

    /// flowEndReason (RFC 7011 / IANA) for `end_reason`.
    static func endReason(_ r: Any?) -> Int {
        ["idle": 1, "active_timeout": 2, "end_of_flow": 3, "forced_end": 4, "lack_of_resources": 5][r as? String ?? ""] ?? -1
    }

    /// natEvent (RFC 8158): 5 for the final record of a translated flow, 4 for an interim one, else 0.
    static func natEvent(_ f: [String: Any]) -> Int {
        let translated = (f["snat"] as? Bool == true) || (f["dnat"] as? Bool == true)
        return translated ? (f["final"] as? Bool == false ? 4 : 5) : 0
    }

    @Test func earlyAndLateCollectorsDecodeEveryFieldOfEveryFlowAsTheJSONLinesSay() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        _ = try NATLab.run(["ip", "-n", lab.router, "link", "set", "lo", "up"])
        // The VIP answers locally on ports 81 (dropped) and 82 (rejected with a RST): forwardingStatus 128 and 129.
        _ = try NATLab.run(["ip", "-n", lab.router, "addr", "add", "\(NATLab.vip)/32", "dev", "lo"])
        _ = try lab.exec(lab.router, ["iptables", "-I", "INPUT", "-p", "tcp", "-d", NATLab.vip, "--dport", "81", "-j", "DROP"])
        _ = try lab.exec(lab.router, ["iptables", "-I", "INPUT", "-p", "tcp", "-d", NATLab.vip, "--dport", "82",
                                      "-j", "REJECT", "--reject-with", "tcp-reset"])
        let dir = NSTemporaryDirectory() + "srcip-ipfix-\(lab.tag)"
        for d in ["early", "late"] { try FileManager.default.createDirectory(atPath: "\(dir)/\(d)", withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.services.write(toFile: "\(dir)/services.json", atomically: true, encoding: .utf8)
        let base = 41_000 + Int(UInt16.random(in: 0...8_000))
        let (early, late, shark) = (base, base + 1, base + 2)

        let nfEarly = try Collector(netns: lab.router, ["nfcapd", "-p", "\(early)", "-b", "127.0.0.1", "-w", "\(dir)/early", "-t", "3600"])
        defer { nfEarly.stop() }
        usleep(500_000)
        let jsonl = "\(dir)/flows.jsonl"
        let trace = try SrcipProcess(["trace", "--format", "jsonl", "-o", jsonl, "--services", "\(dir)/services.json",
                                      "--idle-timeout", "2", "--active-timeout", "2", "--template-refresh", "1",
                                      "--observation-domain", "4711", "--node", "ipfix-node", "-i", lab.routerClientIf,
                                      "-i", lab.routerServerIf, "--ipfix-collector", "udp://127.0.0.1:\(early)",
                                      "--ipfix-collector", "udp://127.0.0.1:\(late)", "--ipfix-collector", "udp://127.0.0.1:\(shark)"],
                                     netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        usleep(2_000_000)   // the first templates went to nobody on the late ports
        let nfLate = try Collector(netns: lab.router, ["nfcapd", "-p", "\(late)", "-b", "127.0.0.1", "-w", "\(dir)/late", "-t", "3600"])
        defer { nfLate.stop() }
        let pcap = "\(dir)/late.pcap"
        let tshark = try Collector(netns: lab.router, ["tshark", "-q", "-i", "lo", "-f", "udp port \(shark)", "-w", pcap])
        defer { tshark.stop() }
        usleep(3_000_000)

        _ = try lab.clientTraffic(tcpConnections: 3, bytes: 3000, udpExchanges: 2)
        // A connection open for 5 s: interim records every 2 s, then its final record; then one dropped, one rejected.
        _ = try lab.exec(lab.client, ["python3", "-c", """
            import socket, time
            c = socket.socket(); c.connect(("\(NATLab.vip)", \(NATLab.vipTCPPort)))
            for i in range(10):
                c.sendall(b"l" * 1000); time.sleep(0.5)
            c.shutdown(socket.SHUT_WR); c.recv(100); c.close()
            for port in (81, 82):
                try:
                    socket.create_connection(("\(NATLab.vip)", port), timeout=1.5)
                except OSError:
                    pass
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
        #expect(flows.count >= 8 && !interim.isEmpty, "\(flows.count) flows, \(interim.count) interim:\n\(lines)")
        #expect(interim.allSatisfy { $0["end_reason"] as? String == "active_timeout" })
        #expect(Set(flows.compactMap { $0["verdict"] as? String }).isSuperset(of: ["snat", "dropped", "rejected"]),
                "every forwardingStatus value is exercised: \(flows.map { $0["verdict"] ?? "-" })")
        #expect(flows.contains { ($0["service"] as? [String: Any])?["name"] as? String == "ipfix-web" }, "\(flows)")
        // ingressInterface/egressInterface carry the ifindex of the interfaces the JSON Lines name.
        var ifindex: [String: String] = ["": "0"]
        for line in try NATLab.run(["ip", "-n", lab.router, "-o", "link", "show"]).split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2).map { $0.trimmingCharacters(in: .whitespaces) }
            if f.count == 3 { ifindex[String(f[1].split(separator: "@")[0])] = f[0] }
        }
        func index(_ f: [String: Any], _ name: String) -> String { ifindex[f[name] as? String ?? ""] ?? "?" }
        func key(_ r: [String: Any]) -> String {
            "\(r["src_port"] ?? "") \(r["dst_port"] ?? "") \(CollectorOutput.ms(r["end"]).map(String.init) ?? "")"
        }

        // nfcapd, listening from the start and started late: every field nfdump 1.7.1 decodes.
        for name in ["early", "late"] {
            let got = try CollectorOutput.nfdumpRaw("\(dir)/\(name)").filter { $0["src addr"] == NATLab.clientIP }
            #expect(got.count == flows.count, "\(name) nfcapd: \(got.count) flows, JSON Lines \(flows.count)")
            #expect(try CollectorOutput.nfdumpExporterIDs("\(dir)/\(name)") == ["4711"], "\(name): observation domain")
            let byKey = Dictionary(got.map { ("\($0["src port"] ?? "") \($0["dst port"] ?? "") \($0["last"] ?? "")", $0) },
                                   uniquingKeysWith: { a, _ in a })
            for f in flows {
                let k = key(f)
                guard let n = byKey[k] else { Issue.record("\(name) nfcapd: no flow \(k)"); continue }
                let post = { (x: String, o: String) in "\(f[x] as? String ?? f[o] as? String ?? "?")" }
                let postPort = { (x: String, o: String) in "\(f[x] as? Int ?? f[o] as? Int ?? -1)" }
                let expected: [String: String] = [
                    "dst addr": "\(f["dst_ip"] ?? "")", "proto": f["protocol"] as? String == "tcp" ? "6" : "17",
                    "first": "\(CollectorOutput.ms(f["start"]) ?? 0)", "in packets": "\(f["packets"] ?? "")",
                    "in bytes": "\(f["bytes"] ?? "")", "out packets": "\(f["reply_packets"] ?? "")", "out bytes": "\(f["reply_bytes"] ?? "")",
                    "tcp flags": String(format: "0x%02x", f["tcp_flags"] as? Int ?? 0),
                    "src xlt ip": post("xlat_src_ip", "src_ip"), "dst xlt ip": post("xlat_dst_ip", "dst_ip"),
                    "src xlt port": postPort("xlat_src_port", "src_port"), "dst xlt port": postPort("xlat_dst_port", "dst_port"),
                    "nat event": "\(Self.natEvent(f)):", "Event time": "\(CollectorOutput.ms(f["end"]) ?? 0)",
                    "end reason": String(format: "0x%02x", Self.endReason(f["end_reason"])),
                    "input": index(f, "in_interface"), "output": index(f, "out_interface"),
                ]
                for (field, value) in expected {
                    #expect(n[field] == value, "\(name) nfcapd \(k) \(field): \(n[field] ?? "missing"), JSON Lines \(value)")
                }
                // nfdump 1.7.1 does not decode forwardingStatus from IPFIX (`fwd status` stays 0): tshark checks it.
                #expect(n["fwd status"] == "0", "\(name) nfcapd \(k): fwd status \(n["fwd status"] ?? "missing")")
            }
        }

        // tshark, started late: every element of every data record, the srcip enterprise elements included.
        let decoded = try CollectorOutput.tshark(pcap, port: shark)
        let mine = decoded.records.filter { $0.first("cflow.srcaddr") == NATLab.clientIP }
        #expect(mine.count == flows.count, "tshark decoded \(mine.count) client flows, JSON Lines has \(flows.count)")
        #expect(decoded.domainNames == ["ipfix-node"], "observation domain names: \(decoded.domainNames)")
        let sharkByKey = Dictionary(mine.map { r in
            ("\(r.first("cflow.srcport") ?? "") \(r.first("cflow.dstport") ?? "") \(r.integer("cflow.abstimeend").map(String.init) ?? "")", r)
        }, uniquingKeysWith: { a, _ in a })
        for f in flows {
            let k = key(f)
            guard let t = sharkByKey[k] else { Issue.record("tshark: no flow \(k)"); continue }
            let expected: [(String, String?, String)] = [
                ("domain", t.domain, "4711"), ("dstaddr", t.first("cflow.dstaddr"), "\(f["dst_ip"] ?? "")"),
                ("protocol", t.first("cflow.protocol"), f["protocol"] as? String == "tcp" ? "6" : "17"),
                ("start", t.integer("cflow.abstimestart").map(String.init), "\(CollectorOutput.ms(f["start"]) ?? 0)"),
                ("packets", t.integer("cflow.packets", 0).map(String.init), "\(f["packets"] ?? "")"),
                ("octets", t.integer("cflow.octets", 0).map(String.init), "\(f["bytes"] ?? "")"),
                ("reverse packets", t.integer("cflow.packets", 1).map(String.init), "\(f["reply_packets"] ?? "")"),
                ("reverse octets", t.integer("cflow.octets", 1).map(String.init), "\(f["reply_bytes"] ?? "")"),
                ("postNATSourceIPv4Address", t.first("cflow.post_natsource_ipv4_address"), "\(f["xlat_src_ip"] as? String ?? f["src_ip"] ?? "")"),
                ("postNATDestinationIPv4Address", t.first("cflow.post_natdestination_ipv4_address"),
                 "\(f["xlat_dst_ip"] as? String ?? f["dst_ip"] ?? "")"),
                ("postNAPTSourceTransportPort", t.first("cflow.post_naptsource_transport_port"),
                 "\(f["xlat_src_port"] as? Int ?? f["src_port"] as? Int ?? -1)"),
                ("postNAPTDestinationTransportPort", t.first("cflow.post_naptdestination_transport_port"),
                 "\(f["xlat_dst_port"] as? Int ?? f["dst_port"] as? Int ?? -1)"),
                ("natEvent", t.first("cflow.nat_event"), "\(Self.natEvent(f))"),
                ("observationTimeMilliseconds", t.integer("cflow.observation_time_milliseconds").map(String.init),
                 "\(CollectorOutput.ms(f["end"]) ?? 0)"),
                ("flowEndReason", t.first("cflow.flow_end_reason"), "\(Self.endReason(f["end_reason"]))"),
                ("tcpControlBits", t.integer("cflow.tcpflags").map(String.init), "\(f["tcp_flags"] as? Int ?? 0)"),
                ("forwardingStatus", t.integer("cflow.forwarding_status").map(String.init), "\(Self.forwarding(f["verdict"]))"),
                ("ingressInterface", t.first("cflow.inputint"), index(f, "in_interface")),
                ("egressInterface", t.first("cflow.outputint"), index(f, "out_interface")),
            ]
            for (field, got, want) in expected {
                #expect(got == want, "tshark \(k) \(field): \(got ?? "missing"), JSON Lines \(want)")
            }
            // tshark shows an enterprise element it has no name for as hex bytes, and an empty one not at all.
            let strings = Self.enterprise(f).filter { !$0.value.isEmpty }
            #expect(t.enterprise == strings, "tshark \(k) enterprise elements: \(t.enterprise), JSON Lines \(strings)")
        }
        #expect(Set(flows.map { Self.forwarding($0["verdict"]) }).isSuperset(of: [64, 128, 129]))
    }
}
