import Foundation

/// The rule messages iptables-nft sent for the nat and filter chains since the last read, per chain, in order. A
/// `iptables-restore` of a chain flushes it (one DELRULE per rule, in chain order, each with its expressions) and
/// appends its rules (one NEWRULE each, NLM_F_APPEND, its position the rule appended before it): `IPTablesModel` applies that to the rules it keeps instead of
/// listing the chain again (`IPTablesModel.Family.replay`). Each rule is kept as its `key` (its expressions and
/// userdata, counter values zeroed: a rewritten rule equals the one it replaces) and, when added, its whole message
/// (translated to iptables text only when no kept rule has its key).
struct IPTablesRuleLog {
    static let file = "nf_tables notifications (iptables-nft)"

    struct Added {
        var key: [UInt8]
        /// The NEWRULE netlink message, header included (`NFTNetlink.decode` reads it): a slice of the buffer it came
        /// in (one copy per buffer, not one per message; a refilled KUBE-SERVICES sends thousands).
        var message: ArraySlice<UInt8>
        var handle: UInt64?
    }

    struct Chain {
        var deleted: [[UInt8]] = []
        var added: [Added] = []
        /// False when the messages were anything but deletions followed by appends, or the chain's creation followed
        /// by appends (a rule inserted at a position, a deletion after an append, the chain deleted, created after
        /// other messages): the chain is listed then.
        var simple = true
        /// The log starts with the chain's creation (NEWCHAIN with NLM_F_EXCL): its rules are the appended ones.
        var created = false
    }

    var chains: [NFTablesChanges.Object: Chain] = [:]
    /// The generation of the last commit seen (NEWGEN).
    var generation: UInt32?
    /// Set when a buffer could not be walked: nothing here can be trusted until the next full read.
    var broken = false

    mutating func reset() {
        chains = [:]
        broken = false
    }

    /// The chain the previous message was for, out of `chains` while consecutive messages name it (a flush or a
    /// refill sends thousands in a row: each is then placed by comparing bytes, without a lookup).
    private struct Open {
        var object: NFTablesChanges.Object
        var chain: Chain
        var family: UInt8
        var table: UnsafeRawBufferPointer
        var name: UnsafeRawBufferPointer
    }

    /// Takes a buffer of nf_tables notifications (as `NFTablesNotifications.drain` hands them out).
    mutating func feed(_ buffer: UnsafeRawBufferPointer) {
        var open: Open?
        var copy: [UInt8]?
        do {
            try NFTNetlink.forEachMessage(buffer) { type, flags, message in
                note(type: type, flags: flags, message, &open) {
                    if copy == nil { copy = Array(buffer) }
                    let start = message.baseAddress! - buffer.baseAddress!
                    return copy![start..<(start + message.count)]
                }
            }
        } catch {
            broken = true
        }
        if let o = open { chains[o.object] = o.chain }
    }

    /// Logs one message; `copied` returns it as a slice of a copy of its buffer.
    private mutating func note(type: UInt16, flags: UInt16, _ message: UnsafeRawBufferPointer, _ open: inout Open?,
                               copied: () -> ArraySlice<UInt8>) {
        guard type >> 8 == 10, message.count >= 20 else { return }   // NFNL_SUBSYS_NFTABLES, nlmsghdr + nfgenmsg
        let kind = type & 0xff
        let family = message[16]
        let body = UnsafeRawBufferPointer(rebasing: message[20...])
        if kind == 15 {   // NEWGEN
            if let id = NFTNetlink.attribute(1, in: body), id.count == 4 { generation = id.reduce(0) { $0 << 8 | UInt32($1) } }
            return
        }
        guard kind == 3 || kind == 5 || kind == 6 || kind == 8, family == NFTablesChanges.familyIPv4 || family == NFTablesChanges.familyIPv6,
              let table = NFTNetlink.attribute(1, in: body), let name = NFTNetlink.attribute(kind < 6 ? 3 : 2, in: body) else { return }
        if open == nil || open!.family != family || !Self.equal(open!.table, table) || !Self.equal(open!.name, name) {
            if let o = open.take() { chains[o.object] = o.chain }
            let object = NFTablesChanges.Object(family: family, table: Self.string(table), name: Self.string(name))
            guard object.table == "nat" || object.table == "filter" else { return }
            open = Open(object: object, chain: chains.removeValue(forKey: object) ?? Chain(), family: family, table: table, name: name)
        }
        switch kind {
        case 6:   // NEWRULE: appended (NLM_F_APPEND); the kernel names the rule before it (if any) as its position
            let handle = NFTNetlink.attribute(3, in: body).map(Self.u64)
            let position = NFTNetlink.attribute(6, in: body).map(Self.u64)
            if flags & 0x800 == 0 || handle == nil || (position != nil && position != open!.chain.added.last?.handle) { open!.chain.simple = false }
            if open!.chain.simple { open!.chain.added.append(Added(key: Self.key(body), message: copied(), handle: handle)) }
        case 8:   // DELRULE
            if !open!.chain.added.isEmpty { open!.chain.simple = false }
            if open!.chain.simple { open!.chain.deleted.append(Self.key(body)) }
        case 3:   // NEWCHAIN: created when the request had NLM_F_EXCL (iptables-nft's chain creation; a rename or
                  // another update is sent without it, with the new name only)
            let c = open!.chain
            if flags & 0x200 == 0 || c.created || !c.deleted.isEmpty || !c.added.isEmpty { open!.chain.simple = false } else {
                open!.chain.created = true
            }
        default:  // DELCHAIN
            open!.chain.simple = false
        }
        if !open!.chain.simple { open!.chain.deleted = []; open!.chain.added = [] }
    }

    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    private static func u64(_ b: UnsafeRawBufferPointer) -> UInt64 { b.reduce(0) { $0 << 8 | UInt64($1) } }

    private static func string(_ b: UnsafeRawBufferPointer) -> String {
        String(decoding: b.prefix { $0 != 0 }, as: UTF8.self)
    }

    private static let counterName = Array("counter\0".utf8)

    /// NFTA_RULE_EXPRESSIONS and NFTA_RULE_USERDATA of a rule message body, with every counter's values zeroed.
    static func key(_ body: UnsafeRawBufferPointer) -> [UInt8] {
        let list = NFTNetlink.attribute(4, in: body), userdata = NFTNetlink.attribute(7, in: body)
        let expressions = list?.count ?? 0
        let total = expressions + 1 + (userdata?.count ?? 0)
        var key = [UInt8](unsafeUninitializedCapacity: total) { k, count in
            if let list, expressions > 0 { UnsafeMutableRawBufferPointer(k).copyMemory(from: list) }
            k[expressions] = 0xff
            if let userdata, !userdata.isEmpty {
                UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(k)[(expressions + 1)...]).copyMemory(from: userdata)
            }
            count = total
        }
        key.withUnsafeMutableBytes { k in
            var offset = 0
            while offset + 4 <= expressions {   // NFTA_LIST_ELEM nests: NFTA_EXPR_NAME, NFTA_EXPR_DATA
                let length = Int(k.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                guard length >= 4, offset + length <= expressions else { return }
                let element = UnsafeRawBufferPointer(rebasing: k[(offset + 4)..<(offset + length)])
                if let name = NFTNetlink.attribute(1, in: element), name.count >= 8,
                   Self.counterName.withUnsafeBytes({ memcmp($0.baseAddress!, name.baseAddress!, 8) == 0 }),
                   let data = NFTNetlink.attribute(2, in: element), let base = data.baseAddress, data.count > 0 {
                    UnsafeMutableRawPointer(mutating: base).initializeMemory(as: UInt8.self, repeating: 0, count: data.count)
                }
                offset += (length + 3) & ~3
            }
        }
        return key
    }
}
