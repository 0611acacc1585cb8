import Foundation
import SrcipTestbed
import Testing

/// Every flow record's packets and bytes (both directions) equal the kernel's own count: iptables counters in the
/// router's mangle PREROUTING chain (after conntrack), one rule per flow and direction at the interface where the
/// packets enter. tc sees the Ethernet header, iptables the IP packet: bytes differ by exactly 14 per packet.
@Suite(.serialized, .privileged)
struct FlowCountTests {
    static let tcpClosedPort = 40010, tcpOpenPort = 40011, udpPort = 40012, pingID = 4013

    /// Adds a counting rule (no target) named `name` to the router's mangle PREROUTING.
    static func countRule(_ lab: NATLab, _ name: String, _ match: [String]) throws {
        try lab.exec(lab.router, ["iptables", "-t", "mangle", "-A", "PREROUTING"] + match + ["-m", "comment", "--comment", name])
    }

    /// (packets, bytes) of every named counting rule.
    static func counters(_ lab: NATLab) throws -> [String: (packets: Int, bytes: Int)] {
        var out: [String: (packets: Int, bytes: Int)] = [:]
        for line in try lab.exec(lab.router, ["iptables-save", "-c", "-t", "mangle"]).split(separator: "\n") {
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]"),
                  let c = line.range(of: "--comment ") else { continue }
            let nums = line[line.index(after: line.startIndex)..<close].split(separator: ":").compactMap { Int($0) }
            let name = line[c.upperBound...].split(separator: " ").first.map { String($0).trimmingCharacters(in: ["\""]) }
            if nums.count == 2, let name { out[name] = (nums[0], nums[1]) }
        }
        return out
    }

    @Test func tcpUdpPingAndAnOpenConnectionCountWhatTheKernelCounts() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let (cif, sif) = (lab.routerClientIf, lab.routerServerIf)
        for (name, proto, port) in [("tcpclosed", "tcp", Self.tcpClosedPort), ("tcpopen", "tcp", Self.tcpOpenPort),
                                    ("udp", "udp", Self.udpPort)] {
            let ct = ["-m", "conntrack", "--ctproto", proto, "--ctorigsrc", NATLab.clientIP, "--ctorigsrcport", "\(port)"]
            try Self.countRule(lab, "\(name)-req", ["-i", cif] + ct + ["--ctdir", "ORIGINAL"])
            try Self.countRule(lab, "\(name)-rep", ["-i", sif] + ct + ["--ctdir", "REPLY"])
        }
        try Self.countRule(lab, "icmp-req", ["-i", cif, "-p", "icmp", "--icmp-type", "echo-request", "-s", NATLab.clientIP])
        try Self.countRule(lab, "icmp-rep", ["-i", sif, "-p", "icmp", "--icmp-type", "echo-reply", "-s", NATLab.serverIP])

        let trace = try SrcipProcess(["trace", "--format", "jsonl", "--services", "none", "--idle-timeout", "2"],
                                     netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        // A closed connection (final ACKs after the first FIN count), 10 UDP datagrams each way, 65 pings; the UDP
        // and ICMP flows then idle out while srcip runs.
        try lab.exec(lab.client, ["python3", "-c", """
            import socket
            c = socket.socket(); c.bind(("\(NATLab.clientIP)", \(Self.tcpClosedPort)))
            c.connect(("\(NATLab.vip)", \(NATLab.vipTCPPort))); c.sendall(b"x" * 200000); c.shutdown(socket.SHUT_WR)
            assert c.recv(100) == b"200000"; c.close()
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5); u.bind(("\(NATLab.clientIP)", \(Self.udpPort)))
            for i in range(10):
                u.sendto(b"u" * (10 + i), ("\(NATLab.vip)", \(NATLab.vipUDPPort))); u.recvfrom(100)
            """])
        try lab.ping(count: 65, id: UInt16(Self.pingID))
        usleep(4_500_000)
        // An open connection at exit (the test server serves one connection at a time, so it comes last): its record
        // is written at exit with the live counters.
        let open = Process()
        let openOut = Pipe()
        open.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        open.arguments = ["netns", "exec", lab.client, "python3", "-c", """
            import socket, time
            c = socket.socket(); c.bind(("\(NATLab.clientIP)", \(Self.tcpOpenPort)))
            c.connect(("\(NATLab.vip)", \(NATLab.vipTCPPort)))
            for i in range(5):
                c.sendall(b"o" * 10000); time.sleep(0.1)
            print("sent", flush=True); time.sleep(60)
            """]
        open.standardOutput = openOut
        try open.run()
        defer { kill(open.processIdentifier, SIGKILL); open.waitUntilExit() }
        #expect(String(decoding: openOut.fileHandleForReading.availableData, as: UTF8.self).contains("sent"))
        usleep(500_000)
        kill(trace.pid, SIGINT)
        #expect(trace.wait(timeout: 30) == 0, "\(trace.stderr)")
        let kernel = try Self.counters(lab)

        let records = trace.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        func record(_ proto: String, port: Int?) -> [String: Any]? {
            records.first { $0["protocol"] as? String == proto && (port == nil || $0["src_port"] as? Int == port) }
        }
        let cases: [(String, [String: Any]?)] = [
            ("tcpclosed", record("tcp", port: Self.tcpClosedPort)), ("tcpopen", record("tcp", port: Self.tcpOpenPort)),
            ("udp", record("udp", port: Self.udpPort)), ("icmp", record("icmp", port: nil)),
        ]
        for (name, r) in cases {
            let r = try #require(r, "no \(name) record in:\n\(trace.stdout)\n\(trace.stderr)")
            let req = try #require(kernel["\(name)-req"]), rep = try #require(kernel["\(name)-rep"])
            #expect(req.packets > 0 && rep.packets > 0, "\(name): iptables counted nothing")
            let all = records.filter { $0["protocol"] as? String == r["protocol"] as? String && $0["src_port"] as? Int == r["src_port"] as? Int }
            #expect(all.count == 1, "\(name): one record per flow, got \(all)\n\(trace.stderr)")
            #expect(r["packets"] as? Int == req.packets, "\(name) request packets: \(r) vs iptables \(req)")
            #expect(r["reply_packets"] as? Int == rep.packets, "\(name) reply packets: \(r) vs iptables \(rep)")
            #expect(r["bytes"] as? Int == req.bytes + 14 * req.packets, "\(name) request bytes: \(r) vs iptables \(req)")
            #expect(r["reply_bytes"] as? Int == rep.bytes + 14 * rep.packets, "\(name) reply bytes: \(r) vs iptables \(rep)")
        }
        #expect(kernel["udp-req"]?.packets == 10)
        #expect(kernel["icmp-req"]?.packets == 65)
        #expect(records.filter { $0["protocol"] as? String == "tcp" && $0["src_port"] as? Int == Self.tcpClosedPort }.count == 1)
    }
}
