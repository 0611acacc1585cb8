import SrcipCore
import Testing
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy

@Suite struct KubeProxyNamesTests {
    @Test func sha256KnownVectors() {
        let hex = { (b: [UInt8]) in b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        #expect(hex(SHA256.digest(Array("".utf8))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(SHA256.digest(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array(String(repeating: "a", count: 1000).utf8)
        #expect(hex(SHA256.digest(long)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func base32MatchesRFC4648() {
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI======")
        #expect(Base32.encode(Array("f".utf8)) == "MY======")
    }

    @Test func iptablesNamesMatchFixture() {
        #expect(KubeProxyNames.iptablesServiceHash(servicePortName: "ns1/svc1:p80", proto: .tcp) == "XPGD46QRK7WJZT7O")
        #expect(KubeProxyNames.iptablesEndpointChain(servicePortName: "ns1/svc1:p80", proto: .tcp, endpoint: "10.180.0.1:80")
                == "KUBE-SEP-SXIVWICOYRO3J4NJ")
    }

    @Test func nftablesNamesMatchFixture() {
        #expect(KubeProxyNames.nftablesServiceBase(namespace: "ns1", name: "svc1", portName: "p80", proto: .tcp) == "ULMVA6XW-ns1/svc1/tcp/p80")
        #expect(KubeProxyNames.nftablesEndpointBase(namespace: "ns1", name: "svc1", portName: "p80", proto: .tcp,
                                                    ip: IPAddress("10.180.0.1")!, port: 80) == "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80")
    }
}
