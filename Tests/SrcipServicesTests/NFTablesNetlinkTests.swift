import Testing
@testable import SrcipServices

/// `NFTNetlink.decode` on messages captured from the kernel (6.18, nft 1.0.6) while `nft -f` ran, in a kube-proxy
/// table: a new chain, two rules (one with a comment), a map element with a comment and a verdict, a deleted element,
/// and the NEWGEN that ends the transaction.
@Suite struct NFTablesNetlinkTests {
    /// add chain ip kube-proxy endpoint-33333333-ns/a/tcp/p__10.0.1.7/8080
    /// add rule … ip saddr 10.0.1.7 jump mark-for-masquerade comment "c"
    /// add rule … meta l4proto tcp dnat to 10.0.1.7:8080
    /// add element ip kube-proxy no-endpoint-services { 172.30.0.44 . tcp . 80 comment "ns/d:p" : goto reject-chain }
    /// delete element ip kube-proxy service-ips { 172.30.0.1 . udp . 53 }
    static let captured: [UInt8] = hex([
        "68000000030a00040100000035450000020000030f0001006b7562652d70726f7879000030000300656e64706f696e742d33333333333333",
        "332d6e732f612f7463702f705f5f31302e302e312e372f38303830000c0002000000000000000023080006000000000214010000060a000c",
        "0200000035450000020000030f0001006b7562652d70726f7879000030000200656e64706f696e742d33333333333333332d6e732f612f74",
        "63702f705f5f31302e302e312e372f38303830000c0003000000000000000024ac000400340001000c0001007061796c6f61640024000200",
        "08000100000000010800020000000001080003000000000c08000400000000042c00010008000100636d7000200002000800010000000001",
        "08000200000000000c000300080001000a000107480001000e000100696d6d65646961746500000034000200080001000000000028000200",
        "2400020008000100fffffffd180002006d61726b2d666f722d6d61737175657261646500080007000002630054010000060a000c03000000",
        "35450000020000030f0001006b7562652d70726f7879000030000200656e64706f696e742d33333333333333332d6e732f612f7463702f70",
        "5f5f31302e302e312e372f38303830000c0003000000000000000025f400040024000100090001006d657461000000001400020008000200",
        "0000001008000100000000012c00010008000100636d700020000200080001000000000108000200000000000c0003000500010006000000",
        "2c0001000e000100696d6d6564696174650000001800020008000100000000010c000200080001000a0001072c0001000e000100696d6d65",
        "64696174650000001800020008000100000000020c000200060001001f90000048000100080001006e6174003c0002000800010000000001",
        "080002000000000208000300000000010800040000000001080005000000000208000600000000020800070000000003900000000c0a0004",
        "0000000035450000020000030f0001006b7562652d70726f78790000190002006e6f2d656e64706f696e742d736572766963657300000000",
        "500003004c0001001400010010000100ac1e002c0600000000500000240002002000020008000100fffffffc1100020072656a6563742d63",
        "6861696e000000000d00060000076e732f643a7000000000800000000e0a00000000000035450000020000030f0001006b7562652d70726f",
        "7879000010000200736572766963652d697073004c000300480001001400010010000100ac1e00011100000000350000300002002c000200",
        "08000100fffffffc20000200736572766963652d41424344454647482d6e732f612f7463702f70002c0000000f0a00000100000035450000",
        "0000000308000100000000030800020000004535080003006e667400",
    ].joined())

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test func decodesACapturedTransaction() throws {
        let m = try NFTNetlink.decode(Self.captured)
        try #require(m.count == 6)
        let chain = "endpoint-33333333-ns/a/tcp/p__10.0.1.7/8080"
        #expect(m[0] == .chain(family: 2, table: "kube-proxy", name: chain, deleted: false))
        guard case .rule(let r1, deleted: false) = m[1], case .rule(let r2, deleted: false) = m[2] else {
            Issue.record("expected two new rules, got \(m[1]) \(m[2])")
            return
        }
        #expect(r1.table == "kube-proxy" && r1.chain == chain && r1.comment == "c" && r1.appended && r1.position == nil)
        #expect(r1.expressions.map(\.name) == ["payload", "cmp", "immediate"])
        #expect(r2.expressions.map(\.name) == ["meta", "cmp", "immediate", "immediate", "nat"] && r2.comment == nil)
        #expect(r2.handle == r1.handle + 1 && r2.position == nil)
        // cmp of `ip saddr 10.0.1.7`: NFTA_CMP_DATA holds NFTA_DATA_VALUE 10.0.1.7.
        #expect(try r1.expressions[1].attributes.nested(3)?[1] == [10, 0, 1, 7])
        // immediate verdict: jump mark-for-masquerade.
        let verdict = try #require(try r1.expressions[2].attributes.nested(2))
        #expect(try NFTNetlink.Data.decode(verdict) == .verdict(.jump("mark-for-masquerade")))
        // the dnat port 8080 in network order.
        #expect(try r2.expressions[3].attributes.nested(2)?[1] == [0x1f, 0x90])
        guard case .elements(2, "kube-proxy", "no-endpoint-services", let added, deleted: false) = m[3],
              case .elements(2, "kube-proxy", "service-ips", let removed, deleted: true) = m[4] else {
            Issue.record("expected added and deleted elements, got \(m[3]) \(m[4])")
            return
        }
        #expect(added == [NFTNetlink.Element(key: [172, 30, 0, 44, 6, 0, 0, 0, 0, 80, 0, 0], keyEnd: nil,
                                             data: .verdict(.goto("reject-chain")), flags: 0, comment: "ns/d:p")])
        #expect(removed.map(\.key) == [[172, 30, 0, 1, 17, 0, 0, 0, 0, 53, 0, 0]] && removed[0].data == .verdict(.goto("service-ABCDEFGH-ns/a/tcp/p")))
        guard case .generation = m[5] else { Issue.record("expected NEWGEN, got \(m[5])"); return }
    }

    @Test func truncatedMessagesThrow() {
        #expect(throws: NFTNetlink.DecodeError.self) { try NFTNetlink.decode(Self.captured.prefix(200)) }
        var bad = Self.captured
        bad[16 + 4] = 0xff   // the first attribute's length overruns the message
        #expect(throws: NFTNetlink.DecodeError.self) { try NFTNetlink.decode(bad) }
    }

    @Test func userdataCommentsAndForeignMessages() throws {
        #expect(NFTNetlink.userdata([0, 3, 0x61, 0x62, 0, 7, 1, 0x7a]) == [0: [0x61, 0x62, 0], 7: [0x7a]])
        // A conntrack message (subsystem 1) is foreign; NLMSG_DONE is `.done`.
        let ct: [UInt8] = [20, 0, 0, 0, 0, 1, 0, 0] + [UInt8](repeating: 0, count: 12)
        let done: [UInt8] = [20, 0, 0, 0, 3, 0, 2, 0] + [UInt8](repeating: 0, count: 12)
        #expect(try NFTNetlink.decode(ct + done) == [.foreign(type: 0x100), .done])
    }
}
