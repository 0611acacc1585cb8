import SrcipCore
import SrcipJSON

/// Prints set and map elements (as `NFTNetlink` decodes them) the way `nft -j` does: keys by their field types
/// (addresses, protocols, ports, integers; concatenations as `{"concat": […]}`), comments as `{"elem": {"val", "comment"}}`,
/// map entries as `[key, value]`, intervals merged back into prefixes, ranges and single values, everything sorted by key.
enum NFTSetRendering {
    typealias Register = NFTRuleTranslator.Register
    typealias Unsupported = NFTRuleTranslator.Unsupported

    /// The fields of a named set's key, from nft's datatype ids (6 bits per field, the first field highest).
    static func fields(_ info: NFTNetlink.SetInfo) throws -> [Register] {
        var ids: [UInt32] = []
        var t = info.keyType
        while t != 0 {
            ids.insert(t & 0x3f, at: 0)
            t >>= 6
        }
        let single = ids.count == 1
        return try ids.map { id -> Register in
            switch id {
            case 7: return Register(json: .null, kind: .address, length: 4, addressLength: 4)
            case 8: return Register(json: .null, kind: .address, length: 16, addressLength: 16)
            case 12: return Register(json: .null, kind: .proto, length: 1)
            case 13: return Register(json: .null, kind: .bigEndian, length: 2)
            case 4 where single, 19 where single:
                // integer/mark: byte order from the set's userdata (NFTNL_UDATA_SET_KEYBYTEORDER: 1 host, 2 big endian).
                let host = id == 19 || info.userdata[0].map { NFTRuleTranslator.hostInt($0) == 1 } ?? false
                return Register(json: .null, kind: host ? .hostEndian : .bigEndian, length: Int(info.keyLength))
            default: throw Unsupported(problem: "set \(info.name) key type \(info.keyType)")
            }
        }
    }

    /// The `elem` array of a set, its key printed field by field as `kinds` says.
    static func elements(_ info: NFTNetlink.SetInfo, _ elements: [NFTNetlink.Element], kinds: [Register]) throws -> [JSONValue] {
        if info.isInterval {
            guard kinds.count == 1, kinds[0].kind == .address || kinds[0].kind == .bigEndian else {
                throw Unsupported(problem: "interval set \(info.name) of \(kinds.map(\.kind))")
            }
            return try intervals(elements, kinds[0])
        }
        let sorted = try elements.map { e in (try sortKey(e.key, kinds), e) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
        return try sorted.map { _, e in
            guard e.flags & 0x3 == 0, e.keyEnd == nil else { throw Unsupported(problem: "element flags in \(info.name)") }
            var key = try keyJSON(e.key, kinds)
            if let c = e.comment { key = .object(["elem": .object(["val": key, "comment": .string(c)])]) }
            guard info.isMap else { return key }
            switch e.data {
            case .verdict(let v)?: return .array([key, try NFTRuleTranslator.verdict(v)])
            case .value(let b)?: return .array([key, .integer(Int64(b.prefix(8).reduce(0) { $0 << 8 | Int($1) }))])
            case nil: throw Unsupported(problem: "map element without data in \(info.name)")
            }
        }
    }

    private static func split(_ key: [UInt8], _ kinds: [Register]) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var offset = 0
        for k in kinds {
            guard offset + k.length <= key.count else { throw Unsupported(problem: "key shorter than its fields") }
            out.append(Array(key[offset..<(offset + k.length)]))
            offset += (k.length + 3) / 4 * 4
        }
        guard (offset + 3) / 4 * 4 >= key.count else { throw Unsupported(problem: "key longer than its fields") }
        return out
    }

    private static func keyJSON(_ key: [UInt8], _ kinds: [Register]) throws -> JSONValue {
        let values = zip(try split(key, kinds), kinds).map { NFTRuleTranslator.value($0, $1) }
        return values.count == 1 ? values[0] : .object(["concat": .array(values)])
    }

    /// Big-endian bytes of every field: the order nft sorts elements in.
    private static func sortKey(_ key: [UInt8], _ kinds: [Register]) throws -> [UInt8] {
        zip(try split(key, kinds), kinds).flatMap { b, k in k.kind == .hostEndian ? Array(b.reversed()) : b }
    }

    /// Interval elements (a start, then an element flagged as the end holding the first value after the range) as
    /// nft prints them: a prefix when the range is one, else `{"range": [first, last]}`, a single value as itself.
    private static func intervals(_ elements: [NFTNetlink.Element], _ kind: Register) throws -> [JSONValue] {
        let sorted = elements.sorted { a, b in
            a.key.lexicographicallyPrecedes(b.key) || (a.key == b.key && a.isIntervalEnd && !b.isIntervalEnd)
        }
        var out: [JSONValue] = []
        for (i, e) in sorted.enumerated() where !e.isIntervalEnd {
            if let end = e.keyEnd {
                out.append(try range(e.key, end, kind))
                continue
            }
            var last = [UInt8](repeating: 0xff, count: e.key.count)
            if i + 1 < sorted.count, sorted[i + 1].isIntervalEnd { last = decrement(sorted[i + 1].key) }
            out.append(try range(e.key, last, kind))
        }
        return out
    }

    private static func decrement(_ b: [UInt8]) -> [UInt8] {
        var out = b
        for i in out.indices.reversed() {
            if out[i] > 0 { out[i] -= 1; return out }
            out[i] = 0xff
        }
        return out
    }

    private static func range(_ first: [UInt8], _ last: [UInt8], _ kind: Register) throws -> JSONValue {
        var r = kind
        if first == last { return NFTRuleTranslator.value(first, r) }
        // A prefix: first and last share the leading bits, then first is all zeros and last all ones.
        let bits = first.count * 8
        func bit(_ b: [UInt8], _ i: Int) -> Bool { b[i / 8] >> (7 - i % 8) & 1 == 1 }
        let common = (0..<bits).first { bit(first, $0) != bit(last, $0) } ?? bits
        if kind.kind == .address, (common..<bits).allSatisfy({ !bit(first, $0) && bit(last, $0) }) {
            r.prefixBits = common
            return NFTRuleTranslator.value(first, r)
        }
        return .object(["range": .array([NFTRuleTranslator.value(first, kind), NFTRuleTranslator.value(last, kind)])])
    }

    static func proto(_ p: UInt8) -> JSONValue {
        switch p {
        case 6: return .string("tcp")
        case 17: return .string("udp")
        case 132: return .string("sctp")
        case 1: return .string("icmp")
        case 58: return .string("ipv6-icmp")
        default: return .integer(Int64(p))
        }
    }

    static func address(_ b: [UInt8]) -> String? {
        guard b.count == 4 || b.count == 16 else { return nil }
        return IPAddress(bytes: b)?.description
    }
}
