import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// `--services FILE` given something that is not a dump: a directory, a huge file, one-line garbage, JSON of the
/// wrong shape. Each fails fast with a message that names the problem and quotes at most a short excerpt.
@Suite struct BadFileTests {
    static func withTemp<T>(_ bytes: some Sequence<UInt8>, _ body: (String) throws -> T) throws -> T {
        let path = try ServiceDiscoveryTests.tempFile("", "bad")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try body(path)
    }

    /// Runs discovery on `text`; returns the error's description and the time taken.
    static func failure(_ text: String) throws -> (message: String, seconds: Double) {
        try withTemp(Array(text.utf8)) { path in
            let clock = ContinuousClock()
            var message = ""
            let t = clock.measure {
                do {
                    _ = try ServiceDiscovery.discover(.file(path))
                } catch {
                    message = "\(error)"
                }
            }
            return (message, Double(t.components.seconds) + Double(t.components.attoseconds) / 1e18)
        }
    }

    @Test("a directory is `is a directory`")
    func directory() throws {
        let dir = FileManager.default.temporaryDirectory.path
        #expect(throws: ServiceSourceError.unreadable(file: dir, reason: "is a directory")) {
            try ServiceDiscovery.discover(.file(dir))
        }
    }

    @Test("a file over the size limit is refused without being read")
    func tooLarge() throws {
        let path = try ServiceDiscoveryTests.tempFile("", "big")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let h = try #require(FileHandle(forWritingAtPath: path))
        try h.truncate(atOffset: UInt64(InputLimits.maxFileBytes + 1))   // sparse: no disk, no time
        try h.close()
        #expect(throws: ServiceSourceError.unreadable(file: path, reason: InputLimits.tooLarge)) {
            try ServiceDiscovery.discover(.file(path))
        }
    }

    /// 50 MB on one line in every shape that used to be read (and echoed) whole.
    static let hugeLines: [(String, @Sendable () -> String)] = {
        let n = 50 << 20
        let a: @Sendable () -> String = { String(repeating: "a", count: n) }
        return [
            ("plain", { String(repeating: "x", count: n) }),
            ("iptables comment", { "*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -m comment --comment \"\(a()) cluster IP\" -p tcp -d 1.2.3.4 --dport 80 -j KUBE-SVC-X\nCOMMIT\n" }),
            ("iptables words", { "-A KUBE-SERVICES " + String(repeating: "a ", count: n / 2) }),
            ("JSON key", { "{\"" + a() }),
            ("JSON value", { "{\"items\":[{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"\(a())\"}}]}" }),
            ("JSON number", { "{\"nftables\":[{\"x\":" + String(repeating: "1", count: n) + "}]}" }),
        ]
    }()

    @Test("50 MB one-line garbage fails within a second, quoting no more than a short excerpt")
    func oneLineGarbage() throws {
        for (name, text) in Self.hugeLines {
            let (message, seconds) = try Self.failure(text())
            #expect(!message.isEmpty, "\(name) was accepted")
            #expect(message.utf8.count < 400, "\(name): message of \(message.utf8.count) bytes")
            #expect(!message.contains(String(repeating: "a", count: InputLimits.quoteCharacters + 1)))
            #expect(seconds < 1, "\(name) took \(seconds) s")
            print("PERF 50 MB \(name): \(String(format: "%.3f", seconds)) s → \(message)")
        }
    }

    @Test("quoted input in errors and warnings is cut to an excerpt")
    func excerpts() throws {
        let long = String(repeating: "z", count: 5000)
        #expect(InputLimits.excerpt(long) == String(repeating: "z", count: 80) + "… (5000 bytes)")
        #expect(InputLimits.excerpt("short") == "short")
        let e = ServiceSourceError.malformedLine(file: "f", line: 1, problem: "unexpected `\(long)`")
        #expect(e.description.utf8.count < 400)
        let text = "*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -m comment --comment \"\(long) cluster IP\" -p tcp -d 1.2.3.4 --dport 80 -j KUBE-SVC-X\nCOMMIT\n"
        #expect(throws: ServiceSourceError.self) { try IPTablesRulesParser.parse(text, file: "f") }
        do { _ = try IPTablesRulesParser.parse(text, file: "f") } catch { #expect("\(error)".utf8.count < 400) }
    }

    /// A kubectl dump with one object replaced.
    static func kubectl(_ item: String) -> Data {
        Data("{\"kind\":\"List\",\"items\":[\(item)]}".utf8)
    }

    @Test("kubectl JSON of the wrong shape is an error naming the JSON path", arguments: [
        (#"{"kind":"Service","metadata":{"namespace":"a","name":"b"},"spec":"oops"}"#, "items[0].spec", "expected an object"),
        (#"{"kind":"Service","metadata":"oops","spec":{}}"#, "items[0].metadata", "expected an object"),
        (#"{"kind":"Service","metadata":{"namespace":"a","name":"b"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":70000}]}}"#,
         "items[0].spec.ports[0].port", "not a port number"),
        (#"{"kind":"Service","metadata":{"namespace":"a","name":"b"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":1e300}]}}"#,
         "items[0].spec.ports[0].port", "expected an integer"),
        (#"{"kind":"Service","metadata":{"namespace":"a","name":"b"},"spec":{"clusterIP":"10.0.0.1"},"status":"up"}"#,
         "items[0].status", "expected an object"),
        (#"{"kind":"EndpointSlice","metadata":{"namespace":"a","labels":{"kubernetes.io/service-name":"b"}},"addressType":"IPv4","endpoints":[{"addresses":["10.1.1.1"],"conditions":"yes"}]}"#,
         "items[0].endpoints[0].conditions", "expected an object"),
    ])
    func kubectlShape(_ item: String, _ path: String, _ problem: String) {
        #expect(throws: ServiceSourceError.malformedJSON(file: "k", path: path, problem: problem)) {
            try KubernetesDumpParser.parse(Self.kubectl(item), file: "k")
        }
    }
}
