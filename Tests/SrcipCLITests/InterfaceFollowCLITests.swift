import Foundation
import SrcipCore
import SrcipKernel
import SrcipSystem
import Testing

/// `srcip trace` on a node whose interfaces change while it traces: a namespace `node` (where srcip runs) and a
/// namespace `peer` behind veths created, renamed and deleted mid-trace. Everything is removed afterwards.
@Suite(.serialized, .privileged)
struct InterfaceFollowCLITests {
    final class Nodes {
        let node: String
        let peer: String

        init() throws {
            let tag = "\(getpid() % 100_000)-\(UInt32.random(in: 0..<1_000_000))"
            node = "srcip-ifn-\(tag)"
            peer = "srcip-ifp-\(tag)"
            do {
                for ns in [node, peer] {
                    try Command.check("ip", ["netns", "add", ns])
                    try Command.check("ip", ["-n", ns, "link", "set", "lo", "up"])
                }
                try link("vs0", "ps0", subnet: 0)
            } catch {
                teardown()
                throw error
            }
        }

        /// A veth `name` in the node whose peer end `peerName` sits in the peer namespace; 10.91.N.1 ↔ 10.91.N.2.
        func link(_ name: String, _ peerName: String, subnet: Int) throws {
            try Command.check("ip", ["-n", node, "link", "add", name, "type", "veth", "peer", "name", peerName, "netns", peer])
            try address(name, subnet: subnet)
            try Command.check("ip", ["-n", peer, "addr", "add", "10.91.\(subnet).2/24", "dev", peerName])
            try Command.check("ip", ["-n", peer, "link", "set", peerName, "up"])
        }

        func address(_ name: String, subnet: Int) throws {
            try Command.check("ip", ["-n", node, "addr", "add", "10.91.\(subnet).1/24", "dev", name])
            try Command.check("ip", ["-n", node, "link", "set", name, "up"])
        }

        /// Two ICMP echoes (one flow: a fresh identifier) from the peer namespace to the node's end of subnet N.
        func ping(subnet: Int) throws {
            let script = """
            import socket, struct, random
            def csum(b):
                s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
                return ~s & 0xffff
            r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.settimeout(5)
            ident = random.randrange(1, 65535)
            for seq in range(2):
                h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"srcip-follow-ok!"
                h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
                r.sendto(h, ("10.91.\(subnet).1", 0))
                while True:
                    d, _ = r.recvfrom(2048)
                    if d[20] == 0: break
            """
            try Command.check("ip", ["netns", "exec", peer, "python3", "-c", script])
        }

        func teardown() {
            for ns in [node, peer] { _ = try? Command.run("ip", ["netns", "delete", ns]) }
        }
    }

    static func temporary(_ what: String) -> String {
        NSTemporaryDirectory() + "srcip-\(what)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Seconds from `since` until standard error says `text`; nil if it never does within `limit`.
    static func seconds(until text: String, in trace: SrcipProcess, since: Date, limit: Double = 5) -> Double? {
        trace.waitForStderr(text, timeout: limit) ? Date().timeIntervalSince(since) : nil
    }

    @Test("a veth created mid-trace is attached within a second and named in its flows, also renamed; deleting it is no error",
          arguments: [false, true])
    func lateInterfaces(clsact: Bool) throws {
        let nodes = try Nodes()
        defer { nodes.teardown() }
        let (out, ready) = (Self.temporary("follow.jsonl"), Self.temporary("follow-ready.json"))
        defer { for p in [out, ready, ready + ".tmp"] { try? FileManager.default.removeItem(atPath: p) } }
        let trace = try SrcipProcess(["trace", "-v", "--services", "none", "--format", "jsonl", "--output", out,
                                      "--protocol", "icmp", "--idle-timeout", "1", "--ready-file", ready]
                                     + (clsact ? ["--clsact"] : []), netns: nodes.node)
        defer { if trace.process.isRunning { kill(trace.pid, SIGKILL) } }
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: ready) && trace.process.isRunning && Date() < deadline { usleep(20_000) }
        let readyData = try #require(FileManager.default.contents(atPath: ready), "no ready file; stderr:\n\(trace.stderr)")
        let readyObject = try #require(try JSONSerialization.jsonObject(with: readyData) as? [String: Any])
        #expect(readyObject["interfaces"] as? [String] == ["vs0"], "the interfaces at start")
        #expect(readyObject["attach"] as? String == (clsact ? "clsact" : "tcx"))
        // -v also reports what verifying each packet program cost.
        let verifier = trace.stderr.split(separator: "\n").first { $0.hasPrefix("srcip: verifier: ") } ?? ""
        #expect(verifier.contains("srcip_ingress_ct ") && verifier.contains("srcip_egress_ct ") && verifier.contains(" instructions, "),
                "\(trace.stderr)")

        let created = Date()
        try Command.check("ip", ["-n", nodes.node, "link", "add", "vx0", "type", "veth", "peer", "name", "px0", "netns", nodes.peer])
        let latency = try #require(Self.seconds(until: "interface vx0 (ifindex", in: trace, since: created),
                                   "vx0 never attached:\n\(trace.stderr)")
        print("srcip trace\(clsact ? " --clsact" : ""): vx0 attached \(Int(latency * 1000)) ms after `ip link add` started")
        #expect(latency < 1)
        #expect(trace.stderr.contains("interface vx0 (ifindex") && trace.stderr.contains("appeared: attached (\(clsact ? "clsact" : "tcx"))"))
        try nodes.address("vx0", subnet: 1)
        try Command.check("ip", ["-n", nodes.peer, "addr", "add", "10.91.1.2/24", "dev", "px0"])
        try Command.check("ip", ["-n", nodes.peer, "link", "set", "px0", "up"])
        try nodes.ping(subnet: 1)
        usleep(2_500_000)   // the ping flow ends (idle 1 s) and is named while vx0 still has that name

        // Renamed to another selected name: still traced, and its flows carry the new name.
        try Command.check("ip", ["-n", nodes.node, "link", "set", "vx0", "down"])
        try Command.check("ip", ["-n", nodes.node, "link", "set", "vx0", "name", "vy0"])
        try Command.check("ip", ["-n", nodes.node, "link", "set", "vy0", "up"])
        #expect(trace.waitForStderr("renamed to vy0: still traced", timeout: 2), "\(trace.stderr)")
        try nodes.ping(subnet: 1)
        usleep(2_500_000)

        // Deleted mid-trace: let go without an error; tracing goes on.
        try Command.check("ip", ["-n", nodes.node, "link", "delete", "vy0"])
        #expect(trace.waitForStderr("interface vy0 (ifindex", timeout: 2) && trace.waitForStderr("removed: detached", timeout: 2),
                "\(trace.stderr)")
        try nodes.ping(subnet: 0)
        usleep(300_000)
        #expect(trace.process.isRunning)
        kill(trace.pid, SIGINT)
        #expect(trace.wait() == 0, "\(trace.stderr)")
        #expect(trace.stderr.contains("interfaces: 1 at start, 1 attached later, 1 removed"), "\(trace.stderr)")
        #expect(!trace.stderr.contains("error"), "\(trace.stderr)")
        #expect(!trace.stderr.contains("warning"), "\(trace.stderr)")

        let records = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let late = records.filter { $0["src_ip"] as? String == "10.91.1.2" }
        #expect(late.count == 2, "one ping flow before and one after the rename: \(records)")
        #expect(late.compactMap { $0["in_interface"] as? String }.sorted() == ["vx0", "vy0"], "\(late)")
        #expect(records.contains { $0["src_ip"] as? String == "10.91.0.2" && $0["in_interface"] as? String == "vs0" })
        #expect(!records.contains { ($0["in_interface"] as? String)?.hasPrefix("if") == true }, "unnamed interfaces: \(records)")

        // Nothing of srcip is left on the interfaces that remain.
        let left = try NetworkNamespace.run(named: nodes.node) { () throws -> [String] in
            let idx = try Interfaces.index(of: "vs0")
            let filters = try Hook.allCases.flatMap { try ClsactFilter.list(ifindex: idx, hook: $0) }.filter(\.isSrcip)
            let links = try Hook.allCases.flatMap { try HookAttachment.tcxProgramNames(ifindex: idx, hook: $0) }
            return filters.map(\.description) + links.filter { $0.hasPrefix("srcip") }
        }
        #expect(left.isEmpty, "\(left)")
    }

    @Test("-i takes shell patterns and --exclude-interface drops names; a pattern matching nothing yet is no error")
    func patternsAndExclusion() throws {
        let nodes = try Nodes()
        defer { nodes.teardown() }
        try Command.check("ip", ["-n", nodes.node, "link", "add", "vx0", "type", "veth", "peer", "name", "vx1"])
        let ready = Self.temporary("pattern-ready.json")
        defer { for p in [ready, ready + ".tmp"] { try? FileManager.default.removeItem(atPath: p) } }
        let trace = try SrcipProcess(["trace", "-v", "--services", "none", "-i", "vx*", "--exclude-interface", "vx1",
                                      "--exclude-interface", "vxe*",
                                      "--ready-file", ready], netns: nodes.node)
        defer { if trace.process.isRunning { kill(trace.pid, SIGKILL) } }
        #expect(trace.waitForStderr("tracing vx0 on", timeout: 30), "\(trace.stderr)")
        // The ready file is written once every interface is attached, which may be after the "tracing" line.
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: ready) && trace.process.isRunning && Date() < deadline { usleep(20_000) }
        let readyData = try #require(FileManager.default.contents(atPath: ready), "no ready file; stderr:\n\(trace.stderr)")
        #expect((try JSONSerialization.jsonObject(with: readyData) as? [String: Any])?["interfaces"] as? [String] == ["vx0"])

        try Command.check("ip", ["-n", nodes.node, "link", "add", "vx2", "type", "veth", "peer", "name", "vq2"])
        #expect(trace.waitForStderr("interface vx2 (ifindex", timeout: 2), "\(trace.stderr)")
        try Command.check("ip", ["-n", nodes.node, "link", "set", "vx2", "name", "vxe2"])   // to an excluded name
        #expect(trace.waitForStderr("renamed to vxe2 (not selected): detached", timeout: 2), "\(trace.stderr)")
        usleep(200_000)
        kill(trace.pid, SIGINT)
        #expect(trace.wait() == 0, "\(trace.stderr)")
        #expect(!trace.stderr.contains("vq2"), "vq2 does not match vx*: \(trace.stderr)")
        #expect(!trace.stderr.contains("interface vx1 (ifindex"), "vx1 is excluded: \(trace.stderr)")
        #expect(trace.stderr.contains("interfaces: 1 at start, 1 attached later, 1 removed"), "\(trace.stderr)")

        let waiting = try SrcipProcess(["trace", "--services", "none", "-i", "cali*", "--duration", "1"], netns: nodes.node)
        #expect(waiting.wait() == 0, "\(waiting.stderr)")
        #expect(waiting.stderr.contains("tracing no interface yet"), "\(waiting.stderr)")
        let literal = try SrcipProcess(["trace", "--services", "none", "-i", "vx*", "-i", "nosuch0"], netns: nodes.node)
        #expect(literal.wait() != 0)
        #expect(literal.stderr.contains("nosuch0") && literal.stderr.contains("vx0"), "\(literal.stderr)")
    }
}
