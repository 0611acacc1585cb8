/// An IPv4 or IPv6 address, stored in network byte order.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(UInt32)             // host-order value, e.g. 0x0A000001 for 10.0.0.1
    case v6(UInt64, UInt64)     // high and low 64 bits, host-order values

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and an embedded IPv4 tail).
    public init?(_ text: some StringProtocol) {
        let s = String(text)
        if s.contains(":") {
            guard let v6 = IPAddress.parseV6(s) else { return nil }
            self = v6
        } else {
            guard let v4 = IPAddress.parseV4(s) else { return nil }
            self = .v4(v4)
        }
    }

    /// Builds an address from 4 or 16 bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        switch b.count {
        case 4:
            self = .v4(b.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let hi = b[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let lo = b[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(hi, lo)
        default:
            return nil
        }
    }

    public var isIPv4: Bool { if case .v4 = self { return true } else { return false } }

    /// 127.0.0.0/8 or ::1: the host itself, whichever node it is.
    public var isLoopback: Bool {
        switch self {
        case .v4(let v): return v >> 24 == 127
        case .v6(let hi, let lo): return hi == 0 && lo == 1
        }
    }

    /// The address bytes in network order (4 or 16 of them).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let v):
            return [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        case .v6(let hi, let lo):
            return (0..<8).map { UInt8(hi >> (56 - 8 * UInt64($0)) & 0xff) }
                + (0..<8).map { UInt8(lo >> (56 - 8 * UInt64($0)) & 0xff) }
        }
    }

    public var description: String {
        switch self {
        case .v4(let v):
            // Dotted quad written into the string's own storage (string interpolation cost ~4× more; every flow
            // record carries four addresses).
            return String(unsafeUninitializedCapacity: 15) { b in
                var i = 0
                for k: UInt32 in 0..<4 {
                    let shift = 24 - 8 * k
                    let octet = v >> shift & 0xff
                    if octet >= 100 { b[i] = UInt8(48 + octet / 100); i += 1 }
                    if octet >= 10 { b[i] = UInt8(48 + octet / 10 % 10); i += 1 }
                    b[i] = UInt8(48 + octet % 10)
                    i += 1
                    if shift > 0 { b[i] = UInt8(ascii: "."); i += 1 }
                }
                return i
            }
        case .v6(let hi, let lo):
            return IPAddress.formatV6(hi: hi, lo: lo)
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): return x < y
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let h1, let l1), .v6(let h2, let l2)): return (h1, l1) < (h2, l2)
        }
    }

    private static func parseV4(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let octet = UInt8(p) else { return nil }
            v = v << 8 | UInt32(octet)
        }
        return v
    }

    private static func parseV6(_ s: String) -> IPAddress? {
        var groups: [UInt16] = []
        var tail: [UInt16] = []
        let halves = IPAddress.splitDoubleColon(s)
        guard let halves else { return nil }
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ part: String, allowV4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, item) in items.enumerated() {
                if allowV4Tail, i == items.count - 1, item.contains(".") {
                    guard let v4 = parseV4(String(item)) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xffff))
                } else {
                    guard (1...4).contains(item.count), let g = UInt16(item, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        if halves.count == 2 {
            guard let head = parseGroups(halves[0], allowV4Tail: false),
                  let rest = parseGroups(halves[1], allowV4Tail: true),
                  head.count + rest.count <= 7 else { return nil }
            groups = head
            tail = rest
            groups += Array(repeating: 0, count: 8 - head.count - rest.count) + tail
        } else {
            guard let all = parseGroups(halves[0], allowV4Tail: true), all.count == 8 else { return nil }
            groups = all
        }
        let hi = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let lo = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return .v6(hi, lo)
    }

    /// Splits at `::`; nil when it occurs more than once.
    private static func splitDoubleColon(_ s: String) -> [String]? {
        let chars = Array(s.utf8)
        var splits: [Int] = []
        var i = 0
        while i + 1 < chars.count {
            if chars[i] == UInt8(ascii: ":") && chars[i + 1] == UInt8(ascii: ":") {
                splits.append(i)
                i += 2
            } else {
                i += 1
            }
        }
        guard let at = splits.first else { return [s] }
        guard splits.count == 1 else { return nil }
        return [String(decoding: chars[..<at], as: UTF8.self), String(decoding: chars[(at + 2)...], as: UTF8.self)]
    }

    private static func formatV6(hi: UInt64, lo: UInt64) -> String {
        let groups: [UInt16] = (0..<4).map { UInt16(hi >> (48 - 16 * UInt64($0)) & 0xffff) }
            + (0..<4).map { UInt16(lo >> (48 - 16 * UInt64($0)) & 0xffff) }
        // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on ties.
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ r: ArraySlice<UInt16>) -> String { r.map { String($0, radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(groups[...]) }
        return hex(groups[0..<bestStart]) + "::" + hex(groups[(bestStart + bestLen)...])
    }
}

/// An address prefix such as `10.0.0.0/8`.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let addr = parts.first.flatMap({ IPAddress($0) }) else { return nil }
        let maxLen = addr.isIPv4 ? 32 : 128
        let len: Int
        if parts.count == 2 {
            guard let l = Int(parts[1]), (0...maxLen).contains(l) else { return nil }
            len = l
        } else {
            len = maxLen
        }
        self.init(address: addr, length: len)
    }

    public init(address: IPAddress, length: Int) {
        self.address = IPPrefix.mask(address, length)
        self.length = length
    }

    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.isIPv4 == address.isIPv4 else { return false }
        return IPPrefix.mask(ip, length) == address
    }

    public var description: String { "\(address)/\(length)" }

    private static func mask(_ ip: IPAddress, _ len: Int) -> IPAddress {
        switch ip {
        case .v4(let v):
            return .v4(len == 0 ? 0 : v & ~UInt32(0) << UInt32(32 - len))
        case .v6(let hi, let lo):
            let mhi: UInt64 = len >= 64 ? ~0 : (len == 0 ? 0 : ~UInt64(0) << UInt64(64 - len))
            let mlo: UInt64 = len <= 64 ? 0 : (len >= 128 ? ~0 : ~UInt64(0) << UInt64(128 - len))
            return .v6(hi & mhi, lo & mlo)
        }
    }
}

extension IPAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let ip = IPAddress(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an IP address: \(s)")
        }
        self = ip
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension IPPrefix: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let p = IPPrefix(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an IP prefix: \(s)")
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
