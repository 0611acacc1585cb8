import Foundation
import SrcipCore

/// An interface appearing in or leaving the watched network namespace.
public enum LinkEvent: Hashable, Sendable, CustomStringConvertible {
    /// Created, moved into the namespace, or the new name of a renamed interface.
    case added(NetworkInterface)
    /// Deleted, moved out of the namespace, or the old name of a renamed interface.
    case removed(NetworkInterface)

    public var description: String {
        switch self {
        case .added(let i): return "+\(i)"
        case .removed(let i): return "-\(i)"
        }
    }
}

/// Watches rtnetlink (RTMGRP_LINK) for interfaces added, removed and renamed in the network namespace the
/// creating thread is in; the socket stays bound to that namespace whichever thread reads it.
///
/// Netlink is lossy under pressure (ENOBUFS): the monitor then re-lists the namespace's interfaces and reports
/// the difference, so no change is missed, only coalesced. Use from one thread or task at a time.
public final class LinkMonitor {
    private var fd: Int32
    private var table: LinkTable
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    /// Times the kernel dropped notifications and the monitor re-listed interfaces instead.
    public private(set) var resyncs = 0

    /// Opens the socket and takes the current interfaces (loopback excluded) as known.
    public init() throws {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Self.netlinkRoute)
        guard fd >= 0 else { throw KernelError.systemCall("socket(AF_NETLINK, NETLINK_ROUTE)", errno: errno) }
        var addr = NetlinkAddress(family: UInt16(AF_NETLINK), pad: 0, pid: 0, groups: Self.groupLink)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<NetlinkAddress>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw KernelError.systemCall("bind(RTMGRP_LINK)", errno: e)
        }
        self.fd = fd
        table = LinkTable(Interfaces.list())
    }

    deinit { close() }

    // <linux/netlink.h> and <linux/rtnetlink.h> are not part of Swift's Glibc module.
    private static let netlinkRoute: Int32 = 0       // NETLINK_ROUTE
    private static let groupLink: UInt32 = 1         // RTMGRP_LINK
    /// struct sockaddr_nl.
    private struct NetlinkAddress {
        var family: UInt16
        var pad: UInt16
        var pid: UInt32
        var groups: UInt32
    }

    /// The interfaces the monitor currently knows, by index.
    public var known: [NetworkInterface] { table.interfaces }

    /// Waits up to `timeoutMs` for notifications and returns what changed (empty on timeout).
    public func poll(timeoutMs: Int32) throws -> [LinkEvent] {
        guard fd >= 0 else { return [] }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = Glibc.poll(&p, 1, timeoutMs)
        if ready < 0 {
            if errno == EINTR { return [] }
            throw KernelError.systemCall("poll(rtnetlink)", errno: errno)
        }
        guard ready > 0 else { return [] }
        var events: [LinkEvent] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return events
                case EINTR: continue
                case ENOBUFS:
                    resyncs += 1
                    events += table.replace(with: Interfaces.list())
                    continue
                default: throw KernelError.systemCall("recv(rtnetlink)", errno: errno)
                }
            }
            if n == 0 { return events }
            let messages = buffer.withUnsafeBytes { LinkMessage.parse(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
            for m in messages { events += table.apply(m) }
        }
    }

    /// Closes the socket. Safe to call twice.
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// One RTM_NEWLINK / RTM_DELLINK notification.
struct LinkMessage: Hashable {
    var deleted: Bool
    var index: UInt32
    var name: String?

    static let newLink: UInt16 = 16   // RTM_NEWLINK
    static let delLink: UInt16 = 17   // RTM_DELLINK
    static let ifName: UInt16 = 3     // IFLA_IFNAME

    /// Parses a netlink datagram: a run of nlmsghdr(16) + ifinfomsg(16) + rtattrs. Malformed or truncated
    /// messages end the parse; other message types are skipped.
    static func parse(_ data: UnsafeRawBufferPointer) -> [LinkMessage] {
        var out: [LinkMessage] = []
        var off = 0
        while off + 16 <= data.count {
            let len = Int(data.loadUnaligned(fromByteOffset: off, as: UInt32.self))
            let type = data.loadUnaligned(fromByteOffset: off + 4, as: UInt16.self)
            guard len >= 16, off + len <= data.count else { break }
            if (type == newLink || type == delLink) && len >= 32 {
                let index = data.loadUnaligned(fromByteOffset: off + 20, as: Int32.self)
                var name: String?
                var a = off + 32
                while a + 4 <= off + len {
                    let alen = Int(data.loadUnaligned(fromByteOffset: a, as: UInt16.self))
                    let atype = data.loadUnaligned(fromByteOffset: a + 2, as: UInt16.self) & 0x3fff
                    guard alen >= 4, a + alen <= off + len else { break }
                    if atype == ifName {
                        let bytes = UnsafeRawBufferPointer(rebasing: data[(a + 4)..<(a + alen)])
                        name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    a += (alen + 3) & ~3
                }
                if index > 0 { out.append(LinkMessage(deleted: type == delLink, index: UInt32(index), name: name)) }
            }
            off += (len + 3) & ~3
        }
        return out
    }
}

/// The interfaces known to a monitor; turns notifications into added/removed events (state changes of a known
/// interface are not events; a new name for a known index is a removal plus an addition).
struct LinkTable {
    private var byIndex: [UInt32: String] = [:]

    init(_ interfaces: [NetworkInterface]) {
        for i in interfaces { byIndex[i.index] = i.name }
    }

    var interfaces: [NetworkInterface] {
        byIndex.map { NetworkInterface(name: $0.value, index: $0.key) }.sorted { $0.index < $1.index }
    }

    mutating func apply(_ m: LinkMessage) -> [LinkEvent] {
        let old = byIndex[m.index].map { NetworkInterface(name: $0, index: m.index) }
        if m.deleted {
            byIndex[m.index] = nil
            return old.map { [.removed($0)] } ?? []
        }
        guard let name = m.name, name != "lo" else { return [] }
        if old?.name == name { return [] }
        byIndex[m.index] = name
        return (old.map { [LinkEvent.removed($0)] } ?? []) + [.added(NetworkInterface(name: name, index: m.index))]
    }

    /// Replaces the table by a fresh listing and returns the difference.
    mutating func replace(with interfaces: [NetworkInterface]) -> [LinkEvent] {
        let fresh = Dictionary(uniqueKeysWithValues: interfaces.map { ($0.index, $0.name) })
        var events: [LinkEvent] = []
        for (index, name) in byIndex.sorted(by: { $0.key < $1.key }) where fresh[index] != name {
            events.append(.removed(NetworkInterface(name: name, index: index)))
        }
        for (index, name) in fresh.sorted(by: { $0.key < $1.key }) where byIndex[index] != name {
            events.append(.added(NetworkInterface(name: name, index: index)))
        }
        byIndex = fresh
        return events
    }
}
