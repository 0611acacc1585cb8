import Foundation

/// Reads nf_tables objects with netlink GET requests (what `nft list` does, without its cache of the whole ruleset):
/// the ruleset generation, and dumps of chains, sets, set elements and rules. Opened in the namespace to read.
final class NFTablesNetlinkDumper: Sendable {
    private let fd: Int32

    init() throws(ServiceSourceError) {
        fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 12)   // NETLINK_NETFILTER
        guard fd >= 0 else { throw .watchFailed(what: "socket(NETLINK_NETFILTER)", errno: errno) }
        var size: Int32 = 8 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    struct Failure: Error, CustomStringConvertible {
        var problem: String
        var description: String { "nf_tables dump: \(problem)" }
    }

    /// The current ruleset generation (NFT_MSG_GETGEN).
    func generation() throws -> UInt32 {
        for m in try request(kind: .getGen, family: 0, dump: false, attributes: []) ?? [] {
            if case .generation(let id) = m { return id }
        }
        throw Failure(problem: "no generation in the GETGEN answer")
    }

    /// Every object of `kind` (.getChain, .getSet, .getRule) in `family`'s `table`; nil when the table does not exist.
    func dump(_ kind: NFTNetlink.Kind, family: UInt8, table: String) throws -> [NFTNetlink.Message]? {
        try request(kind: kind, family: family, dump: true, attributes: [(1, Self.string(table))])
    }

    /// Whether `family`'s `table` exists (NFT_MSG_GETTABLE).
    func tableExists(family: UInt8, table: String) throws -> Bool {
        try request(kind: .getTable, family: family, dump: false, attributes: [(1, Self.string(table))]) != nil
    }

    /// The elements of one set.
    func elements(family: UInt8, table: String, set: String) throws -> [NFTNetlink.Message]? {
        try request(kind: .getSetElem, family: family, dump: true, attributes: [(1, Self.string(table)), (2, Self.string(set))])
    }

    private static func string(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    /// Sends one request and collects the answer (until NLMSG_DONE for dumps); nil when the kernel says ENOENT.
    private func request(kind: NFTNetlink.Kind, family: UInt8, dump: Bool, attributes: [(UInt16, [UInt8])]) throws -> [NFTNetlink.Message]? {
        var body: [UInt8] = [family, 0, 0, 0]
        for (type, value) in attributes {
            body += Self.le16(UInt16(4 + value.count)) + Self.le16(type) + value
            while body.count % 4 != 0 { body.append(0) }
        }
        let flags: UInt16 = dump ? 0x301 : 0x1     // NLM_F_REQUEST | NLM_F_DUMP
        var msg = Self.le32(UInt32(16 + body.count)) + Self.le16(10 << 8 | kind.rawValue) + Self.le16(flags)
        msg += Self.le32(1) + Self.le32(0) + body
        let sent = msg.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == msg.count else { throw Failure(problem: "send: errno \(errno)") }
        var out: [NFTNetlink.Message] = []
        return try withUnsafeTemporaryAllocation(byteCount: 1 << 20, alignment: 8) { buffer throws -> [NFTNetlink.Message]? in
            while true {
                let n = recv(fd, buffer.baseAddress, buffer.count, 0)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw Failure(problem: "recv: errno \(errno)") }
                for m in try NFTNetlink.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) {
                    switch m {
                    case .done: return out
                    case .error(let e) where e == ENOENT: return nil
                    case .error(let e) where e != 0: throw Failure(problem: "\(kind): errno \(e)")
                    case .error: return out
                    default:
                        out.append(m)
                        if !dump { return out }
                    }
                }
            }
        }
    }

    private static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
    private static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xff) } }
}
