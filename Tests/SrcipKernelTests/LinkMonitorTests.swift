import Foundation
import SrcipSystem
import Testing
@testable import SrcipKernel

/// Builds one rtnetlink link message: nlmsghdr + ifinfomsg + an IFLA_IFNAME attribute.
private func linkMessage(type: UInt16, index: Int32, name: String?) -> [UInt8] {
    var attr: [UInt8] = []
    if let name {
        let value = Array(name.utf8) + [0]
        let len = 4 + value.count
        attr = withUnsafeBytes(of: UInt16(len).littleEndian, Array.init) + withUnsafeBytes(of: UInt16(3).littleEndian, Array.init)
            + value + [UInt8](repeating: 0, count: (4 - len % 4) % 4)
    }
    let total = 32 + attr.count
    var m = withUnsafeBytes(of: UInt32(total).littleEndian, Array.init) + withUnsafeBytes(of: type.littleEndian, Array.init)
        + [UInt8](repeating: 0, count: 10)
    m += [0, 0, 0, 0] + withUnsafeBytes(of: index.littleEndian, Array.init) + [UInt8](repeating: 0, count: 8)
    return m + attr
}

@Suite("Interface following: rtnetlink parsing, link table, selection")
struct LinkParsingTests {
    @Test("new and deleted links parse with their names; truncated or bogus input ends the parse")
    func parse() {
        let bytes = linkMessage(type: 16, index: 7, name: "veth1") + linkMessage(type: 17, index: 8, name: "eth9")
        let parsed = bytes.withUnsafeBytes { LinkMessage.parse($0) }
        #expect(parsed == [LinkMessage(deleted: false, index: 7, name: "veth1"), LinkMessage(deleted: true, index: 8, name: "eth9")])
        for cut in 0..<bytes.count {
            let part = Array(bytes.prefix(cut))
            let p = part.withUnsafeBytes { LinkMessage.parse($0) }
            #expect(p.count <= 1)
        }
        var bogus = linkMessage(type: 16, index: 3, name: "x")
        bogus[32] = 0xff   // attribute length beyond the message
        #expect(bogus.withUnsafeBytes { LinkMessage.parse($0) } == [LinkMessage(deleted: false, index: 3, name: nil)])
        let other = linkMessage(type: 20, index: 3, name: "addr")   // RTM_NEWADDR: skipped
        #expect(other.withUnsafeBytes { LinkMessage.parse($0) }.isEmpty)
    }

    @Test("the table reports additions, removals and renames, not state changes")
    func table() {
        var t = LinkTable([NetworkInterface(name: "eth0", index: 2)])
        #expect(t.apply(LinkMessage(deleted: false, index: 2, name: "eth0")).isEmpty)
        #expect(t.apply(LinkMessage(deleted: false, index: 5, name: "veth5")) == [.added(NetworkInterface(name: "veth5", index: 5))])
        #expect(t.apply(LinkMessage(deleted: false, index: 5, name: "pod5")) ==
                [.removed(NetworkInterface(name: "veth5", index: 5)), .added(NetworkInterface(name: "pod5", index: 5))])
        #expect(t.apply(LinkMessage(deleted: false, index: 1, name: "lo")).isEmpty)
        #expect(t.apply(LinkMessage(deleted: true, index: 5, name: "pod5")) == [.removed(NetworkInterface(name: "pod5", index: 5))])
        #expect(t.apply(LinkMessage(deleted: true, index: 9, name: "gone")).isEmpty)
        let diff = t.replace(with: [NetworkInterface(name: "eth0", index: 2), NetworkInterface(name: "eth1", index: 3)])
        #expect(diff == [.added(NetworkInterface(name: "eth1", index: 3))])
        #expect(t.replace(with: []) == [.removed(NetworkInterface(name: "eth0", index: 2)), .removed(NetworkInterface(name: "eth1", index: 3))])
    }

    @Test("selection: patterns, exclusions, loopback, duplicates")
    func selection() {
        let all = ["lo", "eth0", "eth1", "veth12", "cali3", "flannel.1"].enumerated().map { NetworkInterface(name: $0.1, index: UInt32($0.0 + 1)) }
        #expect(InterfaceSelection().select(all).map(\.name) == ["eth0", "eth1", "veth12", "cali3", "flannel.1"])
        #expect(InterfaceSelection(include: ["veth*", "cali*"]).select(all).map(\.name) == ["veth12", "cali3"])
        #expect(InterfaceSelection(exclude: ["eth*"]).select(all).map(\.name) == ["veth12", "cali3", "flannel.1"])
        #expect(InterfaceSelection(include: ["eth0", "eth0", "eth?"]).select(all).map(\.name) == ["eth0", "eth1"])
        #expect(InterfaceSelection(include: ["lo"]).matches("lo"))
        #expect(InterfaceSelection(include: ["eth0", "veth*", "eth0"]).literalNames == ["eth0"])
        #expect(!InterfaceSelection(include: ["[ab]*"]).matches("cali3"))
    }
}

@Suite("Interface following in a network namespace", .serialized, .privileged)
struct LinkMonitorNetnsTests {
    @Test("veths created, renamed and deleted in the namespace are reported within a second")
    func followsLinks() throws {
        let ns = "srcip-lm-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        try Command.check("ip", ["netns", "add", ns])
        defer { _ = try? Command.run("ip", ["netns", "delete", ns]) }
        let monitor = try NetworkNamespace.run(path: "/run/netns/\(ns)") { try LinkMonitor() }
        #expect(monitor.known.isEmpty)

        func collect(within limit: Double = 3, until done: ([LinkEvent]) -> Bool) throws -> (events: [LinkEvent], seconds: Double) {
            let start = Date()
            var events: [LinkEvent] = []
            while !done(events) && Date().timeIntervalSince(start) < limit { events += try monitor.poll(timeoutMs: 100) }
            return (events, Date().timeIntervalSince(start))
        }
        try Command.check("ip", ["-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb"])
        let added = try collect { $0.count >= 2 }
        #expect(Set(added.events.compactMap { if case .added(let i) = $0 { i.name } else { nil } }) == ["va", "vb"])
        #expect(added.seconds < 1)

        try Command.check("ip", ["-n", ns, "link", "set", "vb", "name", "pod0"])
        let renamed = try collect { $0.count >= 2 }
        #expect(renamed.events.map(\.description).map { $0.prefix(1) } == ["-", "+"])
        #expect(monitor.known.map(\.name).sorted() == ["pod0", "va"])

        try Command.check("ip", ["-n", ns, "link", "set", "va", "up"])
        #expect(try collect(within: 0.5) { _ in false }.events.isEmpty)   // state changes are not events

        try Command.check("ip", ["-n", ns, "link", "delete", "va"])
        let removed = try collect { $0.count >= 2 }
        #expect(Set(removed.events.compactMap { if case .removed(let i) = $0 { i.name } else { nil } }) == ["va", "pod0"])
        #expect(monitor.known.isEmpty)
    }
}
