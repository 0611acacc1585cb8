import Foundation

/// Prints an iptables-nft rule (a NEWRULE message, decoded by `NFTNetlink`) exactly as `iptables -S` (iptables-nft
/// 1.8.9) does, for the forms kube-proxy writes into its nat chains (IPv4): addresses (`[!] -s|-d A/N`), `-p tcp|udp`,
/// the matches `comment`, `statistic --mode random`, a bare `-m tcp|udp` and a native `--dport|--sport N`, and the
/// verdicts `-j CHAIN|ACCEPT|RETURN` and `-j DNAT --to-destination A[:P]`. Anything else is nil: the caller
/// lists the chain then (nothing is guessed).
enum IPTablesRuleText {
    /// `CHAIN …` (the words after `-A`), or nil when the rule has anything not printed here.
    static func text(ofNewRule message: some Collection<UInt8>) -> String? {
        guard let messages = try? NFTNetlink.decode(message), messages.count == 1,
              case .rule(let rule, deleted: false) = messages[0], rule.family == NFTablesChanges.familyIPv4,
              rule.comment == nil, rule.chain.allSatisfy(Self.isNameCharacter) else { return nil }
        var parts = Parts()
        let e = rule.expressions
        var i = 0
        while i < e.count {
            guard let used = parts.take(e, at: i), used > 0 else { return nil }
            i += used
        }
        guard let body = parts.text else { return nil }
        return body.isEmpty ? rule.chain : rule.chain + " " + body
    }

    static func isNameCharacter(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_") }

    /// What a rule's expressions say, in the order `iptables -S` prints it.
    private struct Parts {
        var source: String?
        var destination: String?
        var proto: UInt8?
        /// `-m NAME …` clauses, in expression order (iptables-nft parses a native port into a match where it finds it).
        var matches: [String] = []
        var portMatched = false
        var counters = 0
        var target: String?

        var text: String? {
            guard counters <= 1 else { return nil }
            var words: [String] = []
            if let source { words.append(source) }
            if let destination { words.append(destination) }
            if let proto { words.append("-p " + Self.protoName(proto)!) }
            words += matches
            if let target { words.append(target) }
            return words.joined(separator: " ")
        }

        static func protoName(_ p: UInt8) -> String? { [6: "tcp", 17: "udp"][p] }

        /// Reads the clause starting at expression `i`; how many expressions it took, nil when it is not printed here.
        mutating func take(_ e: [NFTNetlink.Expression], at i: Int) -> Int? {
            guard target == nil else { return nil }   // the verdict or target is the last expression
            let a = e[i].attributes
            switch e[i].name {
            case "meta":
                // meta l4proto => reg 1; cmp eq reg 1 PROTO
                guard proto == nil, a.u32(2) == 16, a.u32(1) == 1, i + 1 < e.count,
                      let (value, inverted) = IPTablesRuleText.compare(e[i + 1], length: 1), !inverted,
                      Self.protoName(value[0]) != nil else { return nil }
                proto = value[0]
                return 2
            case "payload":
                guard a[5] == nil, a.u32(1) == 1, let base = a.u32(2), let offset = a.u32(3), let length = a.u32(4) else { return nil }
                if base == 1, offset == 12 || offset == 16 {
                    guard let (clause, used) = IPTablesRuleText.address(e, at: i, length: Int(length)) else { return nil }
                    let flag = offset == 12 ? "-s " : "-d "
                    let text = clause.inverted ? "! " + flag + clause.text : flag + clause.text
                    if offset == 12 { guard source == nil else { return nil }; source = text } else {
                        guard destination == nil else { return nil }; destination = text
                    }
                    return used
                }
                // payload load 2b @ transport header + 0|2 => reg 1; cmp eq reg 1 PORT (`-m tcp --sport|--dport N`)
                guard base == 2, offset == 0 || offset == 2, length == 2, !portMatched, let p = proto, let name = Self.protoName(p),
                      i + 1 < e.count, let (value, inverted) = IPTablesRuleText.compare(e[i + 1], length: 2), !inverted,
                      !matches.contains("-m " + name) else { return nil }
                portMatched = true
                matches.append("-m \(name) --\(offset == 0 ? "sport" : "dport") \(Int(value[0]) << 8 | Int(value[1]))")
                return 2
            case "match":
                guard let name = a.string(1), let revision = a.u32(2), let info = a[3],
                      let clause = IPTablesXTInfo.match(name: name, revision: revision, info: info) else { return nil }
                // A bare `-m tcp` after a native port would be merged into it by iptables: not printed here.
                if (name == "tcp" || name == "udp") && (portMatched || proto.flatMap(Self.protoName) != name) { return nil }
                matches.append(clause)
                return 1
            case "counter":
                counters += 1
                return 1
            case "immediate":
                // immediate reg 0 VERDICT
                guard i == e.count - 1, a.u32(1) == 0, let nest = try? a.nested(2), case .verdict(let v)? = try? NFTNetlink.Data.decode(nest)
                else { return nil }
                switch v {
                case .jump(let chain) where !chain.isEmpty && chain.allSatisfy(IPTablesRuleText.isNameCharacter): target = "-j " + chain
                case .accept: target = "-j ACCEPT"
                case .return: target = "-j RETURN"
                default: return nil
                }
                return 1
            case "target":
                guard i == e.count - 1, let name = a.string(1), let revision = a.u32(2), let info = a[3],
                      let clause = IPTablesXTInfo.target(name: name, revision: revision, info: info) else { return nil }
                target = clause
                return 1
            default:
                return nil
            }
        }
    }

    /// `[!] A/N` from `payload load LENGTHb @ network header + 12|16 => reg 1` at `i`, optionally `bitwise reg 1 =
    /// (reg 1 & MASK) ^ 0` (a prefix that is not a whole number of bytes), and `cmp eq|neq reg 1 VALUE`.
    static func address(_ e: [NFTNetlink.Expression], at i: Int, length: Int) -> (clause: (text: String, inverted: Bool), used: Int)? {
        guard (1...4).contains(length) else { return nil }
        var j = i + 1
        var prefix = length * 8
        var mask: [UInt8]?
        if j < e.count, e[j].name == "bitwise" {
            let b = e[j].attributes
            guard length == 4, b.u32(1) == 1, b.u32(2) == 1, b.u32(3) == 4, b.u32(6) ?? 0 == 0,
                  let m = try? b.nested(4), case .value(let maskBytes)? = try? NFTNetlink.Data.decode(m), maskBytes.count == 4,
                  let x = try? b.nested(5), case .value(let xor)? = try? NFTNetlink.Data.decode(x), xor == [0, 0, 0, 0] else { return nil }
            let bits = maskBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            prefix = bits.leadingZeroBitCount == 0 ? (~bits).leadingZeroBitCount : 0
            guard bits == (prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)) else { return nil }   // contiguous
            mask = maskBytes
            j += 1
        }
        guard j < e.count, let (value, inverted) = compare(e[j], length: length) else { return nil }
        if let mask { guard zip(value, mask).allSatisfy({ $0 & ~$1 == 0 }) else { return nil } }
        let address = value + [UInt8](repeating: 0, count: 4 - length)
        return ((address.map(String.init).joined(separator: ".") + "/\(prefix)", inverted), j - i + 1)
    }

    /// The value of `cmp eq|neq reg 1 VALUE` when it is `length` bytes, and whether it is `neq`.
    static func compare(_ e: NFTNetlink.Expression, length: Int) -> (value: [UInt8], inverted: Bool)? {
        let a = e.attributes
        guard e.name == "cmp", a.u32(1) == 1, let op = a.u32(2), op <= 1, let nest = try? a.nested(3),
              case .value(let v)? = try? NFTNetlink.Data.decode(nest), v.count == length else { return nil }
        return (v, op == 1)
    }
}
