import Foundation

/// nf_tables change notifications of the calling thread's network namespace: a NETLINK_NETFILTER socket in the
/// NFNLGRP_NFTABLES group. Every nftables commit (kube-proxy's nftables mode, and iptables-nft, which iptables
/// mode uses on nft-based distributions) sends messages here; they name the tables, chains and sets that changed.
final class NFTablesNotifications: Sendable {
    let fd: Int32

    // <linux/netlink.h> and <linux/netfilter/nfnetlink.h> are not part of Swift's Glibc module.
    private static let netlinkNetfilter: Int32 = 12          // NETLINK_NETFILTER
    private static let groupNFTables: UInt32 = 7             // NFNLGRP_NFTABLES
    /// struct sockaddr_nl.
    private struct NetlinkAddress {
        var family: UInt16
        var pad: UInt16
        var pid: UInt32
        var groups: UInt32
    }

    init() throws(ServiceSourceError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                        Self.netlinkNetfilter)
        guard fd >= 0 else { throw .watchFailed(what: "socket(NETLINK_NETFILTER)", errno: errno) }
        // A kube-proxy sync of a large node rewrites KUBE-SERVICES: thousands of messages at once. Lost messages
        // force a full read, so ask for room for them (root may exceed rmem_max; the memory is used only while queued).
        var size: Int32 = 64 << 20
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            size = 1 << 20
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = NetlinkAddress(family: UInt16(AF_NETLINK), pad: 0, pid: 0, groups: 1 << (Self.groupNFTables - 1))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<NetlinkAddress>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw .watchFailed(what: "bind(NFNLGRP_NFTABLES)", errno: e)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Reads whatever is queued and names what it changed; `unknown` is set when messages were lost (ENOBUFS).
    /// `each` sees every buffer received, in order.
    func drain(_ each: (UnsafeRawBufferPointer) -> Void = { _ in }) -> NFTablesChanges {
        withUnsafeTemporaryAllocation(byteCount: 1 << 16, alignment: 8) { buffer in
            var changes = NFTablesChanges()
            while true {
                let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
                if n > 0 {
                    changes.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                    each(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == ENOBUFS { changes.unknown = true; continue }
                return changes
            }
        }
    }
}
