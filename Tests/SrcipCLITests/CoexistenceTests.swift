import Foundation
import SrcipCore
import SrcipKernel
import SrcipTestbed
import Testing

/// Several `srcip trace` processes on the same interfaces: each sees everything, none touches another's
/// attachments; a killed `--clsact` run is cleaned up on every interface by the next start.
@Suite(.serialized, .privileged)
struct CoexistenceTests {
    /// clsact filters at `hook` of `interface` in the router namespace, from the kernel.
    static func filters(_ lab: NATLab, _ interface: String, _ hook: Hook) throws -> [ClsactFilter] {
        try NetworkNamespace.run(path: lab.routerNetnsPath) {
            try ClsactFilter.list(ifindex: try Interfaces.index(of: interface), hook: hook)
        }
    }

    static func hasClsactQdisc(_ lab: NATLab, _ interface: String) throws -> Bool {
        try lab.exec(lab.router, ["tc", "qdisc", "show", "dev", interface]).contains("clsact")
    }

    /// Starts a raw JSON Lines trace of TCP on the router's client-side interface.
    static func start(_ lab: NATLab, clsact: Bool, extra: [String] = []) throws -> SrcipProcess {
        let p = try SrcipProcess(["trace", "--raw", "--format", "jsonl", "--protocol", "tcp", "-i", lab.routerClientIf]
                                 + (clsact ? ["--clsact"] : []) + extra, netns: lab.router)
        #expect(p.waitForStderr("tracing"), "did not start: \(p.stderr)")
        return p
    }

    /// Whether the raw output has an ingress `new` record of the client's connection from `port`.
    static func saw(_ p: SrcipProcess, port: UInt16) -> Bool {
        p.stdout.split(separator: "\n").contains {
            $0.contains("\"src_port\":\(port),") && $0.contains("\"hook\":\"ingress\"") && $0.contains("\"event\":\"new\"")
        }
    }

    /// Waits up to 3 s for `p` to show the connection from `port`.
    static func eventuallySaw(_ p: SrcipProcess, port: UInt16) -> Bool {
        for _ in 0..<150 where !saw(p, port: port) { usleep(20_000) }
        return saw(p, port: port)
    }

    @Test(arguments: [(false, false), (true, true), (false, true), (true, false)])
    func twoInstancesOnOneInterfaceEachSeeTheTrafficAndStoppingOneLeavesTheOther(firstClsact: Bool, secondClsact: Bool) throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let first = try Self.start(lab, clsact: firstClsact)
        defer { if first.process.isRunning { kill(first.pid, SIGKILL) } }
        let second = try Self.start(lab, clsact: secondClsact)
        defer { if second.process.isRunning { kill(second.pid, SIGKILL) } }
        let clsactCount = (firstClsact ? 1 : 0) + (secondClsact ? 1 : 0)
        #expect(try Self.filters(lab, lab.routerClientIf, .ingress).filter(\.isSrcip).count == clsactCount)

        let both = try #require(lab.clientTraffic(tcpConnections: 1).tcp.first)
        #expect(Self.eventuallySaw(first, port: both), "first instance is blind:\n\(first.stdout)")
        #expect(Self.eventuallySaw(second, port: both), "second instance is blind:\n\(second.stdout)")

        kill(first.pid, SIGINT)
        #expect(first.wait() == 0)
        #expect(try Self.filters(lab, lab.routerClientIf, .ingress).filter(\.isSrcip).count == (secondClsact ? 1 : 0),
                "stopping the first removed only its own filter")
        let after = try #require(lab.clientTraffic(tcpConnections: 1).tcp.first)
        #expect(Self.eventuallySaw(second, port: after), "second instance went blind when the first stopped:\n\(second.stdout)")
        kill(second.pid, SIGINT)
        #expect(second.wait() == 0)
        #expect(try Self.filters(lab, lab.routerClientIf, .ingress).isEmpty)
        #expect(try Self.filters(lab, lab.routerClientIf, .egress).isEmpty)
        #expect(try !Self.hasClsactQdisc(lab, lab.routerClientIf), "srcip created the clsact qdisc, so it removes it")
    }

    @Test func aKilledClsactRunIsCleanedOnEveryInterfaceByTheNextStartEvenWithOneInterface() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let (a, b) = (lab.routerClientIf, lab.routerServerIf)
        // Someone else's clsact qdisc on b: it must outlive srcip; the one srcip creates on a must not.
        try lab.exec(lab.router, ["tc", "qdisc", "add", "dev", b, "clsact"])
        let killed = try SrcipProcess(["trace", "--clsact", "-i", a, "-i", b], netns: lab.router)
        #expect(killed.waitForStderr("tracing"))
        let leftover = try [a, b].flatMap { i in try Hook.allCases.flatMap { try Self.filters(lab, i, $0) } }
        #expect(leftover.count == 4 && leftover.allSatisfy { $0.isSrcip && $0.ownerPID == killed.pid && $0.ownerIsAlive })
        kill(killed.pid, SIGKILL)
        killed.wait()
        #expect(try Self.filters(lab, a, .ingress).contains { $0.isSrcip && !$0.ownerIsAlive }, "a killed run leaves its filters")

        let next = try SrcipProcess(["trace", "--clsact", "-i", b, "--duration", "1"], netns: lab.router)
        #expect(next.wait() == 0, "\(next.stderr)")
        for i in [a, b] {
            for hook in Hook.allCases { #expect(try Self.filters(lab, i, hook).isEmpty, "\(i) \(hook) still has filters") }
        }
        usleep(300_000) // programs are freed after an RCU grace period
        let alive = Set(try BPFPrograms.all().map(\.id))
        #expect(leftover.allSatisfy { !alive.contains($0.programID) }, "orphan programs of the killed run remain")
        #expect(try !Self.hasClsactQdisc(lab, a), "the qdisc the killed run created is removed")
        #expect(try Self.hasClsactQdisc(lab, b), "a qdisc srcip did not create stays")
    }

    @Test func aUserQdiscAndAUserFilterSurviveAClsactRun() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let dev = lab.routerClientIf
        try lab.exec(lab.router, ["tc", "qdisc", "add", "dev", dev, "clsact"])
        try lab.exec(lab.router, ["tc", "filter", "add", "dev", dev, "ingress", "prio", "7", "protocol", "all",
                                  "u32", "match", "u32", "0", "0", "flowid", "1:1"])
        let run = try SrcipProcess(["trace", "--clsact", "-i", dev, "--duration", "1"], netns: lab.router)
        #expect(run.wait() == 0, "\(run.stderr)")
        let left = try Self.filters(lab, dev, .ingress)
        #expect(!left.isEmpty && left.allSatisfy { $0.kind == "u32" && $0.priority == 7 }, "\(left)")
        #expect(try Self.hasClsactQdisc(lab, dev))
    }

    @Test func aDuplicateInterfaceIsOneAttachment() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let dev = lab.routerClientIf
        let trace = try Self.start(lab, clsact: true, extra: ["-i", dev])
        defer { if trace.process.isRunning { kill(trace.pid, SIGKILL) } }
        for hook in Hook.allCases {
            #expect(try Self.filters(lab, dev, hook).filter(\.isSrcip).count == 1, "\(hook): one filter for -i \(dev) -i \(dev)")
        }
        let port = try #require(lab.clientTraffic(tcpConnections: 1, bytes: 100).tcp.first)
        #expect(Self.eventuallySaw(trace, port: port))
        kill(trace.pid, SIGINT)
        #expect(trace.wait() == 0)
        let records = trace.stdout.split(separator: "\n").filter { $0.contains("\"src_port\":\(port),") && $0.contains("\"hook\":\"ingress\"") }
        #expect(records.filter { $0.contains("\"event\":\"new\"") }.count == 1)
        // SYN, ACK, data, FIN (maybe with the data): at most 4 packets up to the first FIN, 8 if every packet counted twice.
        let end = try #require(records.first { $0.contains("\"event\":\"end\"") }, "no end record:\n\(trace.stdout)")
        let packets = try #require(Self.number(end, "packets"))
        #expect((2...4).contains(packets), "counts doubled? \(end)")
    }

    static func number(_ line: Substring, _ key: String) -> Int? {
        let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return obj?[key] as? Int
    }
}
