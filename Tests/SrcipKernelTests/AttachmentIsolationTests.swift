import Foundation
import SrcipCore
import SrcipTestbed
import Testing
@testable import SrcipKernel

/// clsact filters are per attachment; stale ones are told from live ones by their owner; the flow map's
/// evictions are counted.
@Suite("Attachments and flow-map evictions", .privileged, .serialized)
struct AttachmentIsolationTests {
    static func object() throws -> BPFObject {
        var o = LoadOptions()
        o.forceFingerprint = true
        o.ringBufferBytes = 1 << 16
        return try BPFObject(options: o)
    }

    /// The pid of a process that has exited (a child that was reaped).
    static func deadPID() -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try? p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    @Test("two attachments of one process on one hook get their own filters; detaching one keeps the other")
    func ownFiltersPerAttachment() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let (a, b) = (try Self.object(), try Self.object())
        let dev = lab.routerClientIf
        let (first, second) = try NetworkNamespace.run(path: lab.routerNetnsPath) {
            (try HookAttachment.attach(programFD: a.programFD(.ingress), interface: dev, hook: .ingress, preferTCX: false),
             try HookAttachment.attach(programFD: b.programFD(.ingress), interface: dev, hook: .ingress, preferTCX: false))
        }
        defer { first.detach(); second.detach() }
        let list = { try NetworkNamespace.run(path: lab.routerNetnsPath) { try ClsactFilter.list(ifindex: first.ifindex, hook: .ingress) } }
        let both = try list()
        #expect(both.count == 2)
        #expect(both.allSatisfy { $0.isSrcip && $0.ownerPID == getpid() && $0.ownerIsAlive })
        #expect(Set(both.map(\.programID)) == Set([try a.runStats(.ingress).id, try b.runStats(.ingress).id]))
        first.detach()
        let left = try list()
        #expect(left.map(\.programID) == [try b.runStats(.ingress).id])
        second.detach()
        #expect(try list().isEmpty)
        #expect(try !lab.exec(lab.router, ["tc", "qdisc", "show", "dev", dev]).contains("clsact"), "created by srcip, unused: removed")
    }

    @Test("a filter whose owner is gone is stale on any interface; live ones and other filters stay")
    func staleByOwner() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let obj = try Self.object()
        let dead = Self.deadPID()
        let (client, server) = (lab.routerClientIf, lab.routerServerIf)
        let live = try NetworkNamespace.run(path: lab.routerNetnsPath) {
            try HookAttachment.attach(programFD: obj.programFD(.egress), interface: client, hook: .egress, preferTCX: false)
        }
        defer { live.detach() }
        // A "killed run": filters with a dead owner's handle on the server-side interface (not the one attached to).
        let report = try NetworkNamespace.run(path: lab.routerNetnsPath) { () throws -> StaleFilters.Report in
            let ifindex = try Interfaces.index(of: server)
            _ = try ClsactQdisc.withLock { try ClsactQdisc.ensure(ifindex: ifindex) }
            for hook in Hook.allCases {
                let f = ClsactFilter(ifindex: ifindex, hook: hook, handle: ClsactFilter.handle(ownerPID: dead),
                                     priority: ClsactFilter.basePriority, programID: 0, programName: "", kind: "bpf")
                #expect(f.attach(programFD: obj.programFD(hook)) == 0)
            }
            let listed = try ClsactFilter.list(ifindex: ifindex, hook: .ingress)
            #expect(listed.count == 1 && listed[0].ownerPID == dead && listed[0].isSrcip && !listed[0].ownerIsAlive)
            #expect(StaleFilters.find().count == 2, "the dead run's two filters, not the live egress filter")
            return StaleFilters.removeAll()
        }
        #expect(report.removed.count == 2 && report.failures.isEmpty)
        #expect(report.qdiscsRemoved == [server])
        #expect(try lab.exec(lab.router, ["tc", "filter", "show", "dev", client, "egress"]).contains("srcip_egress"), "live filter kept")
        #expect(try !lab.exec(lab.router, ["tc", "qdisc", "show", "dev", server]).contains("clsact"))
    }

    @Test("an LRU flow map smaller than the traffic reports its evictions; without traffic there are none")
    func evictionsCounted() async throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        var opts = Tracer.Options(interfaces: [lab.routerClientIf, lab.routerServerIf])
        opts.load.forceFingerprint = true
        opts.load.ringBufferBytes = 1 << 20
        opts.load.flowCapacity = 128
        opts.netnsPath = lab.routerNetnsPath
        let tracer = try Tracer(options: opts)
        defer { tracer.close() }
        #expect(try tracer.counters().flowsEvicted == 0)
        // 600 UDP flows, each seen at 4 hooks (client-side ingress/egress, server-side ingress/egress).
        _ = try lab.clientTraffic(tcpConnections: 0, udpExchanges: 600)
        let swept = try tracer.sweep(idleNs: 0) // user-space deletions are not evictions
        tracer.close()
        let c = try tracer.counters()
        let live = UInt64(tracer.object.flowCount())
        #expect(c.flowsCreated >= 2000, "600 flows × 4 hooks, less a few reused source ports")
        #expect(c.flowsDeleted >= UInt64(swept.count) && c.flowsDeleted <= 128)
        #expect(c.flowsEvicted + c.flowsDeleted + live + c.flowsReplaced == c.flowsCreated)
        #expect(c.flowsEvicted >= c.flowsCreated - 128 - c.flowsReplaced, "at most 128 flows fit")
    }
}
