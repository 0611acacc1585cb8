/// A generic decoder of nf_tables netlink messages (<linux/netfilter/nf_tables.h>): what the kernel sends to the
/// NFNLGRP_NFTABLES group on every commit, and what it answers to GET dumps. It knows the message layouts, not what
/// any table means.
///
/// API: `NFTNetlink.decode(buffer)` turns a buffer of netlink messages into `[NFTNetlink.Message]`: tables, chains,
/// rules (`Rule`: table, chain, handle, position, expressions as `(name, attributes)`, comment), sets (`SetInfo`),
/// set elements (`Element`: key bytes, interval end, data bytes or `Verdict`, comment), NEWGEN (`.generation`, the
/// end of a transaction) and netlink control messages (DONE, ERROR). Expression attributes stay raw (`Attributes`,
/// with typed accessors for `NFTA_*` numbers); `Data.decode` reads NFTA_DATA_VALUE / NFTA_DATA_VERDICT nests.
/// Malformed messages throw `NFTNetlink.DecodeError`.
enum NFTNetlink {
    /// Message types (`NFT_MSG_*`).
    enum Kind: UInt16 {
        case newTable = 0, getTable, delTable, newChain, getChain, delChain, newRule, getRule, delRule
        case newSet, getSet, delSet, newSetElem, getSetElem, delSetElem, newGen, getGen, trace
        case newObj, getObj, delObj, getObjReset, newFlowtable, getFlowtable, delFlowtable
    }

    struct DecodeError: Error, CustomStringConvertible {
        var problem: String
        var description: String { "nf_tables netlink message: \(problem)" }
    }

    /// The netlink attributes of one message or nest, in order. Types are without NLA_F_NESTED / NLA_F_NET_BYTEORDER.
    struct Attributes: Equatable, Sendable {
        var items: [(type: UInt16, value: [UInt8])]

        init(_ bytes: some Collection<UInt8>) throws(DecodeError) {
            let b = Array(bytes)
            items = []
            var offset = 0
            while offset + 4 <= b.count {
                let length = Int(b[offset]) | Int(b[offset + 1]) << 8
                let type = (UInt16(b[offset + 2]) | UInt16(b[offset + 3]) << 8) & 0x3fff
                guard length >= 4, offset + length <= b.count else { throw DecodeError(problem: "attribute overruns its message") }
                items.append((type, Array(b[(offset + 4)..<(offset + length)])))
                offset += (length + 3) & ~3
            }
        }

        static func == (l: Self, r: Self) -> Bool {
            l.items.count == r.items.count && zip(l.items, r.items).allSatisfy { $0.type == $1.type && $0.value == $1.value }
        }

        subscript(type: UInt16) -> [UInt8]? { items.first { $0.type == type }?.value }

        /// A NUL-terminated string attribute.
        func string(_ type: UInt16) -> String? {
            self[type].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }

        /// A big-endian (network order) u32, as nf_tables sends numbers.
        func u32(_ type: UInt16) -> UInt32? {
            guard let v = self[type], v.count == 4 else { return nil }
            return v.reduce(0) { $0 << 8 | UInt32($1) }
        }

        func u64(_ type: UInt16) -> UInt64? {
            guard let v = self[type], v.count == 8 else { return nil }
            return v.reduce(0) { $0 << 8 | UInt64($1) }
        }

        func nested(_ type: UInt16) throws(DecodeError) -> Attributes? {
            guard let v = self[type] else { return nil }
            return try Attributes(v)
        }

        /// The NFTA_LIST_ELEM children of a list nest.
        func list(_ type: UInt16) throws(DecodeError) -> [Attributes] {
            guard let nest = try nested(type) else { return [] }
            var out: [Attributes] = []
            for item in nest.items where item.type == 1 { out.append(try Attributes(item.value)) }
            return out
        }
    }

    /// A verdict (NFTA_VERDICT_CODE, NFTA_VERDICT_CHAIN).
    enum Verdict: Equatable, Hashable, Sendable {
        case drop, accept, `continue`, `break`, `return`
        case jump(String), goto(String)
        case other(Int32)
    }

    /// NFTA_DATA_VALUE bytes or an NFTA_DATA_VERDICT.
    enum Data: Equatable, Hashable, Sendable {
        case value([UInt8])
        case verdict(Verdict)

        static func decode(_ nest: Attributes) throws(DecodeError) -> Data {
            if let v = nest[1] { return .value(v) }
            guard let verdict = try nest.nested(2), let raw = verdict.u32(1) else {
                throw DecodeError(problem: "data nest with neither value nor verdict")
            }
            let code = Int32(bitPattern: raw)
            switch code {
            case 0: return .verdict(.drop)
            case 1: return .verdict(.accept)
            case -1: return .verdict(.continue)
            case -2: return .verdict(.break)
            case -5: return .verdict(.return)
            case -3, -4:
                guard let chain = verdict.string(2) else { throw DecodeError(problem: "jump/goto without a chain") }
                return .verdict(code == -3 ? .jump(chain) : .goto(chain))
            default: return .verdict(.other(code))
            }
        }
    }

    /// One expression of a rule: its name (`payload`, `cmp`, `lookup`, …) and its NFTA_<NAME>_* attributes.
    struct Expression: Equatable, Sendable {
        var name: String
        var attributes: Attributes
    }

    struct Rule: Equatable, Sendable {
        var family: UInt8
        var table: String
        var chain: String
        var handle: UInt64
        /// The handle of the rule before this one (sent when the rule is neither first nor last in its chain).
        var position: UInt64?
        /// NLM_F_APPEND: without a position, an added rule went to the end of its chain (else to its start).
        var appended: Bool
        var expressions: [Expression]
        /// The `comment` of the rule (NFTNL_UDATA_RULE_COMMENT in the userdata).
        var comment: String?
    }

    struct SetInfo: Equatable, Sendable {
        var family: UInt8
        var table: String
        var name: String
        /// NFT_SET_* flags: 0x1 anonymous, 0x2 constant, 0x4 interval, 0x8 map, 0x10 timeout, 0x20 eval, 0x80 concat.
        var flags: UInt32
        /// nft's datatype id of the key; concatenations pack 6 bits per field, the first field highest.
        var keyType: UInt32
        var keyLength: UInt32
        /// 0xffffff00 (NFT_DATA_VERDICT) for verdict maps.
        var dataType: UInt32?
        var dataLength: UInt32?
        var timeoutMs: UInt64?
        /// The userdata TLVs (NFTNL_UDATA_SET_*: 0 key byte order, 1 data byte order, 7 comment).
        var userdata: [UInt8: [UInt8]]

        var isAnonymous: Bool { flags & 0x1 != 0 }
        var isInterval: Bool { flags & 0x4 != 0 }
        var isMap: Bool { flags & 0x8 != 0 }
    }

    struct Element: Equatable, Hashable, Sendable {
        var key: [UInt8]
        /// NFTA_SET_ELEM_KEY_END (ranges of concatenations).
        var keyEnd: [UInt8]?
        var data: Data?
        /// NFT_SET_ELEM_INTERVAL_END (0x1), NFT_SET_ELEM_CATCHALL (0x2).
        var flags: UInt32
        var comment: String?

        var isIntervalEnd: Bool { flags & 0x1 != 0 }
    }

    enum Message: Equatable, Sendable {
        case table(family: UInt8, name: String, deleted: Bool)
        case chain(family: UInt8, table: String, name: String, deleted: Bool)
        case rule(Rule, deleted: Bool)
        case set(SetInfo, deleted: Bool)
        case elements(family: UInt8, table: String, set: String, [Element], deleted: Bool)
        /// NEWGEN: the commit that the messages before it belong to is complete; its generation id.
        case generation(UInt32)
        /// Another nf_tables message (objects, flowtables, trace).
        case other(Kind)
        /// NLMSG_DONE (end of a dump) or NLMSG_ERROR (`errno`, 0 for an acknowledgement).
        case done
        case error(errno: Int32)
        /// A message of another nfnetlink subsystem or an unknown nf_tables type.
        case foreign(type: UInt16)
    }

    /// Decodes every message of `buffer` (as received from a NETLINK_NETFILTER socket).
    static func decode(_ buffer: some Collection<UInt8>) throws(DecodeError) -> [Message] {
        let b = Array(buffer)
        var out: [Message] = []
        var offset = 0
        while offset + 16 <= b.count {
            let length = Int(le32(b, offset))
            let type = UInt16(b[offset + 4]) | UInt16(b[offset + 5]) << 8
            let flags = UInt16(b[offset + 6]) | UInt16(b[offset + 7]) << 8
            guard length >= 16, offset + length <= b.count else { throw DecodeError(problem: "message overruns its buffer") }
            out.append(try message(type: type, flags: flags, Array(b[(offset + 16)..<(offset + length)])))
            offset += (length + 3) & ~3
        }
        return out
    }

    private static func le32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    private static func message(type: UInt16, flags: UInt16, _ body: [UInt8]) throws(DecodeError) -> Message {
        switch type {
        case 3: return .done
        case 2:
            guard body.count >= 4 else { throw DecodeError(problem: "short NLMSG_ERROR") }
            return .error(errno: -Int32(bitPattern: le32(body, 0)))
        case 0..<16: return .foreign(type: type)
        default: break
        }
        guard type >> 8 == 10, let kind = Kind(rawValue: type & 0xff) else { return .foreign(type: type) }
        guard body.count >= 4 else { throw DecodeError(problem: "message without an nfgenmsg header") }
        let family = body[0]
        let a = try Attributes(body[4...])
        func need(_ s: String?, _ what: String) throws(DecodeError) -> String {
            guard let s else { throw DecodeError(problem: "\(kind) without \(what)") }
            return s
        }
        switch kind {
        case .newTable, .delTable:
            return .table(family: family, name: try need(a.string(1), "a table name"), deleted: kind == .delTable)
        case .newChain, .delChain:
            return .chain(family: family, table: try need(a.string(1), "a table"), name: try need(a.string(3), "a chain name"),
                          deleted: kind == .delChain)
        case .newRule, .delRule:
            guard let handle = a.u64(3) else { throw DecodeError(problem: "\(kind) without a handle") }
            // NLM_F_REPLACE: where the kernel put the new rule relative to the one it replaced is not followed.
            guard kind == .delRule || flags & 0x100 == 0 else { throw DecodeError(problem: "a replaced rule (NLM_F_REPLACE)") }
            var exprs: [Expression] = []
            for e in try a.list(4) {
                var attributes = try Attributes([UInt8]())
                if let nest = try e.nested(2) { attributes = nest }
                exprs.append(Expression(name: try need(e.string(1), "an expression name"), attributes: attributes))
            }
            let rule = Rule(family: family, table: try need(a.string(1), "a table"), chain: try need(a.string(2), "a chain"),
                            handle: handle, position: a.u64(6), appended: flags & 0x800 != 0, expressions: exprs,
                            comment: a[7].flatMap { userdata($0)[0] }.map(Self.cString))
            return .rule(rule, deleted: kind == .delRule)
        case .newSet, .delSet:
            let set = SetInfo(family: family, table: try need(a.string(1), "a table"), name: try need(a.string(2), "a set name"),
                              flags: a.u32(3) ?? 0, keyType: a.u32(4) ?? 0, keyLength: a.u32(5) ?? 0, dataType: a.u32(6),
                              dataLength: a.u32(7), timeoutMs: a.u64(11), userdata: a[13].map(userdata) ?? [:])
            return .set(set, deleted: kind == .delSet)
        case .newSetElem, .delSetElem:
            var elements: [Element] = []
            for e in try a.list(3) {
                let key = try e.nested(1)?[1]
                let flags = e.u32(3) ?? 0
                guard key != nil || flags & 0x2 != 0 else { throw DecodeError(problem: "set element without a key") }
                var data: Data?
                if let nest = try e.nested(2) { data = try Data.decode(nest) }
                elements.append(Element(key: key ?? [], keyEnd: try e.nested(10)?[1], data: data, flags: flags, comment: e[6].flatMap { userdata($0)[0] }.map(Self.cString)))
            }
            return .elements(family: family, table: try need(a.string(1), "a table"), set: try need(a.string(2), "a set name"),
                             elements, deleted: kind == .delSetElem)
        case .newGen:
            guard let id = a.u32(1) else { throw DecodeError(problem: "NEWGEN without an id") }
            return .generation(id)
        default:
            return .other(kind)
        }
    }

    /// Walks the messages of `buffer` without copying them (the hot path of a sync's thousands of rule messages):
    /// `body` sees each message's type, flags and whole bytes (header included, as `decode` takes them).
    static func forEachMessage(_ buffer: UnsafeRawBufferPointer, _ body: (_ type: UInt16, _ flags: UInt16, _ message: UnsafeRawBufferPointer) -> Void) throws(DecodeError) {
        var offset = 0
        while offset + 16 <= buffer.count {
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            guard length >= 16, offset + length <= buffer.count else { throw DecodeError(problem: "message overruns its buffer") }
            body(buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self), buffer.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self),
                 UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)]))
            offset += (length + 3) & ~3
        }
    }

    /// The value of the first attribute `type` among `attributes` (a message body after its nfgenmsg, or a nest), in place.
    static func attribute(_ type: UInt16, in attributes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var offset = 0
        while offset + 4 <= attributes.count {
            let length = Int(attributes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            guard length >= 4, offset + length <= attributes.count else { return nil }
            if attributes.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) & 0x3fff == type {
                return UnsafeRawBufferPointer(rebasing: attributes[(offset + 4)..<(offset + length)])
            }
            offset += (length + 3) & ~3
        }
        return nil
    }

    /// libnftnl userdata: TLVs of a one-byte type and a one-byte length.
    static func userdata(_ b: [UInt8]) -> [UInt8: [UInt8]] {
        var out: [UInt8: [UInt8]] = [:]
        var i = 0
        while i + 2 <= b.count {
            let len = Int(b[i + 1])
            guard i + 2 + len <= b.count else { break }
            out[b[i]] = Array(b[(i + 2)..<(i + 2 + len)])
            i += 2 + len
        }
        return out
    }

    static func cString(_ b: [UInt8]) -> String { String(decoding: b.prefix { $0 != 0 }, as: UTF8.self) }
}
