import Foundation
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipSystem
#if canImport(Glibc)
import Glibc
#endif

/// Minimal IPv4 TCP socket helpers over Glibc for the lab's servers and clients.
enum Sockets {
    static func address(_ ip: String, _ port: UInt16) throws -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, ip, &addr.sin_addr) == 1 else { throw SocketError("not an IPv4 address: \(ip)") }
        return addr
    }

    static func describe(_ addr: sockaddr_in) -> (ip: String, port: UInt16) {
        var a = addr.sin_addr
        var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
        return (String(cString: buf), UInt16(bigEndian: addr.sin_port))
    }

    static func errorText(_ what: String) -> String { "\(what): \(String(cString: strerror(errno)))" }

    static func tcpSocket() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(errorText("socket")) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    static func bind(_ fd: Int32, _ ip: String, _ port: UInt16) throws {
        var addr = try address(ip, port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw SocketError(errorText("bind \(ip):\(port)")) }
    }

    /// A listening socket on `ip:port` (ip "0.0.0.0" for all addresses).
    static func listen(_ ip: String, _ port: UInt16) throws -> Int32 {
        let fd = try tcpSocket()
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
    static func accept(_ fd: Int32) -> (Int32, sockaddr_in)? {
        var peer = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let c = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &len) }
        }
        guard c >= 0 else { return nil }
        _ = fcntl(c, F_SETFD, FD_CLOEXEC)
        return (c, peer)
    }

    static func localAddress(_ fd: Int32) -> sockaddr_in {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return addr
    }

    static func setTimeouts(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Outcome of a connect attempt.
    enum ConnectOutcome { case connected, refused, timedOut, failed(String) }

    /// Non-blocking connect with a deadline; leaves the socket blocking again on success.
    static func connect(_ fd: Int32, _ ip: String, _ port: UInt16, timeout: Double) throws -> ConnectOutcome {
        var addr = try address(ip, port)
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
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
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Reads until EOF, error/timeout or `limit` bytes.
    static func receiveAll(_ fd: Int32, limit: Int = 1 << 20) -> [UInt8] {
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

/// A socket call of a lab workload failed; the message names the call and the address.
public struct SocketError: Error, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "socket error: \(message)" }
}
