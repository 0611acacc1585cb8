import Foundation
import SrcipCore

/// A network interface of the current network namespace.
public struct NetworkInterface: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var index: UInt32
    public var description: String { "\(name)(\(index))" }
}

/// Interfaces and local addresses of the network namespace the calling thread is in.
public enum Interfaces {
    /// All interfaces except loopback, sorted by index.
    public static func list(includeLoopback: Bool = false) -> [NetworkInterface] {
        guard let head = if_nameindex() else { return [] }
        defer { if_freenameindex(head) }
        var out: [NetworkInterface] = []
        var p = head
        while p.pointee.if_index != 0, let name = p.pointee.if_name {
            let n = String(cString: name)
            if includeLoopback || n != "lo" { out.append(NetworkInterface(name: n, index: p.pointee.if_index)) }
            p += 1
        }
        return out.sorted { $0.index < $1.index }
    }

    /// The index of an interface, or `KernelError.unknownInterface` listing the available ones.
    public static func index(of name: String) throws -> UInt32 {
        let idx = if_nametoindex(name)
        guard idx != 0 else { throw KernelError.unknownInterface(name, available: list().map(\.name)) }
        return idx
    }

    /// The name of an interface index, nil if there is none.
    public static func name(of index: UInt32) -> String? {
        var buf = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(index, &buf) != nil else { return nil }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The node's own addresses (IPv4 and IPv6, loopback excluded), per interface name.
    public static func localAddresses() -> [String: [IPAddress]] {
        var ifap: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&ifap) == 0, let first = ifap else { return [:] }
        defer { freeifaddrs(ifap) }
        var out: [String: [IPAddress]] = [:]
        for p in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let sa = p.pointee.ifa_addr, let cname = p.pointee.ifa_name else { continue }
            let name = String(cString: cname)
            var addr: IPAddress?
            switch Int32(sa.pointee.sa_family) {
            case AF_INET:
                addr = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    withUnsafeBytes(of: sin.pointee.sin_addr) { IPAddress(bytes: $0) }
                }
            case AF_INET6:
                addr = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    withUnsafeBytes(of: sin6.pointee.sin6_addr) { IPAddress(bytes: $0) }
                }
            default:
                break
            }
            guard let addr, !isLoopback(addr) else { continue }
            out[name, default: []].append(addr)
        }
        return out
    }

    static func isLoopback(_ a: IPAddress) -> Bool {
        switch a {
        case .v4(let v): return v >> 24 == 127
        case .v6(let hi, let lo): return hi == 0 && lo == 1
        }
    }
}
