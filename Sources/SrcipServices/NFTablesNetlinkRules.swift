import SrcipJSON

/// Turns the expressions of an nf_tables rule (as `NFTNetlink` decodes them) into the statements `nft -j` prints for
/// it, for the expressions kube-proxy's nftables mode uses: payload, meta, ct, fib, numgen, bitwise, cmp, lookup (sets,
/// maps, verdict maps, anonymous ones inline), immediate, nat, masq, reject, counter, dynset. Registers are followed
/// like nft's delinearizer does; anything else throws `Unsupported` (the caller then reads the rules with `nft`).
struct NFTRuleTranslator {
    struct Unsupported: Error, CustomStringConvertible {
        var problem: String
        var description: String { "nf_tables rule not followed: \(problem)" }
    }

    /// How the bytes compared with a register are printed.
    enum Kind: Equatable {
        case address                 // network-order IPv4/IPv6 address; `prefixBits` set by short loads and masks
        case proto                   // inet_proto
        case bigEndian               // ports and other network-order numbers
        case hostEndian              // meta mark, numgen
        case fibType, ctState
        case bytes
    }

    struct Register {
        var json: JSONValue
        var kind: Kind
        var length: Int
        var prefixBits: Int?
        var addressLength = 0
        /// The mask of a bitwise `&` whose comparison with 0 nft prints as `in` (ct state new).
        var flagMask: [UInt8]?
        var constant: [UInt8]?
    }

    let family: UInt8
    /// The sets of the table, by name: their info and elements (anonymous ones are printed inline).
    let set: (String) -> (NFTNetlink.SetInfo, [NFTNetlink.Element])?
    private var registers: [Int: Register] = [:]

    init(family: UInt8, set: @escaping (String) -> (NFTNetlink.SetInfo, [NFTNetlink.Element])?) {
        self.family = family
        self.set = set
    }

    /// The `expr` array of the rule.
    mutating func statements(_ exprs: [NFTNetlink.Expression]) throws -> [JSONValue] {
        registers = [:]
        var out: [JSONValue] = []
        for e in exprs { if let s = try statement(e) { out.append(s) } }
        return out
    }

    /// NFT_REG_1…4 are 16-byte registers over the 4-byte ones NFT_REG32_00…15: both map to a 4-byte slot index.
    static func slot(_ reg: UInt32?) throws -> Int {
        guard let reg else { throw Unsupported(problem: "expression without a register") }
        switch reg {
        case 1...4: return Int(reg - 1) * 4
        case 8...23: return Int(reg - 8)
        default: throw Unsupported(problem: "register \(reg)")
        }
    }

    private func load(_ a: NFTNetlink.Attributes, _ attr: UInt16) throws -> Register {
        let s = try Self.slot(a.u32(attr))
        guard let r = registers[s] else { throw Unsupported(problem: "register \(s) read before it was written") }
        return r
    }

    /// The registers from `slot` that make up `length` bytes (a concatenation when more than one).
    private func key(at slot: Int, length: Int) throws -> [Register] {
        var parts: [Register] = []
        var s = slot, covered = 0
        while covered < length {
            guard let r = registers[s] else { throw Unsupported(problem: "key register \(s) unset") }
            parts.append(r)
            let words = (r.length + 3) / 4
            covered += words * 4
            s += words
        }
        return parts
    }

    private static func keyJSON(_ parts: [Register]) -> JSONValue {
        parts.count == 1 ? parts[0].json : .object(["concat": .array(parts.map(\.json))])
    }

    private mutating func statement(_ e: NFTNetlink.Expression) throws -> JSONValue? {
        let a = e.attributes
        switch e.name {
        case "payload":
            guard a[5] == nil, let base = a.u32(2), let offset = a.u32(3), let len = a.u32(4) else {
                throw Unsupported(problem: "payload write or incomplete payload load")
            }
            registers[try Self.slot(a.u32(1))] = payload(base: base, offset: Int(offset), length: Int(len))
        case "meta":
            guard let key = a.u32(2), let name = Self.metaKeys[key] else { throw Unsupported(problem: "meta key \(a.u32(2) ?? 0)") }
            let json = JSONValue.object(["meta": .object(["key": .string(name)])])
            if a[3] != nil {
                return .object(["mangle": .object(["key": json, "value": try load(a, 3).json])])
            }
            let kind: Kind = key == 16 ? .proto : key == 3 ? .hostEndian : .bytes
            registers[try Self.slot(a.u32(1))] = Register(json: json, kind: kind, length: key == 16 ? 1 : 4)
        case "ct":
            guard a[4] == nil, let key = a.u32(2), let name = Self.ctKeys[key] else { throw Unsupported(problem: "ct expression") }
            registers[try Self.slot(a.u32(1))] = Register(json: .object(["ct": .object(["key": .string(name)])]),
                                                          kind: key == 0 ? .ctState : .hostEndian, length: 4)
        case "fib":
            guard let result = a.u32(2), result == 3, let flags = a.u32(3) else { throw Unsupported(problem: "fib other than type") }
            let names = [(1, "saddr"), (2, "daddr"), (4, "mark"), (8, "iif"), (16, "oif")].filter { flags & UInt32($0.0) != 0 }
            registers[try Self.slot(a.u32(1))] = Register(
                json: .object(["fib": .object(["result": .string("type"), "flags": .array(names.map { .string($0.1) })])]), kind: .fibType, length: 4)
        case "numgen":
            guard let mod = a.u32(2) else { throw Unsupported(problem: "numgen without a modulus") }
            let mode: JSONValue = .string(a.u32(3) == 1 ? "random" : "inc")
            registers[try Self.slot(a.u32(1))] = Register(
                json: .object(["numgen": .object(["mode": mode, "mod": .integer(Int64(mod)), "offset": .integer(Int64(a.u32(4) ?? 0))])]),
                kind: .hostEndian, length: 4)
        case "bitwise":
            try bitwise(a)
        case "cmp":
            let r = try load(a, 1)
            guard let op = a.u32(2), op < 6, let data = try a.nested(3)?[1] else { throw Unsupported(problem: "cmp") }
            var opName = ["==", "!=", "<", "<=", ">", ">="][Int(op)]
            var right = Self.value(data, r)
            if let mask = r.flagMask, data.allSatisfy({ $0 == 0 }), op == 1 {
                opName = "in"
                right = Self.value(mask, r)
            }
            return .object(["match": .object(["op": .string(opName), "left": r.json, "right": right])])
        case "lookup":
            return try lookup(a)
        case "immediate":
            guard let data = try a.nested(2) else { throw Unsupported(problem: "immediate without data") }
            switch try NFTNetlink.Data.decode(data) {
            case .verdict(let v): return try Self.verdict(v)
            case .value(let bytes):
                registers[try Self.slot(a.u32(1))] = Register(json: .string(""), kind: .bytes, length: bytes.count, constant: bytes)
            }
        case "nat":
            return try nat(a)
        case "masq":
            let random = (a.u32(1) ?? 0) & 0x10 != 0
            return .object(["masquerade": random ? .object(["flags": .string("fully-random")]) : .null])
        case "reject":
            return try reject(a)
        case "counter":
            return .object(["counter": .object([:])])
        case "dynset":
            guard let set = a.string(1), let op = a.u32(3), op < 3, a[5] == nil else { throw Unsupported(problem: "dynset") }
            let r = try load(a, 4)
            return .object(["set": .object(["op": .string(["add", "update", "delete"][Int(op)]), "elem": r.json, "set": .string("@" + set)])])
        default:
            throw Unsupported(problem: "expression \(e.name)")
        }
        return nil
    }

    private func payload(base: UInt32, offset: Int, length: Int) -> Register {
        let v6 = family == 10
        let (saddr, daddr, alen) = v6 ? (8, 24, 16) : (12, 16, 4)
        if base == 1, offset == saddr || offset == daddr, length <= alen {
            let field = offset == saddr ? "saddr" : "daddr"
            return Register(json: .object(["payload": .object(["protocol": .string(v6 ? "ip6" : "ip"), "field": .string(field)])]),
                            kind: .address, length: length, prefixBits: length < alen ? length * 8 : nil, addressLength: alen)
        }
        if base == 2, length == 2, offset == 0 || offset == 2 {
            return Register(json: .object(["payload": .object(["protocol": .string("th"), "field": .string(offset == 0 ? "sport" : "dport")])]),
                            kind: .bigEndian, length: 2)
        }
        let baseName = ["ll", "nh", "th", "ih"][min(Int(base), 3)]
        return Register(json: .object(["payload": .object(["base": .string(baseName), "offset": .integer(Int64(offset * 8)),
                                                           "len": .integer(Int64(length * 8))])]), kind: .bigEndian, length: length)
    }

    private mutating func bitwise(_ a: NFTNetlink.Attributes) throws {
        var r = try load(a, 1)
        guard (a.u32(6) ?? 0) == 0, let mask = try a.nested(4)?[1], let xor = try a.nested(5)?[1] else {
            throw Unsupported(problem: "bitwise shift or incomplete mask")
        }
        let zeroXor = xor.allSatisfy { $0 == 0 }
        if r.kind == .address, zeroXor {
            // A prefix: leading ones then zeros.
            let bits = mask.reduce(into: [Bool]()) { out, byte in for i in (0..<8).reversed() { out.append(byte >> i & 1 == 1) } }
            let ones = bits.prefix { $0 }.count
            guard !bits.dropFirst(ones).contains(true) else { throw Unsupported(problem: "address mask is not a prefix") }
            r.prefixBits = ones
        } else if zeroXor, r.kind == .ctState || r.kind == .hostEndian || r.kind == .bigEndian {
            if r.kind == .ctState { r.flagMask = mask } else {
                r.json = .object(["&": .array([r.json, Self.value(mask, r)])])
            }
        } else if r.kind == .hostEndian || r.kind == .bigEndian {
            let allOnes = mask.allSatisfy { $0 == 0xff }
            let inverse = zip(mask, xor).allSatisfy { $0 == ~$1 }
            let op = allOnes ? "^" : inverse ? "|" : ""
            guard !op.isEmpty else { throw Unsupported(problem: "bitwise mask and xor") }
            r.json = .object([op: .array([r.json, Self.value(xor, r)])])
        } else {
            throw Unsupported(problem: "bitwise on \(r.kind)")
        }
        registers[try Self.slot(a.u32(2))] = r
    }

    private mutating func lookup(_ a: NFTNetlink.Attributes) throws -> JSONValue {
        guard let name = a.string(1) else { throw Unsupported(problem: "lookup without a set name") }
        guard let (info, elements) = set(name) else { throw Unsupported(problem: "lookup in unknown set \(name)") }
        let parts = try key(at: try Self.slot(a.u32(2)), length: Int(info.keyLength))
        var right: JSONValue = .string("@" + name)
        if info.isAnonymous { right = .object(["set": .array(try NFTSetRendering.elements(info, elements, kinds: parts))]) }
        let key = Self.keyJSON(parts)
        if let dreg = a.u32(3) {
            guard dreg == 0 else { throw Unsupported(problem: "map lookup into a data register") }
            if case .object(let o) = right, let set = o["set"] { right = .object(["set": set]) }
            return .object(["vmap": .object(["key": key, "data": right])])
        }
        let inverted = (a.u32(5) ?? 0) & 1 != 0
        return .object(["match": .object(["op": .string(inverted ? "!=" : "=="), "left": key, "right": right])])
    }

    private func nat(_ a: NFTNetlink.Attributes) throws -> JSONValue {
        guard let type = a.u32(1), type <= 1 else { throw Unsupported(problem: "nat type") }
        var body: [String: JSONValue] = [:]
        if a[3] != nil {
            guard let c = try load(a, 3).constant, let ip = NFTSetRendering.address(c) else { throw Unsupported(problem: "nat address not constant") }
            body["addr"] = .string(ip)
        }
        if a[5] != nil {
            guard let c = try load(a, 5).constant, c.count >= 2 else { throw Unsupported(problem: "nat port not constant") }
            body["port"] = .integer(Int64(c[0]) << 8 | Int64(c[1]))
        }
        return .object([type == 1 ? "dnat" : "snat": .object(body)])
    }

    /// `reject` alone is ICMP port unreachable (ICMPv6 in ip6), printed as nft does; other kinds by number.
    private func reject(_ a: NFTNetlink.Attributes) throws -> JSONValue {
        guard let type = a.u32(1) else { throw Unsupported(problem: "reject without a type") }
        let code = Int64(a[2]?.first ?? 0)
        let portUnreachable: Int64 = family == 10 ? 4 : 3
        if type == 0, code == portUnreachable {
            return .object(["reject": .object(["type": .string(family == 10 ? "icmpv6" : "icmp"), "expr": .string("port-unreachable")])])
        }
        return .object(["reject": .object(["type": .integer(Int64(type)), "expr": .integer(code)])])
    }

    static func verdict(_ v: NFTNetlink.Verdict) throws -> JSONValue {
        switch v {
        case .drop: return .object(["drop": .null])
        case .accept: return .object(["accept": .null])
        case .continue: return .object(["continue": .null])
        case .return: return .object(["return": .null])
        case .jump(let c): return .object(["jump": .object(["target": .string(c)])])
        case .goto(let c): return .object(["goto": .object(["target": .string(c)])])
        case .break, .other: throw Unsupported(problem: "verdict \(v)")
        }
    }

    /// `bytes` printed as a value of what `r` holds.
    static func value(_ bytes: [UInt8], _ r: Register) -> JSONValue {
        switch r.kind {
        case .address:
            var full = bytes + [UInt8](repeating: 0, count: max(0, r.addressLength - bytes.count))
            full = Array(full.prefix(r.addressLength))
            let addr = NFTSetRendering.address(full) ?? ""
            if let bits = r.prefixBits, bits < r.addressLength * 8 {
                return .object(["prefix": .object(["addr": .string(addr), "len": .integer(Int64(bits))])])
            }
            return .string(addr)
        case .proto: return NFTSetRendering.proto(bytes.first ?? 0)
        case .fibType: return .string(bytes.first == 2 ? "local" : "type\(bytes.first ?? 0)")
        case .ctState:
            let v = hostInt(bytes)
            let names = [(1, "invalid"), (2, "established"), (4, "related"), (8, "new"), (64, "untracked")].filter { v & $0.0 != 0 }
            return names.count == 1 ? .string(names[0].1) : .array(names.map { .string($0.1) })
        case .hostEndian: return .integer(Int64(hostInt(bytes)))
        case .bigEndian, .bytes: return .integer(Int64(bytes.prefix(8).reduce(0) { $0 << 8 | Int($1) }))
        }
    }

    static func hostInt(_ b: [UInt8]) -> Int { b.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) } }

    static let metaKeys: [UInt32: String] = [0: "length", 1: "protocol", 2: "priority", 3: "mark", 4: "iif", 5: "oif",
                                             6: "iifname", 7: "oifname", 15: "nfproto", 16: "l4proto"]
    static let ctKeys: [UInt32: String] = [0: "state", 1: "direction", 2: "status", 3: "mark"]
}
