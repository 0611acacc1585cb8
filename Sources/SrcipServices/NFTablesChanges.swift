import Foundation

/// What a batch of nf_tables notifications changed, by name: the chains whose rules were added or deleted (or that
/// were created or deleted) and the sets/maps whose elements changed. `unknown` when something could not be placed
/// (a table created or deleted, an undecodable message, lost messages): only a full read is safe then.
struct NFTablesChanges: Equatable {
    /// `NFPROTO_*` family, table and chain or set name.
    struct Object: Hashable, Comparable {
        var family: UInt8
        var table: String
        var name: String
        static func < (l: Self, r: Self) -> Bool { (l.family, l.table, l.name) < (r.family, r.table, r.name) }
    }

    var chains: Set<Object> = []
    /// Chains whose last event was their deletion (a subset of `chains`).
    var deletedChains: Set<Object> = []
    var sets: Set<Object> = []
    /// Tables created or deleted.
    var tables: Set<Object> = []
    /// Lost notifications (ENOBUFS) or a message that names nothing.
    var unknown = false

    var isEmpty: Bool { chains.isEmpty && sets.isEmpty && tables.isEmpty && !unknown }

    static let familyIPv4: UInt8 = 2     // NFPROTO_IPV4
    static let familyIPv6: UInt8 = 10    // NFPROTO_IPV6

    mutating func formUnion(_ o: NFTablesChanges) {
        chains.formUnion(o.chains)
        deletedChains.subtract(o.chains)
        deletedChains.formUnion(o.deletedChains)
        sets.formUnion(o.sets)
        tables.formUnion(o.tables)
        unknown = unknown || o.unknown
    }

    /// Decodes a buffer of netlink messages from the NFNLGRP_NFTABLES group (<linux/netfilter/nf_tables.h>).
    mutating func decode(_ buffer: UnsafeRawBufferPointer) {
        var offset = 0
        var lastRule: (UInt8, UnsafeRawBufferPointer, UnsafeRawBufferPointer)?
        while offset + 20 <= buffer.count {
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let type = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
            guard length >= 20, offset + length <= buffer.count else { unknown = true; return }
            let message = UnsafeRawBufferPointer(rebasing: buffer[(offset + 16)..<(offset + length)])
            offset += (length + 3) & ~3
            // A sync sends thousands of rule messages for one chain in a row: the chain is named by the first.
            if type == 10 << 8 | 6 || type == 10 << 8 | 8, message.count >= 4 {
                let attributes = UnsafeRawBufferPointer(rebasing: message[4...])
                let name = (message[0], NFTNetlink.attribute(1, in: attributes), NFTNetlink.attribute(2, in: attributes))
                if let t = name.1, let c = name.2, let l = lastRule, l.0 == name.0, Self.equal(l.1, t), Self.equal(l.2, c) { continue }
                if let t = name.1, let c = name.2 { lastRule = (name.0, t, c) }
            }
            decodeMessage(subsystem: type >> 8, kind: type & 0xff, message)
        }
    }

    private mutating func decodeMessage(subsystem: UInt16, kind: UInt16, _ m: UnsafeRawBufferPointer) {
        guard subsystem == 10 else { return }   // NFNL_SUBSYS_NFTABLES
        let family = m[0]
        let a = Self.attributes(UnsafeRawBufferPointer(rebasing: m[4...]))
        func object(_ tableAttr: UInt16, _ nameAttr: UInt16) -> Object? {
            guard let t = a[tableAttr], let n = a[nameAttr] else { return nil }
            return Object(family: family, table: t, name: n)
        }
        switch kind {
        case 0, 2:              // NFT_MSG_NEWTABLE, DELTABLE: NFTA_TABLE_NAME
            if let t = a[1] { tables.insert(Object(family: family, table: t, name: "")) } else { unknown = true }
        case 3, 5:              // NEWCHAIN, DELCHAIN: NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME
            guard let o = object(1, 3) else { unknown = true; return }
            chains.insert(o)
            if kind == 5 { deletedChains.insert(o) } else { deletedChains.remove(o) }
        case 6, 8:              // NEWRULE, DELRULE: NFTA_RULE_TABLE, NFTA_RULE_CHAIN
            if let o = object(1, 2) { chains.insert(o) } else { unknown = true }
        case 9, 11, 12, 14:     // NEWSET, DELSET (NFTA_SET_TABLE, _NAME), NEWSETELEM, DELSETELEM (…_LIST_TABLE, _LIST_SET)
            if let o = object(1, 2) { sets.insert(o) } else { unknown = true }
        case 15:                // NEWGEN: the end of a transaction
            break
        case 18, 20, 22, 24:    // objects and flowtables: not kube-proxy's, but say so rather than guess
            if a[1] == nil { unknown = true } else { tables.insert(Object(family: family, table: a[1]!, name: "")) }
        default:
            unknown = true
        }
    }

    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    /// The string attributes (type → value without the trailing NUL) of one message.
    static func attributes(_ b: UnsafeRawBufferPointer) -> [UInt16: String] {
        var out: [UInt16: String] = [:]
        var offset = 0
        while offset + 4 <= b.count {
            let length = Int(b.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            let type = b.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) & 0x3fff
            guard length >= 4, offset + length <= b.count else { break }
            if type <= 3 {
                let bytes = UnsafeRawBufferPointer(rebasing: b[(offset + 4)..<(offset + length)])
                out[type] = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            offset += (length + 3) & ~3
        }
        return out
    }
}
