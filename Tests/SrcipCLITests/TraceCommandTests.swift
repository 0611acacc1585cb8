import Foundation
import SrcipCore
import SrcipKernel
import SrcipTestbed
import Testing

/// `srcip trace` as a user runs it: inside the router namespace of a real NAT path.
@Suite(.serialized, .privileged)
struct TraceCommandTests {
    /// srcip programs attached by tcx to `interface` of the router, ingress and egress (asked from the kernel).
    static func srcipPrograms(_ lab: NATLab, _ interface: String) throws -> [String] {
        try NetworkNamespace.run(path: lab.routerNetnsPath) {
            let idx = try Interfaces.index(of: interface)
            return try Hook.allCases.flatMap { try HookAttachment.tcxProgramNames(ifindex: idx, hook: $0) }
        }.filter { $0.hasPrefix("srcip") }
    }

    @Test func jsonlRecordsShowTheTupleBeforeAndAfterNATAndMatchConntrack() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let trace = try SrcipProcess(["trace", "--raw", "--format", "jsonl", "--protocol", "tcp", "--port", "80", "--duration", "4"],
                                     netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        let ports = try lab.clientTraffic(tcpConnections: 1).tcp
        let conntrack = try lab.conntrackEntries()
        #expect(trace.wait() == 0)
        let clientPort = try #require(ports.first)
        let records = trace.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(records.count == trace.stdout.split(separator: "\n").count, "every line is a JSON object")
        let ingress = records.first {
            $0["hook"] as? String == "ingress" && $0["src_port"] as? Int == Int(clientPort) && $0["event"] as? String == "new"
        }
        let i = try #require(ingress, "no ingress record for the client's connection:\n\(trace.stdout)")
        #expect(i["src_ip"] as? String == NATLab.clientIP)
        #expect(i["dst_ip"] as? String == NATLab.vip)
        #expect(i["dst_port"] as? Int == Int(NATLab.vipTCPPort))
        #expect(i["interface"] as? String == lab.routerClientIf)

        let egress = try #require(records.first {
            $0["hook"] as? String == "egress" && $0["ct_orig_src_port"] as? Int == Int(clientPort)
                && $0["dst_ip"] as? String == NATLab.serverIP
        }, "no egress record after NAT:\n\(trace.stdout)")
        #expect(egress["src_ip"] as? String == NATLab.routerServerSide)
        #expect(egress["dst_port"] as? Int == Int(NATLab.serverTCPPort))
        #expect(egress["interface"] as? String == lab.routerServerIf)
        #expect(egress["snat"] as? Bool == true)
        #expect(egress["dnat"] as? Bool == true)

        let entry = try #require(conntrack.first { $0.original.srcPort == clientPort && $0.original.proto == .tcp })
        #expect(egress["ct_reply_src_ip"] as? String == entry.reply.src.description)
        #expect(egress["ct_reply_dst_ip"] as? String == entry.reply.dst.description)
        #expect(egress["ct_reply_dst_port"] as? Int == Int(entry.reply.dstPort))
        #expect(egress["src_port"] as? Int == Int(entry.reply.dstPort), "egress source port is the masqueraded one")
        #expect(trace.stderr.contains("ring buffer full: 0 lost"))
    }

    /// One flow record per connection, with the pre- and post-NAT tuples joined; the same with fingerprints only.
    @Test(arguments: [false, true])
    func flowRecordsJoinBothSidesOfTheNAT(fingerprint: Bool) throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let out = "/tmp/srcip-cli-\(lab.tag)-\(fingerprint).jsonl"
        defer { unlink(out) }
        let trace = try SrcipProcess(["trace", "--format", "jsonl", "--output", out, "--duration", "4", "--services", "none"]
                                     + (fingerprint ? ["--fingerprint"] : []), netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        let ports = try lab.clientTraffic(tcpConnections: 3).tcp
        let conntrack = try lab.conntrackEntries()
        #expect(trace.wait() == 0)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let flows = text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(ports.count == 3)
        for port in ports {
            let matching = flows.filter { $0["src_port"] as? Int == Int(port) }
            #expect(matching.count == 1, "exactly one flow (replies folded) for client port \(port)")
            let f = try #require(matching.first)
            #expect(f["src_ip"] as? String == NATLab.clientIP)
            #expect(f["dst_ip"] as? String == NATLab.vip)
            #expect(f["xlat_src_ip"] as? String == NATLab.routerServerSide)
            #expect(f["xlat_dst_ip"] as? String == NATLab.serverIP)
            #expect(f["xlat_dst_port"] as? Int == Int(NATLab.serverTCPPort))
            #expect(f["snat"] as? Bool == true && f["dnat"] as? Bool == true)
            #expect(f["verdict"] as? String == "snat")
            #expect(f["snat_interface"] as? String == lab.routerServerIf)
            #expect(f["join"] as? String == (fingerprint ? "fingerprint" : "conntrack"))
            #expect((f["reply_packets"] as? Int ?? 0) > 0)
            let entry = try #require(conntrack.first { $0.original.srcPort == port && $0.original.proto == .tcp })
            #expect(f["xlat_src_port"] as? Int == Int(entry.reply.dstPort), "translated port is conntrack's")
        }
        #expect(trace.stderr.contains("flows written"))
    }

    /// A SYN the router drops (a FORWARD rule, removed after 2.5 s) is retransmitted by the client's kernel at 1 s
    /// and 3 s; the third gets through. One connection, so one flow from the first SYN on — not an unanswered
    /// request plus a new flow (the retransmission comes later than the 2 s after which a request nothing answered
    /// counts as gone, and the BPF side reports no retransmitted SYN).
    @Test func aSYNDroppedForSecondsThenForwardedIsOneFlow() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let out = "/tmp/srcip-cli-\(lab.tag)-retransmit.jsonl"
        defer { unlink(out) }
        let drop = ["FORWARD", "-p", "tcp", "--syn", "-j", "DROP"]
        _ = try lab.exec(lab.router, ["iptables", "-I"] + drop)
        let trace = try SrcipProcess(["trace", "--format", "jsonl", "--output", out, "--services", "none"], netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        let started = Date()
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        client.arguments = ["netns", "exec", lab.client, "python3", "-c", """
            import socket
            c = socket.create_connection(("\(NATLab.vip)", \(NATLab.vipTCPPort)), timeout=10)
            c.sendall(b"x" * 100); c.shutdown(socket.SHUT_WR); assert c.recv(100) == b"100"
            """]
        try client.run()
        usleep(2_500_000)
        _ = try lab.exec(lab.router, ["iptables", "-D"] + drop)
        for _ in 0..<400 where client.isRunning { usleep(20_000) }
        #expect(!client.isRunning && client.terminationStatus == 0, "the connection did not complete after the rule was removed")
        if client.isRunning { client.terminate() }
        let elapsed = Date().timeIntervalSince(started)
        kill(trace.pid, SIGINT)
        #expect(trace.wait() == 0)
        let flows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["kind"] as? String == "flow" && $0["dst_ip"] as? String == NATLab.vip }
        #expect(elapsed > 2.5, "the client connected only after the drop rule was removed (\(elapsed) s)")
        #expect(flows.count == 1, "one flow for the connection: \(flows)")
        let f = try #require(flows.first)
        #expect(f["in_interface"] as? String == lab.routerClientIf && f["out_interface"] as? String == lab.routerServerIf)
        #expect(f["verdict"] as? String == "snat" && f["xlat_dst_ip"] as? String == NATLab.serverIP)
        #expect((f["reply_packets"] as? Int ?? 0) > 0)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let start = try #require((f["start"] as? String).flatMap(formatter.date(from:)))
        let end = try #require((f["end"] as? String).flatMap(formatter.date(from:)))
        #expect(end.timeIntervalSince(start) > 2.5, "the flow starts at the first SYN: \(f)")
    }

    @Test func csvAndIPFIXGoToFiles() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        for format in ["csv", "ipfix"] {
            let out = "/tmp/srcip-cli-\(lab.tag).\(format)"
            defer { unlink(out) }
            let trace = try SrcipProcess(["trace", "--format", format, "--output", out, "--duration", "3"], netns: lab.router)
            #expect(trace.waitForStderr("tracing"))
            _ = try lab.clientTraffic(tcpConnections: 1)
            #expect(trace.wait() == 0)
            let data = try #require(FileManager.default.contents(atPath: out))
            if format == "csv" {
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\r\n")
                #expect(lines.first?.hasPrefix("version,node,start,end,protocol") == true)
                #expect(lines.count >= 2)
            } else {
                #expect(data.count > 16)
                #expect(data[0] == 0 && data[1] == 10, "IPFIX version 10")
            }
        }
        let ipfix = try SrcipProcess(["trace", "--format", "ipfix"])
        #expect(ipfix.wait() != 0)
        #expect(ipfix.stderr.contains("--output"))
    }

    @Test func textFormatAndCountStopAfterThatManyRecords() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let trace = try SrcipProcess(["trace", "--raw", "--count", "2", "--protocol", "tcp", "--duration", "20"], netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        _ = try lab.clientTraffic(tcpConnections: 2)
        #expect(trace.wait(timeout: 25) == 0)
        let lines = trace.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.contains(" tcp") && ($0.contains(" ingress ") || $0.contains(" egress ")) })
        #expect(trace.stderr.contains("2 records written"))
    }

    @Test func ctrlCDetachesAndReportsCounters() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let trace = try SrcipProcess(["trace"], netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        #expect(try Self.srcipPrograms(lab, lab.routerClientIf).count == 2, "ingress and egress tcx links while tracing")
        kill(trace.pid, SIGINT)
        #expect(trace.wait() == 0)
        #expect(trace.stderr.contains("flows written"))
        #expect(try Self.srcipPrograms(lab, lab.routerClientIf).isEmpty)
    }

    @Test func sigkillLeavesNoTcxLinkBehind() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let trace = try SrcipProcess(["trace"], netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        #expect(try Self.srcipPrograms(lab, lab.routerServerIf).count == 2)
        kill(trace.pid, SIGKILL)
        trace.wait()
        usleep(200_000)
        #expect(try Self.srcipPrograms(lab, lab.routerServerIf).isEmpty)
    }

    @Test func staleClsactFiltersOfAKilledRunAreRemovedAtTheNextStart() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let dev = lab.routerClientIf
        let filters = { (hook: String) in
            (try? lab.exec(lab.router, ["tc", "filter", "show", "dev", dev, hook]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        }
        let killed = try SrcipProcess(["trace", "--clsact", "-i", dev], netns: lab.router)
        #expect(killed.waitForStderr("tracing"))
        kill(killed.pid, SIGKILL)
        killed.wait()
        #expect(filters("ingress").contains("srcip"), "a killed run leaves its clsact filter")
        let next = try SrcipProcess(["trace", "--clsact", "-i", dev, "--duration", "1"], netns: lab.router)
        #expect(next.wait() == 0)
        #expect(filters("ingress") == "")
        #expect(filters("egress") == "")
    }

    @Test func unknownInterfaceIsNamedWithTheAvailableOnes() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let trace = try SrcipProcess(["trace", "-i", "nosuch0"], netns: lab.router)
        #expect(trace.wait() != 0)
        #expect(trace.stderr.contains("nosuch0"))
        #expect(trace.stderr.contains(lab.routerClientIf))
    }

    @Test func badFlagsGetAnErrorNamingTheFlag() throws {
        let trace = try SrcipProcess(["trace", "--host", "10.0.0.300"])
        #expect(trace.wait() != 0)
        #expect(trace.stderr.contains("--host 10.0.0.300"))
        let proto = try SrcipProcess(["trace", "--protocol", "sctp"])
        #expect(proto.wait() != 0)
        #expect(proto.stderr.contains("sctp"))
    }

    @Test func withoutPrivilegesTheErrorSaysWhatIsMissing() throws {
        // A copy nobody can run wherever the checkout lives (its parent directories may be closed to others).
        let copy = "/tmp/srcip-unprivileged-\(getpid())"
        defer { unlink(copy) }
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: srcipBinary, toPath: copy)
        chmod(copy, 0o755)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                       copy, "trace", "--duration", "1"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        #expect(text.contains("CAP_BPF") || text.contains("root"), "got: \(text)")
        #expect(!text.contains("warning"), "the capability error comes first, before any discovery warning: \(text)")
    }
}
