import Foundation
import SrcipCore
import SrcipJSON
import SrcipSystem

/// A three-namespace NAT testbed for tests and benchmarks: client — router (DNAT of a VIP to the server, MASQUERADE towards it) — server.
/// Names are unique per run; `teardown()` deletes the namespaces (and with them veths and iptables rules).
public final class NATLab {
    public static let clientIP = "10.77.1.2"
    public static let routerClientSide = "10.77.1.1"
    public static let routerServerSide = "10.77.2.1"
    public static let serverIP = "10.77.2.2"
    public static let vip = "10.77.9.9"
    public static let clientIP6 = "fd77:1::2"
    public static let routerClientSide6 = "fd77:1::1"
    public static let routerServerSide6 = "fd77:2::1"
    public static let serverIP6 = "fd77:2::2"
    public static let vip6 = "fd77:9::9"
    public static let vipTCPPort: UInt16 = 80
    public static let serverTCPPort: UInt16 = 8080
    public static let vipUDPPort: UInt16 = 53
    public static let serverUDPPort: UInt16 = 5353
    /// iperf3 through the VIP (same port before and after DNAT).
    public static let iperfPort: UInt16 = 5201

    public let tag: String
    public let client: String
    public let router: String
    public let server: String
    /// Router interfaces towards client and server.
    public let routerClientIf: String
    public let routerServerIf: String
    private var serverProcess: Process?

    public struct CommandFailed: Error, CustomStringConvertible {
        public var command: [String]
        public var status: Int32
        public var output: String
        public var description: String { "`\(command.joined(separator: " "))` exited \(status): \(output)" }
    }

    public init() throws {
        tag = String(getpid() % 100_000, radix: 36) + String(UInt32.random(in: 0..<46_656), radix: 36)
        client = "srcipC-\(tag)"
        router = "srcipR-\(tag)"
        server = "srcipS-\(tag)"
        routerClientIf = "src\(tag)"
        routerServerIf = "srs\(tag)"
        do { try setUp() } catch { teardown(); throw error }
    }

    public var routerNetnsPath: String { "/run/netns/\(router)" }

    private func setUp() throws {
        for ns in [client, router, server] { try Self.run(["ip", "netns", "add", ns]) }
        let clientIf = "scc\(tag)", serverIf = "sss\(tag)"
        try Self.run(["ip", "link", "add", clientIf, "type", "veth", "peer", "name", routerClientIf])
        try Self.run(["ip", "link", "set", clientIf, "netns", client])
        try Self.run(["ip", "link", "set", routerClientIf, "netns", router])
        try Self.run(["ip", "link", "add", serverIf, "type", "veth", "peer", "name", routerServerIf])
        try Self.run(["ip", "link", "set", serverIf, "netns", server])
        try Self.run(["ip", "link", "set", routerServerIf, "netns", router])
        for (ns, ifname, addr, gw) in [(client, clientIf, Self.clientIP, Self.routerClientSide),
                                       (server, serverIf, Self.serverIP, Self.routerServerSide)] {
            try exec(ns, ["ip", "addr", "add", "\(addr)/24", "dev", ifname])
            try exec(ns, ["ip", "link", "set", ifname, "up"])
            try exec(ns, ["ip", "link", "set", "lo", "up"])
            try exec(ns, ["ip", "route", "add", "default", "via", gw])
        }
        for (ns, ifname, addr, gw) in [(client, clientIf, Self.clientIP6, Self.routerClientSide6),
                                       (server, serverIf, Self.serverIP6, Self.routerServerSide6)] {
            try exec(ns, ["ip", "-6", "addr", "add", "\(addr)/64", "dev", ifname, "nodad"])
            try exec(ns, ["ip", "-6", "route", "add", "default", "via", gw])
        }
        try exec(router, ["ip", "-6", "addr", "add", "\(Self.routerClientSide6)/64", "dev", routerClientIf, "nodad"])
        try exec(router, ["ip", "-6", "addr", "add", "\(Self.routerServerSide6)/64", "dev", routerServerIf, "nodad"])
        try exec(router, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        try exec(router, ["ip6tables", "-t", "nat", "-A", "PREROUTING", "-d", Self.vip6, "-p", "tcp", "--dport", "\(Self.vipTCPPort)",
                          "-j", "DNAT", "--to-destination", "[\(Self.serverIP6)]:\(Self.serverTCPPort)"])
        try exec(router, ["ip6tables", "-t", "nat", "-A", "POSTROUTING", "-o", routerServerIf, "-j", "MASQUERADE"])
        try exec(router, ["ip", "addr", "add", "\(Self.routerClientSide)/24", "dev", routerClientIf])
        try exec(router, ["ip", "addr", "add", "\(Self.routerServerSide)/24", "dev", routerServerIf])
        for ifname in [routerClientIf, routerServerIf, "lo"] { try exec(router, ["ip", "link", "set", ifname, "up"]) }
        try exec(router, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        try exec(router, ["iptables", "-t", "nat", "-A", "PREROUTING", "-d", Self.vip, "-p", "tcp", "--dport", "\(Self.vipTCPPort)",
                          "-j", "DNAT", "--to-destination", "\(Self.serverIP):\(Self.serverTCPPort)"])
        try exec(router, ["iptables", "-t", "nat", "-A", "PREROUTING", "-d", Self.vip, "-p", "udp", "--dport", "\(Self.vipUDPPort)",
                          "-j", "DNAT", "--to-destination", "\(Self.serverIP):\(Self.serverUDPPort)"])
        try exec(router, ["iptables", "-t", "nat", "-A", "PREROUTING", "-d", Self.vip, "-p", "tcp", "--dport", "\(Self.iperfPort)",
                          "-j", "DNAT", "--to-destination", "\(Self.serverIP):\(Self.iperfPort)"])
        try exec(router, ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", routerServerIf, "-j", "MASQUERADE"])
        try startServer()
    }

    /// Deletes everything this lab made. Idempotent.
    public func teardown() {
        // SIGKILL: the child inherits a signal mask with SIGTERM blocked from the test runner.
        if let p = serverProcess, p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        serverProcess = nil
        for ns in [client, router, server] { _ = try? Self.run(["ip", "netns", "del", ns]) }
    }

    /// TCP server: reads until EOF, answers with the byte count. UDP server: echoes.
    private func startServer() throws {
        let script = """
        import socket, threading, sys
        def tcp(family, addr):
            s = socket.socket(family); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, \(Self.serverTCPPort))); s.listen(64)
            while True:
                c, _ = s.accept(); n = 0
                while True:
                    b = c.recv(1 << 20)
                    if not b: break
                    n += len(b)
                c.sendall(str(n).encode()); c.close()
        def udp():
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", \(Self.serverUDPPort)))
            while True:
                d, a = u.recvfrom(2048); u.sendto(d, a)
        threading.Thread(target=tcp, args=(socket.AF_INET, "0.0.0.0"), daemon=True).start()
        threading.Thread(target=tcp, args=(socket.AF_INET6, "::"), daemon=True).start()
        threading.Thread(target=udp, daemon=True).start()
        print("ready", flush=True)
        threading.Event().wait()
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", server, "python3", "-c", script]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        serverProcess = p
        let line = out.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).contains("ready") else {
            throw CommandFailed(command: ["server"], status: -1, output: "server did not start")
        }
    }

    /// Runs TCP connections (each sending `bytes`) and UDP exchanges (two datagrams each way per socket)
    /// from the client to the VIP;
    /// returns the client's local ports (TCP, then UDP).
    public func clientTraffic(tcpConnections: Int, bytes: Int = 1000, udpExchanges: Int = 0, ipv6: Bool = false) throws -> (tcp: [UInt16], udp: [UInt16]) {
        let script = """
        import socket
        for i in range(\(tcpConnections)):
            c = socket.create_connection(("\(ipv6 ? Self.vip6 : Self.vip)", \(Self.vipTCPPort)), timeout=10)
            print("tcp", c.getsockname()[1], flush=True)
            data = b"x" * 65536; left = \(bytes)
            while left > 0:
                n = c.send(data[:min(left, len(data))]); left -= n
            c.shutdown(socket.SHUT_WR)
            assert c.recv(100).decode() == str(\(bytes))
            c.close()
        for i in range(\(udpExchanges)):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
            for _ in range(2):
                u.sendto(b"ping", ("\(Self.vip)", \(Self.vipUDPPort)))
                assert u.recvfrom(100)[0] == b"ping"
            print("udp", u.getsockname()[1], flush=True)
            u.close()
        """
        let out = try exec(client, ["python3", "-c", script])
        var tcp: [UInt16] = [], udp: [UInt16] = []
        for line in out.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 2, let port = UInt16(f[1]) else { continue }
            if f[0] == "tcp" { tcp.append(port) } else { udp.append(port) }
        }
        return (tcp, udp)
    }

    /// Sends `count` ICMP echo requests from the client to the server's own address (routed, masqueraded)
    /// with identifier `id`, waiting for each reply.
    public func ping(count: Int, id: UInt16) throws {
        let script = """
        import socket, struct
        def csum(b):
            s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
            return ~s & 0xffff
        r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.settimeout(5)
        for seq in range(\(count)):
            h = struct.pack("!BBHHH", 8, 0, 0, \(id), seq) + b"srcip-ping-data!"
            h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
            r.sendto(h, ("\(Self.serverIP)", 0))
            while True:
                d, _ = r.recvfrom(2048)
                if d[20] == 0: break
        """
        try exec(client, ["python3", "-c", script])
    }

    /// A bulk TCP transfer from the client through the VIP to an iperf3 server; returns bits per second received.
    public func bulkTransfer(seconds: Int) throws -> Double {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        server.arguments = ["netns", "exec", self.server, "iperf3", "-s", "-1", "-p", "\(Self.iperfPort)"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() }; server.waitUntilExit() }
        var lastError: Error?
        for _ in 0..<50 {
            do {
                let json = try exec(client, ["iperf3", "-c", Self.vip, "-p", "\(Self.iperfPort)", "-t", "\(seconds)", "-J"])
                return try Self.receivedBitsPerSecond(iperfJSON: json)
            } catch {
                lastError = error
                usleep(100_000)
            }
        }
        throw lastError ?? CommandFailed(command: ["iperf3"], status: -1, output: "did not run")
    }

    static func receivedBitsPerSecond(iperfJSON: String) throws -> Double {
        do {
            return try JSONObjectReader.parse(Array(iperfJSON.utf8)).object("end").object("sum_received").double("bits_per_second")
        } catch {
            throw CommandFailed(command: ["iperf3"], status: -1, output: "\(error): " + String(iperfJSON.prefix(300)))
        }
    }

    /// The router's conntrack table, IPv4 and IPv6 (`conntrack -L -f <family> -o extended`), one (original, reply) pair per entry.
    public func conntrackEntries() throws -> [(original: FiveTuple, reply: FiveTuple)] {
        try ["ipv4", "ipv6"].flatMap { family in
            try exec(router, ["conntrack", "-L", "-f", family, "-o", "extended"]).split(separator: "\n").compactMap(Self.parseConntrack)
        }
    }

    /// Parses one `conntrack -L -o extended` line, e.g.
    /// `ipv4 2 tcp 6 118 TIME_WAIT src=A dst=B sport=1 dport=2 src=C dst=D sport=2 dport=9 [ASSURED] ...`.
    public static func parseConntrack(_ line: Substring) -> (original: FiveTuple, reply: FiveTuple)? {
        let fields = line.split(separator: " ")
        guard fields.count > 3, let proto = L4Protocol(name: fields[2]) else { return nil }
        var values: [String: [String]] = [:]
        for f in fields {
            let kv = f.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { values[String(kv[0]), default: []].append(String(kv[1])) }
        }
        func tuple(_ i: Int) -> FiveTuple? {
            guard let src = values["src"]?[safe: i].flatMap({ IPAddress($0) }),
                  let dst = values["dst"]?[safe: i].flatMap({ IPAddress($0) }) else { return nil }
            let sport = values["sport"]?[safe: i].flatMap { UInt16($0) } ?? 0
            let dport = values["dport"]?[safe: i].flatMap { UInt16($0) } ?? 0
            return FiveTuple(src: src, dst: dst, srcPort: sport, dstPort: dport, proto: proto)
        }
        guard let o = tuple(0), let r = tuple(1) else { return nil }
        return (o, r)
    }

    @discardableResult
    public func exec(_ ns: String, _ args: [String]) throws -> String {
        try Self.run(["ip", "netns", "exec", ns] + args)
    }

    @discardableResult
    public static func run(_ args: [String]) throws -> String {
        let r = try Command.run(args[0], Array(args.dropFirst()))
        guard r.status == 0 else { throw CommandFailed(command: args, status: r.status, output: r.stdout + r.stderr) }
        return r.stdout
    }
}

extension Array {
    public subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
