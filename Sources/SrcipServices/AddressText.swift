import SrcipCore

/// Address forms found in rule dumps.
enum AddressText {
    /// `172.30.0.41`, `172.30.0.41/32`, `fd00::1/128`: one host; nil for a wider prefix or junk.
    static func host(_ s: some StringProtocol) -> IPAddress? {
        guard let p = IPPrefix(s) else { return nil }
        return p.length == (p.address.isIPv4 ? 32 : 128) ? p.address : nil
    }

    /// `10.180.0.1:80` or `[fd00::1]:80` (a DNAT target).
    static func hostPort(_ s: some StringProtocol) -> (IPAddress, UInt16)? {
        let str = String(s)
        if str.hasPrefix("[") {
            guard let close = str.firstIndex(of: "]") else { return nil }
            let ip = str[str.index(after: str.startIndex)..<close]
            let rest = str[str.index(after: close)...]
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()), let addr = IPAddress(ip) else { return nil }
            return (addr, port)
        }
        guard let colon = str.lastIndex(of: ":"), let port = UInt16(str[str.index(after: colon)...]),
              let addr = IPAddress(str[..<colon]), addr.isIPv4 else { return nil }
        return (addr, port)
    }

    /// A port number in 1...65535.
    static func port(_ s: some StringProtocol) -> UInt16? {
        guard let p = UInt16(s), p > 0 else { return nil }
        return p
    }
}
