#if canImport(Glibc)
import Glibc
#endif

/// An IPFIX collector address: `udp://HOST:PORT` or `tcp://HOST:PORT` (HOST a name, an IPv4 address or `[IPv6]`).
public struct IPFIXCollectorAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Transport: String, Sendable { case udp, tcp }
    public var transport: Transport
    public var host: String
    public var port: UInt16

    /// Nil unless `text` is `udp://HOST:PORT` or `tcp://HOST:PORT` with a port from 1 to 65535.
    public init?(_ text: String) {
        let parts = text.split(separator: "://", maxSplits: 1).map(String.init)
        guard parts.count == 2, let t = Transport(rawValue: parts[0].lowercased()) else { return nil }
        var rest = parts[1]
        if rest.hasSuffix("/") { rest.removeLast() }
        guard let colon = rest.lastIndex(of: ":"), let p = UInt16(rest[rest.index(after: colon)...]), p > 0 else { return nil }
        var h = String(rest[..<colon])
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        guard !h.isEmpty, !h.contains("/") else { return nil }
        (transport, host, port) = (t, h, p)
    }

    public var description: String { "\(transport)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

/// Why a collector could not be used.
public enum IPFIXCollectorError: Error, CustomStringConvertible {
    case resolve(String, String)
    case connect(String, Int32)

    public var description: String {
        switch self {
        case .resolve(let c, let why): return "IPFIX collector \(c): cannot resolve the host: \(why)"
        case .connect(let c, let e):
            return "IPFIX collector \(c): cannot connect: \(String(cString: strerror(e))); check the collector is running and listening on TCP"
        }
    }
}

/// Sends IPFIX messages to a collector: UDP datagrams (templates refreshed), or a TCP stream (templates once per
/// connection; a lost connection is retried at the next flush, at most once a second, and the messages meanwhile are
/// counted as lost).
public final class IPFIXSocketTransport: IPFIXTransport {
    public let address: IPFIXCollectorAddress
    private var fd: Int32 = -1
    private var sockaddrBytes: [UInt8] = []
    private var family: Int32 = AF_INET
    /// Whether the TCP stream is down and must be reconnected before the next message.
    private var disconnected = false

    /// Resolves the address and, for TCP, connects (failing when no collector listens).
    public init(_ address: IPFIXCollectorAddress) throws(IPFIXCollectorError) {
        self.address = address
        var hints = addrinfo()
        hints.ai_socktype = Int32(address.transport == .udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address.host, String(address.port), &hints, &res)
        guard rc == 0, let ai = res else { throw .resolve(address.description, String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(res) }
        family = ai.pointee.ai_family
        sockaddrBytes = Array(UnsafeRawBufferPointer(start: ai.pointee.ai_addr, count: Int(ai.pointee.ai_addrlen)))
        if address.transport == .udp {
            fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw .connect(address.description, errno) }
        } else if let e = connectTCP() {
            throw .connect(address.description, e)
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    public var maxMessageBytes: Int { address.transport == .udp ? 1400 : 60_000 }
    public var refreshesTemplates: Bool { address.transport == .udp }

    /// Connects the TCP socket; the errno on failure.
    private func connectTCP() -> Int32? {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
        fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        let rc = sockaddrBytes.withUnsafeBytes { connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
        if rc != 0 {
            let e = errno
            Glibc.close(fd)
            fd = -1
            return e
        }
        return nil
    }

    public func send(_ message: [UInt8]) throws(ExportError) -> Bool {
        if address.transport == .udp {
            let n = message.withUnsafeBytes { m in
                sockaddrBytes.withUnsafeBytes { a in
                    sendto(fd, m.baseAddress, m.count, Int32(MSG_NOSIGNAL), a.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(a.count))
                }
            }
            return n == message.count
        }
        if disconnected || fd < 0 { return false }
        var off = 0
        while off < message.count {
            let n = message.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                disconnected = true
                return false
            }
            off += n
        }
        return true
    }

    /// TCP: reconnects a lost stream (the writer then sends the templates first).
    public func flush() throws(ExportError) {
        if address.transport == .tcp, disconnected, connectTCP() == nil { disconnected = false }
    }

    public func reopen() throws(ExportError) -> Bool { false }

    public func close() throws(ExportError) {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
