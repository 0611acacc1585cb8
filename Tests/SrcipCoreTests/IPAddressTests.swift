import Testing
@testable import SrcipCore

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("::", "::"),
        ("::1", "::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("fe80::1:0:0:1", "fe80::1:0:0:1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"),
    ])
    func parsesAndFormats(input: String, canonical: String) throws {
        let ip = try #require(IPAddress(input))
        #expect(ip.description == canonical)
        #expect(IPAddress(ip.description) == ip)
        #expect(IPAddress(bytes: ip.bytes) == ip)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-1", "01234.1.1.1", "1::2::3",
                      "1:2:3:4:5:6:7:8:9", "12345::", "g::1", ":::", "1.2.3.4/8", " 1.2.3.4"])
    func rejectsMalformed(input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func bytesAreNetworkOrder() {
        #expect(IPAddress("192.168.10.11")!.bytes == [192, 168, 10, 11])
        #expect(IPAddress("2001:db8::1")!.bytes == [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1])
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func ordersV4BeforeV6() {
        let a = IPAddress("10.0.0.2")!, b = IPAddress("10.0.0.10")!, c = IPAddress("::1")!
        #expect([c, b, a].sorted() == [a, b, c])
    }

    @Test func prefixesContainTheirAddresses() throws {
        let p = try #require(IPPrefix("10.244.0.0/16"))
        #expect(p.contains(IPAddress("10.244.3.7")!))
        #expect(!p.contains(IPAddress("10.245.0.1")!))
        #expect(!p.contains(IPAddress("::1")!))
        #expect(IPPrefix("10.244.3.7/16")?.description == "10.244.0.0/16")
        #expect(IPPrefix("0.0.0.0/0")!.contains(IPAddress("203.0.113.9")!))
        #expect(IPPrefix("2001:db8::/32")!.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!IPPrefix("2001:db8::/32")!.contains(IPAddress("2001:db9::1")!))
        #expect(IPPrefix("fd00::1/127")!.contains(IPAddress("fd00::")!))
        #expect(IPPrefix("10.0.0.1")?.length == 32)
        #expect(IPPrefix("10.0.0.0/33") == nil)
        #expect(IPPrefix("10.0.0.0/x") == nil)
    }

    /// The dotted quad written digit by digit matches the plain decimal octets, at every octet width (1–3 digits).
    @Test func formatsEveryIPv4OctetWidth() {
        var rng = SystemRandomNumberGenerator()
        let edges: [UInt32] = [0, 9, 10, 99, 100, 199, 200, 255]
        var values = edges.flatMap { a in edges.map { b in a << 24 | b << 16 | b << 8 | a } }
        values += (0..<2_000).map { _ in UInt32.random(in: .min ... .max, using: &rng) }
        for v in values {
            let octets: [UInt32] = [v >> 24, v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff]
            let expected = octets.map { String($0) }.joined(separator: ".")
            #expect(IPAddress.v4(v).description == expected)
        }
    }
}
