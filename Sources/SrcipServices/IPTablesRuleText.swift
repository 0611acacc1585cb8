/// Prints an iptables-nft rule (a NEWRULE message, decoded by `NFTNetlink`) as `iptables -S` does, for the one form
/// kube-proxy adds to KUBE-SERVICES with every Service port (`-d IP/32 -p tcp|udp -m comment --comment "…" -m tcp|udp
/// --dport N -j CHAIN`, IPv4). Anything else is nil: the caller lists the chain then (nothing is guessed).
enum IPTablesRuleText {
    /// `CHAIN -d … -j TARGET` (the words after `-A`), or nil when the rule is not of the printed form.
    static func text(ofNewRule message: [UInt8]) -> String? {
        guard let messages = try? NFTNetlink.decode(message), messages.count == 1,
              case .rule(let rule, deleted: false) = messages[0], rule.family == NFTablesChanges.familyIPv4 else { return nil }
        let e = rule.expressions
        guard e.map(\.name) == ["meta", "cmp", "payload", "cmp", "match", "payload", "cmp", "counter", "immediate"] else { return nil }
        // meta l4proto => reg 1; cmp eq reg 1 PROTO
        guard e[0].attributes.u32(2) == 16, e[0].attributes.u32(1) == 1, let proto = equal(e[1], length: 1),
              let protoName = [6: "tcp", 17: "udp"][Int(proto[0])] else { return nil }
        // payload load 4b @ network header + 16 => reg 1; cmp eq reg 1 ADDRESS
        guard load(e[2], base: 1, offset: 16, length: 4), let address = equal(e[3], length: 4) else { return nil }
        // match comment rev 0: struct xt_comment_info { char comment[256]; }
        guard e[4].attributes.string(1) == "comment", e[4].attributes.u32(2) == 0, let info = e[4].attributes[3],
              let comment = quoted(NFTNetlink.cString(info)) else { return nil }
        // payload load 2b @ transport header + 2 => reg 1; cmp eq reg 1 PORT
        guard load(e[5], base: 2, offset: 2, length: 2), let port = equal(e[6], length: 2) else { return nil }
        // immediate reg 0 jump CHAIN
        guard e[8].attributes.u32(1) == 0, let data = try? e[8].attributes.nested(2), case .verdict(.jump(let target))? = try? NFTNetlink.Data.decode(data),
              !target.isEmpty, target.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { return nil }
        let dport = Int(port[0]) << 8 | Int(port[1])
        return "\(rule.chain) -d \(address.map(String.init).joined(separator: "."))/32 -p \(protoName) -m comment --comment \(comment)"
            + " -m \(protoName) --dport \(dport) -j \(target)"
    }

    /// `payload load LENGTHb @ BASE + OFFSET => reg 1` (base 1: network header, 2: transport header).
    private static func load(_ e: NFTNetlink.Expression, base: UInt32, offset: UInt32, length: UInt32) -> Bool {
        let a = e.attributes
        return a[5] == nil && a.u32(1) == 1 && a.u32(2) == base && a.u32(3) == offset && a.u32(4) == length
    }

    /// The value of `cmp eq reg 1 VALUE` when it is `length` bytes.
    private static func equal(_ e: NFTNetlink.Expression, length: Int) -> [UInt8]? {
        let a = e.attributes
        guard e.name == "cmp", a.u32(1) == 1, a.u32(2) == 0, let nest = try? a.nested(3),
              case .value(let v)? = try? NFTNetlink.Data.decode(nest), v.count == length else { return nil }
        return v
    }

    /// A comment as iptables prints it: kube-proxy's comments have a space (so iptables quotes them); only plain
    /// characters are accepted, which iptables prints unescaped.
    private static func quoted(_ comment: String) -> String? {
        guard comment.contains(" "), comment.utf8.allSatisfy({ c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || " ./:_-".utf8.contains(c)
        }) else { return nil }
        return "\"\(comment)\""
    }
}
