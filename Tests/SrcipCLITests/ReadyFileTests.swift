import Foundation
import SrcipTestbed
import Testing

/// `srcip trace --ready-file`: the structured readiness signal a supervisor waits for instead of reading the log.
@Suite(.serialized, .privileged)
struct ReadyFileTests {
    @Test func readyFileAppearsOnceAttachedAndStaysAfterExit() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let path = NSTemporaryDirectory() + "srcip-ready-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: path + ".tmp")
        }
        let trace = try SrcipProcess(["trace", "--ready-file", path, "--services", "none", "-i", lab.routerClientIf,
                                      "-i", lab.routerServerIf, "--duration", "20"], netns: lab.router)
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: path) && trace.process.isRunning && Date() < deadline { usleep(20_000) }
        let data = try #require(FileManager.default.contents(atPath: path), "no ready file; stderr:\n\(trace.stderr)")
        // Written when recording starts: the programs are attached by then.
        #expect(try TraceCommandTests.srcipPrograms(lab, lab.routerClientIf).count == 2)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.hasSuffix("}\n") && text.split(separator: "\n").count == 1, "one JSON line: \(text)")
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(obj["pid"] as? Int == Int(trace.pid))
        #expect(obj["node"] as? String == lab.router)
        #expect(obj["interfaces"] as? [String] == [lab.routerClientIf, lab.routerServerIf])
        #expect(obj["attach"] as? String == "tcx")
        #expect(obj["join"] as? String == "conntrack")
        #expect(obj["services"] as? String == "none")
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        kill(trace.pid, SIGINT)
        #expect(trace.wait() == 0)
        #expect(trace.stderr.contains("flows written"))
        #expect(FileManager.default.fileExists(atPath: path), "srcip leaves the ready file at exit")
    }

    @Test func unwritableReadyFileIsAnErrorNamingIt() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let path = "/nonexistent-srcip-dir-\(getpid())/ready.json"
        let trace = try SrcipProcess(["trace", "--ready-file", path, "--services", "none", "--duration", "5"], netns: lab.router)
        #expect(trace.wait() != 0)
        #expect(trace.stderr.contains("cannot write /nonexistent-srcip-dir-\(getpid())/ready.json.tmp"))
    }
}
