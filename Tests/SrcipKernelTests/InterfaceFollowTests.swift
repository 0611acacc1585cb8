import Foundation
import SrcipCore
import SrcipSystem
import Synchronization
import Testing
@testable import SrcipKernel

@Suite("Interface following: what a batch of link events means")
struct FollowPlanTests {
    let veth = InterfaceSelection(include: ["veth*"], exclude: ["veth9"])
    func i(_ name: String, _ index: UInt32) -> NetworkInterface { NetworkInterface(name: name, index: index) }

    @Test("new selected interfaces attach; others, and known ones, do not")
    func additions() {
        let events: [LinkEvent] = [.added(i("veth1", 5)), .added(i("eth1", 6)), .added(i("veth9", 7)), .added(i("veth2", 2))]
        #expect(FollowPlan.actions(for: events, attached: [2: "veth2"], selection: veth) == [.attach(i("veth1", 5))])
    }

    @Test("removal detaches; a rename keeps, drops or picks up an interface by its new name")
    func removalsAndRenames() {
        let attached: [UInt32: String] = [3: "veth3", 4: "veth4"]
        let events: [LinkEvent] = [.removed(i("veth3", 3)),
                                   .removed(i("veth4", 4)), .added(i("veth9", 4)),
                                   .removed(i("eth5", 5)), .added(i("veth5", 5)),
                                   .removed(i("eth6", 6))]
        #expect(FollowPlan.actions(for: events, attached: attached, selection: veth) == [
            .detach(i("veth3", 3), reason: "removed"),
            .detach(i("veth4", 4), reason: "renamed to veth9 (not selected)"),
            .attach(i("veth5", 5)),
        ])
        let rename: [LinkEvent] = [.removed(i("veth3", 3)), .added(i("veth7", 3))]
        #expect(FollowPlan.actions(for: rename, attached: attached, selection: veth) == [.rename(i("veth3", 3), to: "veth7")])
    }

    @Test("left and back under the same name in one batch: attached again; renamed back and forth: still attached")
    func roundTrips() {
        let back: [LinkEvent] = [.removed(i("veth3", 3)), .added(i("veth3", 3))]
        #expect(FollowPlan.actions(for: back, attached: [3: "veth3"], selection: veth)
                == [.detach(i("veth3", 3), reason: "left and came back"), .attach(i("veth3", 3))])
        let created: [LinkEvent] = [.added(i("veth8", 8)), .removed(i("veth8", 8))]
        #expect(FollowPlan.actions(for: created, attached: [:], selection: veth).isEmpty)
    }

    @Test("the summary counts and the shared name table")
    func countsAndNames() {
        #expect(InterfaceCounts(atStart: 3, attachedLater: 2, removed: 1).description == "3 at start, 2 attached later, 1 removed")
        #expect(InterfaceCounts(failed: 1).description.hasSuffix(", 1 failed to attach"))
        #expect(InterfaceChange.failed(i("veth1", 5), reason: "EPERM").isProblem)
        #expect(!InterfaceChange.detached(i("veth1", 5), reason: "removed").isProblem)
        #expect(!InterfaceChange.vanished(i("veth1", 5)).isProblem)
        let names = InterfaceNames([2: "eth0"])
        var context = NodeContext(node: "n", interfaces: [2: "eth0", 3: "old"])
        context.interfaceNames = names
        names.set("veth7", for: 7)
        names.set("new", for: 3)
        #expect(context.interfaceName(7) == "veth7")
        #expect(context.interfaceName(3) == "new")
        #expect(context.interfaceName(2) == "eth0")
        #expect(context.interfaceName(9) == "if9")
    }
}

/// A tracer following the interfaces of a fresh namespace (in-process, so attach latency is measured to the ms).
@Suite("Interface following in a network namespace (Tracer)", .serialized, .privileged)
struct TracerFollowTests {
    static func programs(_ ns: String, _ name: String) throws -> [String] {
        try NetworkNamespace.run(named: ns) {
            let idx = try Interfaces.index(of: name)
            return try Hook.allCases.flatMap { try HookAttachment.tcxProgramNames(ifindex: idx, hook: $0) }
        }.filter { $0.hasPrefix("srcip") }
    }

    static func clsactFilters(_ ns: String, _ name: String) throws -> [ClsactFilter] {
        try NetworkNamespace.run(named: ns) {
            let idx = try Interfaces.index(of: name)
            return try Hook.allCases.flatMap { try ClsactFilter.list(ifindex: idx, hook: $0) }
        }.filter(\.isSrcip)
    }

    /// Polls `condition` every millisecond up to `limit` seconds; returns the seconds it took, nil on timeout.
    static func time(limit: Double = 3, _ condition: () throws -> Bool) rethrows -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < limit {
            if try condition() { return Date().timeIntervalSince(start) }
            usleep(1_000)
        }
        return nil
    }

    @Test("veths created after start attach within a second, renames keep or drop them, deletion detaches quietly",
          arguments: [true, false])
    func follows(tcx: Bool) throws {
        let ns = "srcip-tf-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        try Command.check("ip", ["netns", "add", ns])
        defer { _ = try? Command.run("ip", ["netns", "delete", ns]) }
        try Command.check("ip", ["-n", ns, "link", "add", "vs0", "type", "veth", "peer", "name", "ps0"])
        var options = Tracer.Options(selection: InterfaceSelection(include: ["v*"], exclude: ["vx1"]))
        options.netnsPath = "/run/netns/\(ns)"
        options.preferTCX = tcx
        let names = InterfaceNames()
        options.interfaceNames = names
        let changes = ChangeLog()
        options.onInterfaceChange = { changes.add($0) }
        let tracer = try Tracer(options: options)
        defer { tracer.close() }
        #expect(tracer.interfacesAtStart.map(\.name) == ["vs0"])
        let mode: HookAttachment.Mode = tcx ? .tcx : .clsact

        var latencies: [Double] = []
        for round in 0..<5 {
            let start = Date()
            try Command.check("ip", ["-n", ns, "link", "add", "vx\(round + 2)", "type", "veth", "peer", "name", "pz\(round)"])
            let created = Date().timeIntervalSince(start)
            let waited = Self.time { tracer.interfaces.contains { $0.name == "vx\(round + 2)" } }
            let seconds = try #require(waited, "vx\(round + 2) not attached; changes: \(changes.all)") + created
            latencies.append(seconds)
            #expect(seconds < 1)
        }
        let sorted = latencies.sorted()
        print("attach latency (\(mode), from `ip link add` start, 5 veths): median \(Int(sorted[2] * 1000)) ms, max \(Int(sorted[4] * 1000)) ms")
        if tcx {
            #expect(try Self.programs(ns, "vx2").count == 2)
            #expect(try Self.programs(ns, "pz0").isEmpty)
        } else {
            #expect(try Self.clsactFilters(ns, "vx2").count == 2)
            #expect(try Self.clsactFilters(ns, "pz0").isEmpty)
        }
        #expect(tracer.attachments.count == 12 && tracer.attachments.allSatisfy { $0.mode == mode })

        // A veth pair whose second end is excluded by name.
        try Command.check("ip", ["-n", ns, "link", "add", "vx0", "type", "veth", "peer", "name", "vx1"])
        _ = Self.time { tracer.interfaces.contains { $0.name == "vx0" } }
        usleep(200_000)
        #expect(tracer.interfaces.map(\.name).sorted() == ["vs0", "vx0", "vx2", "vx3", "vx4", "vx5", "vx6"])

        // Renames: to a selected name (stays), to a name not selected (let go), into the selection (picked up).
        let vx2 = try NetworkNamespace.run(named: ns) { try Interfaces.index(of: "vx2") }
        try Command.check("ip", ["-n", ns, "link", "set", "vx2", "name", "vy2"])
        #expect(Self.time { names.name(of: vx2) == "vy2" } != nil)
        try Command.check("ip", ["-n", ns, "link", "set", "vx3", "name", "zz3"])
        try Command.check("ip", ["-n", ns, "link", "set", "pz0", "name", "vp0"])
        #expect(Self.time { tracer.interfaces.contains { $0.name == "vp0" } && !tracer.interfaces.contains { $0.name == "vx3" } } != nil)
        #expect(tracer.interfaces.contains { $0.name == "vy2" && $0.index == vx2 })
        #expect(tcx ? try Self.programs(ns, "zz3").isEmpty : try Self.clsactFilters(ns, "zz3").isEmpty)

        // Deletion: detached, not a failure; the rest stays attached.
        try Command.check("ip", ["-n", ns, "link", "delete", "vx4"])
        #expect(Self.time { !tracer.interfaces.contains { $0.name == "vx4" || $0.name == "pz2" } } != nil)
        #expect(names.name(of: vx2) == "vy2")
        let counts = tracer.interfaceCounts
        #expect(counts.atStart == 1)
        #expect(counts.attachedLater == 7)   // vx2…vx6, vx0, vp0
        #expect(counts.removed == 2)         // vx3 renamed away, vx4 deleted
        #expect(counts.failed == 0, "\(changes.all)")
        #expect(!changes.all.contains { if case .failed = $0 { true } else if case .monitorFailed = $0 { true } else { false } })
        #expect(tcx ? try Self.programs(ns, "vs0").count == 2 : try Self.clsactFilters(ns, "vs0").count == 2)

        tracer.close()
        for name in ["vs0", "vy2", "vx5", "vp0"] {
            #expect(try Self.programs(ns, name).isEmpty)
            #expect(try Self.clsactFilters(ns, name).isEmpty, "\(name) keeps a filter after close")
        }
    }
}

/// What the follower reported, collected from its thread.
final class ChangeLog: Sendable {
    private let changes = Mutex<[InterfaceChange]>([])
    func add(_ c: InterfaceChange) { changes.withLock { $0.append(c) } }
    var all: [InterfaceChange] { changes.withLock { $0 } }
}
