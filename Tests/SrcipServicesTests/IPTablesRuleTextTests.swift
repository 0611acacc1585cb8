import Testing
@testable import SrcipServices

/// NEWRULE messages captured from `iptables-nft-restore --noflush` (iptables-nft 1.8.9) and what `iptables -t nat -S
/// KUBE-SERVICES` printed for them: `IPTablesRuleText` must print the cluster-IP form exactly and refuse the rest.
@Suite struct IPTablesRuleTextTests {
    static let captured: [(expected: String?, hex: String)] = [
        (#"KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns/s1:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-AAAA"#,
         """
            ec020000060a000c03000000c908000002000006080001006e617400120002004b5542452d53455256494345530000000c00
            03000000000000000006b002040024000100090001006d657461000000001400020008000200000000100800010000000001
            2c00010008000100636d700020000200080001000000000108000200000000000c0003000500010006000000340001000c00
            01007061796c6f6164002400020008000100000000010800020000000001080003000000001008000400000000042c000100
            08000100636d700020000200080001000000000108000200000000000c000300080001000a60000a2c0101000a0001006d61
            7463680000001c0102000c000100636f6d6d656e74000800020000000000040103006e732f73313a6874747020636c757374
            6572204950000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            00000000000000000000000000000000000000000000000000000000000000000000000000000000340001000c0001007061
            796c6f6164002400020008000100000000010800020000000002080003000000000208000400000000022c00010008000100
            636d700020000200080001000000000108000200000000000c00030006000100005000002c0001000c000100636f756e7465
            72001c0002000c00010000000000000000000c0002000000000000000000440001000e000100696d6d656469617465000000
            300002000800010000000000240002002000020008000100fffffffd120002004b5542452d5356432d41414141000000
            """),
        (#"KUBE-SERVICES -d 10.96.0.12/32 -p udp -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m udp --dport 5353 -j KUBE-SVC-AAAA"#,
         """
            f8020000060a000c04000000c908000002000006080001006e617400120002004b5542452d53455256494345530000000c00
            030000000000000000070c0006000000000000000006b002040024000100090001006d657461000000001400020008000200
            0000001008000100000000012c00010008000100636d700020000200080001000000000108000200000000000c0003000500
            010011000000340001000c0001007061796c6f61640024000200080001000000000108000200000000010800030000000010
            08000400000000042c00010008000100636d700020000200080001000000000108000200000000000c000300080001000a60
            000c2c0101000a0001006d617463680000001c0102000c000100636f6d6d656e74000800020000000000040103006b756265
            2d73797374656d2f6b7562652d646e733a646e732d74637020636c7573746572204950000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000340001000c0001007061796c6f6164002400020008000100000000010800020000000002080003000000000208000400
            000000022c00010008000100636d700020000200080001000000000108000200000000000c0003000600010014e900002c00
            01000c000100636f756e746572001c0002000c00010000000000000000000c0002000000000000000000440001000e000100
            696d6d656469617465000000300002000800010000000000240002002000020008000100fffffffd120002004b5542452d53
            56432d41414141000000
            """),
        (#"KUBE-SERVICES -d 10.96.0.11/32 -p udp -m comment --comment "ns/s2 cluster IP" -m udp --dport 53 -j KUBE-SVC-AAAA"#,
         """
            f8020000060a000c05000000c908000002000006080001006e617400120002004b5542452d53455256494345530000000c00
            030000000000000000080c0006000000000000000007b002040024000100090001006d657461000000001400020008000200
            0000001008000100000000012c00010008000100636d700020000200080001000000000108000200000000000c0003000500
            010011000000340001000c0001007061796c6f61640024000200080001000000000108000200000000010800030000000010
            08000400000000042c00010008000100636d700020000200080001000000000108000200000000000c000300080001000a60
            000b2c0101000a0001006d617463680000001c0102000c000100636f6d6d656e74000800020000000000040103006e732f73
            3220636c75737465722049500000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000340001000c0001007061796c6f6164002400020008000100000000010800020000000002080003000000000208000400
            000000022c00010008000100636d700020000200080001000000000108000200000000000c00030006000100003500002c00
            01000c000100636f756e746572001c0002000c00010000000000000000000c0002000000000000000000440001000e000100
            696d6d656469617465000000300002000800010000000000240002002000020008000100fffffffd120002004b5542452d53
            56432d41414141000000
            """),
        (nil,
         """
            14020000060a000c06000000c908000002000006080001006e617400120002004b5542452d53455256494345530000000c00
            03000000000000000009d80104002c0101000a0001006d617463680000001c0102000c000100636f6d6d656e740008000200
            00000000040103006b756265726e657465732073657276696365206e6f6465706f7274733b204e4f54453a2074686973206d
            75737420626520746865206c6173742072756c6520696e207468697320636861696e00000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
            0000000000000000000000000000380001000a0001006d61746368000000280002000d000100616464727479706500000000
            08000200000000010c00030000000400000000002c0001000c000100636f756e746572001c0002000c000100000000000000
            00000c0002000000000000000000440001000e000100696d6d65646961746500000030000200080001000000000024000200
            2000020008000100fffffffd130002004b5542452d4e4f4445504f5254530000
            """),
    ]

    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8.filter { $0 != 10 && $0 != 32 })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
    }

    @Test func capturedRulesPrintAsIPTablesDoes() throws {
        for (expected, hex) in Self.captured {
            #expect(IPTablesRuleText.text(ofNewRule: Self.bytes(hex)) == expected)
        }
    }

    @Test func keysIgnoreCountersButNotValues() throws {
        let message = Self.bytes(Self.captured[0].hex)
        let key = message.withUnsafeBytes { IPTablesRuleLog.key(UnsafeRawBufferPointer(rebasing: $0[20...])) }
        // Another address (10.96.0.10 → 10.96.0.99) is another key.
        var other = message
        let at = try #require(other.indices.dropLast(3).first { Array(other[$0..<($0 + 4)]) == [10, 96, 0, 10] })
        other[at + 3] = 99
        let otherKey = other.withUnsafeBytes { IPTablesRuleLog.key(UnsafeRawBufferPointer(rebasing: $0[20...])) }
        #expect(key != otherKey)
        #expect(IPTablesRuleText.text(ofNewRule: other)?.contains("-d 10.96.0.99/32") == true)
        // Counter values (a DELRULE carries the rule's) are not part of the key.
        var counted = message
        let counter = try #require(counted.indices.dropLast(8).first { Array(counted[$0..<($0 + 8)]) == Array("counter\0".utf8) })
        #expect(counted[counter + 8 + 4 + 4 + 4 + 7] == 0)
        counted[counter + 8 + 4 + 4 + 4 + 7] = 42
        #expect(counted.withUnsafeBytes { IPTablesRuleLog.key(UnsafeRawBufferPointer(rebasing: $0[20...])) } == key)
        // A damaged message prints nothing.
        #expect(IPTablesRuleText.text(ofNewRule: Array(message.prefix(60))) == nil)
    }

    @Test func perServiceChainRulesPrintAsIPTablesDoes() {
        for (expected, hex) in IPTablesRuleCaptures.perServiceChains {
            #expect(IPTablesRuleText.text(ofNewRule: IPTablesRuleCaptures.bytes(hex)) == expected)
        }
    }

    /// The byte at `needle`'s offset + `shift` in `message`, changed by `change`.
    static func changed(_ message: [UInt8], at needle: [UInt8], shift: Int, _ change: (inout UInt8) -> Void) throws -> [UInt8] {
        var m = message
        let at = try #require(m.indices.dropLast(needle.count).first { Array(m[$0..<($0 + needle.count)]) == needle })
        change(&m[at + shift])
        return m
    }

    @Test func optionsNotPrintedAreRefused() throws {
        let rules = IPTablesRuleCaptures.perServiceChains.map { IPTablesRuleCaptures.bytes($0.hex) }
        // statistic: the XT_STATISTIC_INVERT flag (after "statistic\0" + pad, revision and the info's header: mode u16).
        let statistic = Array("statistic\0".utf8)
        let inverted = try Self.changed(rules[2], at: statistic, shift: 12 + 8 + 4 + 2) { $0 = 1 }
        #expect(IPTablesRuleText.text(ofNewRule: rules[2]) != nil && IPTablesRuleText.text(ofNewRule: inverted) == nil)
        // DNAT: a range of addresses (max_addr's last byte) or NF_NAT_RANGE_PROTO_RANDOM (flags bit 2).
        let dnat = rules[6], info = Array("DNAT\0".utf8)
        #expect(IPTablesRuleText.text(ofNewRule: dnat) != nil)
        #expect(try IPTablesRuleText.text(ofNewRule: Self.changed(dnat, at: info, shift: 8 + 8 + 4 + 4 + 19) { $0 += 1 }) == nil)
        #expect(try IPTablesRuleText.text(ofNewRule: Self.changed(dnat, at: info, shift: 8 + 8 + 4) { $0 |= 4 }) == nil)
        // `! -s` with another operator than eq/neq (cmp lt): NFTA_CMP_OP 1 (neq), then the NFTA_CMP_DATA nest.
        let masq = rules[1], neq: [UInt8] = [8, 0, 2, 0, 0, 0, 0, 1, 12, 0, 3, 0]
        #expect(try IPTablesRuleText.text(ofNewRule: Self.changed(masq, at: neq, shift: 7) { $0 = 2 }) == nil)
    }

    @Test func probabilitiesAndCommentsAsIPTablesSavesThem() {
        // libxt_statistic: printf("%.11f", probability / 2^31); kube-proxy's 1/3 is stored as 0x2aaaaaab.
        #expect(IPTablesXTInfo.fixed11(Double(0x2aaa_aaab) / 2_147_483_648) == "0.33333333349")
        #expect(IPTablesXTInfo.fixed11(Double(0x0ccc_cccd) / 2_147_483_648) == "0.10000000009")
        #expect(IPTablesXTInfo.fixed11(1) == "1.00000000000")
        // xtables_save_string: bare for [A-Za-z0-9_-] only.
        #expect(IPTablesXTInfo.saveString("plain_word-1") == "plain_word-1")
        #expect(IPTablesXTInfo.saveString("ns/s1:http") == "\"ns/s1:http\"")
        #expect(IPTablesXTInfo.saveString("a -> b") == "\"a -> b\"")
        #expect(IPTablesXTInfo.saveString("quote's") == nil && IPTablesXTInfo.saveString("") == nil && IPTablesXTInfo.saveString("é") == nil)
    }

    /// A NEWCHAIN message as the kernel sends it (nfgenmsg family 2, NFTA_CHAIN_TABLE "nat", NFTA_CHAIN_NAME), with
    /// the request's flags: NLM_F_EXCL when iptables-nft created the chain, none when it renamed one.
    static func newChain(_ name: String, exclusive: Bool = true) -> [UInt8] {
        func attribute(_ type: UInt16, _ s: String) -> [UInt8] {
            let payload = Array(s.utf8) + [0]
            var a = withUnsafeBytes(of: UInt16(4 + payload.count)) { Array($0) } + withUnsafeBytes(of: type) { Array($0) } + payload
            while a.count % 4 != 0 { a.append(0) }
            return a
        }
        let body: [UInt8] = [2, 0, 0, 0] + attribute(1, "nat") + attribute(3, name)
        return withUnsafeBytes(of: UInt32(16 + body.count)) { Array($0) } + withUnsafeBytes(of: UInt16(10 << 8 | 3)) { Array($0) }
            + [0, exclusive ? 0x2 : 0] + [UInt8](repeating: 0, count: 8) + body
    }

    @Test func createdChainIsAppliedFromItsMessages() throws {
        let chain = "KUBE-SVC-ABCDEFGHIJKLMNOP"
        let rules = IPTablesRuleCaptures.perServiceChains.filter { $0.expected.hasPrefix(chain + " ") }
        #expect(rules.count == 4)
        var family = try IPTablesModel.Family(save: "iptables-save", text: "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\nCOMMIT\n")
        var log = IPTablesRuleLog()
        (Self.newChain(chain) + rules.flatMap { IPTablesRuleCaptures.bytes($0.hex) }).withUnsafeBytes { log.feed($0) }
        let object = NFTablesChanges.Object(family: NFTablesChanges.familyIPv4, table: "nat", name: chain)
        let entry = try #require(log.chains[object])
        #expect(entry.created && entry.simple && entry.added.count == 4)
        #expect(family.replay(object, log: entry) == .changed)
        #expect(family.sets[0]["nat"]?.chains[chain] != nil)
        #expect(family.sets[0]["nat"]?.rules(chain).map(\.text) == rules.map(\.expected))
        #expect(family.keys["nat/" + chain] == entry.added.map(\.key) && family.translatedRules == 4)
        // Created again while the tables have it (a NEWCHAIN that updated it): listed, not applied.
        #expect(family.replay(object, log: entry) == nil)
        // A chain created after other messages for it is not followed.
        var late = IPTablesRuleLog()
        (rules.flatMap { IPTablesRuleCaptures.bytes($0.hex) } + Self.newChain(chain)).withUnsafeBytes { late.feed($0) }
        #expect(late.chains[object]?.simple == false)
        // A chain renamed to this name (NEWCHAIN without NLM_F_EXCL, its rules not sent again) is not followed.
        var renamed = IPTablesRuleLog()
        Self.newChain(chain, exclusive: false).withUnsafeBytes { renamed.feed($0) }
        #expect(renamed.chains[object]?.simple == false && renamed.chains[object]?.created == false)
    }
}
