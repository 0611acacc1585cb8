import Foundation
import Glibc
import Testing
import SrcipCore
@testable import SrcipExport

/// The IPFIX writer over sockets: UDP datagrams refresh the templates, TCP sends them once per connection; and the
/// run/summary/interim lines of JSON Lines read back by kind.
@Suite struct IPFIXTransportTests {
    /// A bound loopback socket and its port.
    static func listener(_ type: Int32) throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, type, 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        try #require(withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } } == 0)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return (fd, UInt16(bigEndian: a.sin_port))
    }

    @Test func udpCollectorGetsTemplatesAgainAfterTheRefreshInterval() throws {
        let (fd, port) = try Self.listener(Int32(SOCK_DGRAM.rawValue))
        defer { close(fd) }
        var now: UInt32 = 1000
        let transport = try IPFIXSocketTransport(try #require(IPFIXCollectorAddress("udp://127.0.0.1:\(port)")))
        let w = IPFIXWriter(transport: transport, observationDomainID: 7, observationDomainName: "n1", templateRefreshSeconds: 5,
                            exportTime: { now })
        func receive() -> [UInt8] {
            var buf = [UInt8](repeating: 0, count: 65_536)
            let n = recv(fd, &buf, buf.count, 0)
            return n > 0 ? Array(buf[..<n]) : []
        }
        try w.write(Fixtures.snatRecord)
        try w.flush()
        now += 2
        try w.write(Fixtures.droppedV6)
        try w.flush()
        now += 4   // 6 s after the first templates: refreshed with the next message, even without records
        try w.flush()
        let datagrams = [receive(), receive(), receive()]
        var templateSets: [Bool] = []
        var reader = IPFIXReader()
        for d in datagrams {
            try #require(d.count >= 20, "no datagram")
            templateSets.append(d[16] == 0 && d[17] == 2)
            try reader.read(d)
        }
        #expect(templateSets == [true, false, true])
        #expect(reader.messages.allSatisfy { $0.domain == 7 } && reader.messages.map(\.sequence) == [0, 2, 3])
        #expect(reader.records.filter { $0.templateID != 258 }.count == 2)
        #expect(datagrams.allSatisfy { $0.count <= transport.maxMessageBytes })
    }

    @Test func tcpCollectorGetsOneStreamWithTemplatesFirst() throws {
        let (fd, port) = try Self.listener(Int32(SOCK_STREAM.rawValue))
        defer { close(fd) }
        #expect(listen(fd, 1) == 0)
        let w = IPFIXWriter(transport: try IPFIXSocketTransport(try #require(IPFIXCollectorAddress("tcp://127.0.0.1:\(port)"))),
                            observationDomainID: 9, exportTime: { 1 })
        let conn = accept(fd, nil, nil)
        defer { close(conn) }
        try w.write([Fixtures.snatRecord, Fixtures.dnatV6])
        try w.close()
        var all: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(conn, &buf, buf.count, 0)
            if n <= 0 { break }
            all += buf[..<n]
        }
        var reader = IPFIXReader()
        try reader.read(all)
        #expect(Set(reader.templates.keys) == [256, 257, 258])
        #expect(reader.records.filter { $0.templateID != 258 }.count == 2 && reader.messages.allSatisfy { $0.domain == 9 })
    }

    @Test func tcpCollectorThatIsNotListeningIsAnActionableError() throws {
        let (fd, port) = try Self.listener(Int32(SOCK_STREAM.rawValue))
        close(fd)   // bound, then closed: nobody listens on the port
        #expect(throws: IPFIXCollectorError.self) { try IPFIXSocketTransport(IPFIXCollectorAddress("tcp://127.0.0.1:\(port)")!) }
    }

    @Test func collectorAddressesParse() {
        #expect(IPFIXCollectorAddress("udp://127.0.0.1:4739")?.port == 4739)
        #expect(IPFIXCollectorAddress("tcp://[::1]:4739")?.host == "::1")
        #expect(IPFIXCollectorAddress("udp://collector.example:2055")?.description == "udp://collector.example:2055")
        for bad in ["127.0.0.1:4739", "sctp://h:1", "udp://h", "udp://h:0", "udp://:80", "udp://h:70000"] {
            #expect(IPFIXCollectorAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func observationDomainIsStablePerNodeAndNeverZero() {
        #expect(IPFIXEncoder.observationDomain(forNode: "node1") == IPFIXEncoder.observationDomain(forNode: "node1"))
        #expect(IPFIXEncoder.observationDomain(forNode: "node1") != IPFIXEncoder.observationDomain(forNode: "node2"))
        #expect(IPFIXEncoder.observationDomain(forNode: "") != 0)
    }

    @Test func interimRecordsAreMarkedAndEncodedAsActiveTimeout() throws {
        var interim = Fixtures.snatRecord
        interim.final = false
        interim.endReason = .activeTimeout
        var e = IPFIXEncoder(observationDomainID: 1)
        e.add(interim)
        let message = e.message(exportTime: 1)
        var reader = IPFIXReader()
        try reader.read(try #require(message))
        let r = try #require(reader.records.first { $0.templateID == 256 })
        #expect(r.uint(136) == 2 && r.uint(230) == 4)
    }

    @Test func readerSeparatesRunSummaryInterimAndFinalLines() {
        let run = TraceRunRecord(srcipVersion: "v1", node: "n", kernel: "6.18", attach: "tcx", join: "conntrack", services: "none",
                                 catalogWarnings: ["w"], interfaces: ["eth0"], commandLine: ["srcip", "trace"], activeTimeout: 60,
                                 startNs: Fixtures.t0)
        var interim = Fixtures.snatRecord
        interim.final = false
        interim.endReason = .activeTimeout
        var onlyInterim = Fixtures.dnatV6
        onlyInterim.final = false
        var final = Fixtures.snatRecord
        final.endReason = .endOfFlow
        let summary = TraceSummaryRecord(node: "n", endNs: Fixtures.t0 + 1000, flows: 1, interim: 2, counters: [("b", 2), ("a", 1)],
                                         interfacesAtStart: 1, interfacesAttachedLater: 0, interfacesRemoved: 0)
        let text = [run.jsonLine(), interim.jsonLine(), onlyInterim.jsonLine(), final.jsonLine(),
                     #"{"kind":"from-the-future","x":1}"#, summary.jsonLine()].joined(separator: "\n")
        let doc = FlowRecordReader.document(contents: text)
        #expect(doc.errors.isEmpty, "\(doc.errors)")
        #expect(doc.runs == [run] && doc.summaries == [summary] && doc.skippedLines == 1)
        #expect(doc.flows.count == 3)
        #expect(doc.records == [onlyInterim, final])   // the final record replaces the interim one; a flow killed open keeps its last
        #expect(FlowRecordReader.read(contents: text).records == doc.records)
    }
}
