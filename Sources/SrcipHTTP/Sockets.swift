import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A socket address of either family (`sockaddr_in` or `sockaddr_in6` inside a `sockaddr_storage`).
public struct SocketAddress: Sendable {
    public var storage = sockaddr_storage()
    public var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    public init() {}

    public var family: Int32 { Int32(storage.ss_family) }

    public func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }
}

/// Minimal TCP socket helpers (IPv4 and IPv6) over Glibc for `HTTPServer`, the lab's servers and its clients.
public enum Sockets {
    /// The address family of a textual address: IPv6 when it contains a colon.
    public static func family(of ip: String) -> Int32 { ip.contains(":") ? AF_INET6 : AF_INET }

    public static func address(_ ip: String, _ port: UInt16) throws -> SocketAddress {
        var out = SocketAddress()
        if family(of: ip) == AF_INET6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, ip, &a.sin6_addr) == 1 else { throw SocketError("not an IPv6 address: \(ip)") }
            withUnsafeMutablePointer(to: &out.storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee = a } }
            out.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            guard inet_pton(AF_INET, ip, &a.sin_addr) == 1 else { throw SocketError("not an IPv4 address: \(ip)") }
            withUnsafeMutablePointer(to: &out.storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee = a } }
            out.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
        return out
    }

    /// `ip` and port of an address; IPv4-mapped IPv6 addresses are shown as IPv4.
    public static func describe(_ addr: SocketAddress) -> (ip: String, port: UInt16) {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if addr.family == AF_INET6 {
            var a = withUnsafePointer(to: addr.storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee } }
            inet_ntop(AF_INET6, &a.sin6_addr, &buf, socklen_t(buf.count))
            var ip = String(cString: buf)
            if ip.hasPrefix("::ffff:"), ip.contains(".") { ip.removeFirst(7) }
            return (ip, UInt16(bigEndian: a.sin6_port))
        }
        var a = withUnsafePointer(to: addr.storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee } }
        inet_ntop(AF_INET, &a.sin_addr, &buf, socklen_t(buf.count))
        return (String(cString: buf), UInt16(bigEndian: a.sin_port))
    }

    public static func errorText(_ what: String) -> String { "\(what): \(String(cString: strerror(errno)))" }

    /// A TCP socket of `family`; IPv6 sockets are IPv6-only (IPv4 has its own listeners).
    public static func tcpSocket(family: Int32 = AF_INET) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(errorText("socket")) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        return fd
    }

    /// A TCP socket of the family of `ip`.
    public static func tcpSocket(for ip: String) throws -> Int32 { try tcpSocket(family: family(of: ip)) }

    public static func bind(_ fd: Int32, _ ip: String, _ port: UInt16) throws {
        let addr = try address(ip, port)
        let rc = addr.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard rc == 0 else { throw SocketError(errorText("bind \(ip):\(port)")) }
    }

    /// A listening socket on `ip:port` (ip "0.0.0.0" or "::" for all addresses of a family).
    public static func listen(_ ip: String, _ port: UInt16) throws -> Int32 {
        let fd = try tcpSocket(for: ip)
        do {
            try bind(fd, ip, port)
            guard Glibc.listen(fd, 128) == 0 else { throw SocketError(errorText("listen \(ip):\(port)")) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Accepts one connection; returns the socket and the peer address.
    public static func accept(_ fd: Int32) -> (Int32, SocketAddress)? {
        var peer = SocketAddress()
        let c = withUnsafeMutablePointer(to: &peer.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &peer.length) }
        }
        guard c >= 0 else { return nil }
        _ = fcntl(c, F_SETFD, FD_CLOEXEC)
        return (c, peer)
    }

    public static func localAddress(_ fd: Int32) -> SocketAddress {
        var addr = SocketAddress()
        _ = withUnsafeMutablePointer(to: &addr.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &addr.length) }
        }
        return addr
    }

    public static func setTimeouts(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Outcome of a connect attempt.
    public enum ConnectOutcome { case connected, refused, timedOut, failed(String) }

    /// Non-blocking connect with a deadline; leaves the socket blocking again on success.
    public static func connect(_ fd: Int32, _ ip: String, _ port: UInt16, timeout: Double) throws -> ConnectOutcome {
        let addr = try address(ip, port)
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        let rc = addr.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return .connected }
        if errno == ECONNREFUSED { return .refused }
        guard errno == EINPROGRESS else { return .failed(errorText("connect \(ip):\(port)")) }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&pfd, 1, Int32(timeout * 1000))
        if ready == 0 { return .timedOut }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        switch err {
        case 0: return .connected
        case ECONNREFUSED: return .refused
        case ETIMEDOUT: return .timedOut
        default: return .failed("connect \(ip):\(port): \(String(cString: strerror(err)))")
        }
    }

    /// Writes all bytes; false on error.
    @discardableResult
    public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Reads until EOF, error/timeout or `limit` bytes.
    public static func receiveAll(_ fd: Int32, limit: Int = 1 << 20) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while out.count < limit {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }
}

/// A socket call failed; the message names the call and the address.
public struct SocketError: Error, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "socket error: \(message)" }
}
