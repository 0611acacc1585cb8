import SrcipCore
#if canImport(Glibc)
import Glibc
#endif

/// IPFIX Information Elements srcip exports (IANA registry; NAT elements from RFC 8158).
public enum IPFIXElement {
    public static let octetDeltaCount: UInt16 = 1
    public static let packetDeltaCount: UInt16 = 2
    public static let protocolIdentifier: UInt16 = 4
    public static let sourceTransportPort: UInt16 = 7
    public static let sourceIPv4Address: UInt16 = 8
    public static let destinationTransportPort: UInt16 = 11
    public static let destinationIPv4Address: UInt16 = 12
    public static let sourceIPv6Address: UInt16 = 27
    public static let destinationIPv6Address: UInt16 = 28
    public static let flowStartMilliseconds: UInt16 = 152
    public static let flowEndMilliseconds: UInt16 = 153
    public static let postNATSourceIPv4Address: UInt16 = 225
    public static let postNATDestinationIPv4Address: UInt16 = 226
    public static let postNAPTSourceTransportPort: UInt16 = 227
    public static let postNAPTDestinationTransportPort: UInt16 = 228
    public static let natEvent: UInt16 = 230
    public static let postNATSourceIPv6Address: UInt16 = 281
    public static let postNATDestinationIPv6Address: UInt16 = 282
    /// RFC 5103 reverse elements: the same ids with the enterprise bit and this Private Enterprise Number.
    public static let reversePEN: UInt32 = 29305
}

/// RFC 8158 natEvent values used by srcip.
public enum NATEvent: UInt8 {
    /// No translation was observed for the flow.
    case none = 0
    /// NAT44 session delete: the flow (a conntrack session) ended. RFC 8158 defines no NAT66 event, so
    /// srcip uses the same value for IPv6 flows translated by kube-proxy (NAT66).
    case nat44SessionDelete = 5
}

/// One field of an IPFIX template.
public struct IPFIXField: Hashable, Sendable {
    public var id: UInt16
    public var length: UInt16
    public var enterprise: UInt32?
}

/// Encodes flow records as IPFIX (RFC 7011) messages: a template set for IPv4 (id 256) and IPv6 (id 257)
/// records, then data sets. Reply counters are RFC 5103 reverse elements.
public struct IPFIXEncoder {
    public static let ipv4TemplateID: UInt16 = 256
    public static let ipv6TemplateID: UInt16 = 257

    public static func template(ipv6: Bool) -> [IPFIXField] {
        typealias E = IPFIXElement
        let a: UInt16 = ipv6 ? 16 : 4
        return [
            IPFIXField(id: ipv6 ? E.sourceIPv6Address : E.sourceIPv4Address, length: a),
            IPFIXField(id: ipv6 ? E.destinationIPv6Address : E.destinationIPv4Address, length: a),
            IPFIXField(id: E.sourceTransportPort, length: 2),
            IPFIXField(id: E.destinationTransportPort, length: 2),
            IPFIXField(id: E.protocolIdentifier, length: 1),
            IPFIXField(id: E.flowStartMilliseconds, length: 8),
            IPFIXField(id: E.flowEndMilliseconds, length: 8),
            IPFIXField(id: E.packetDeltaCount, length: 8),
            IPFIXField(id: E.octetDeltaCount, length: 8),
            IPFIXField(id: E.packetDeltaCount, length: 8, enterprise: E.reversePEN),
            IPFIXField(id: E.octetDeltaCount, length: 8, enterprise: E.reversePEN),
            IPFIXField(id: ipv6 ? E.postNATSourceIPv6Address : E.postNATSourceIPv4Address, length: a),
            IPFIXField(id: ipv6 ? E.postNATDestinationIPv6Address : E.postNATDestinationIPv4Address, length: a),
            IPFIXField(id: E.postNAPTSourceTransportPort, length: 2),
            IPFIXField(id: E.postNAPTDestinationTransportPort, length: 2),
            IPFIXField(id: E.natEvent, length: 1),
        ]
    }

    public let observationDomainID: UInt32
    /// Data records exported before the next message (RFC 7011 sequence number).
    public private(set) var sequence: UInt32 = 0
    private var sentTemplates = false

    /// The next message carries the templates again (a reader starting at a new file needs them).
    public mutating func resendTemplates() { sentTemplates = false }
    private var v4: [UInt8] = []
    private var v6: [UInt8] = []
    private var pending = 0

    public init(observationDomainID: UInt32) {
        self.observationDomainID = observationDomainID
    }

    /// Bytes of data records waiting for `message`.
    public var pendingBytes: Int { v4.count + v6.count }

    public mutating func add(_ r: FlowRecord) {
        let ipv6 = !r.original.src.isIPv4
        var b: [UInt8] = []
        b.reserveCapacity(ipv6 ? 109 : 61)
        let post = r.translated ?? r.original
        b += r.original.src.bytes
        b += r.original.dst.bytes
        IPFIXEncoder.put16(r.original.srcPort, &b)
        IPFIXEncoder.put16(r.original.dstPort, &b)
        b.append(r.original.proto.rawValue)
        IPFIXEncoder.put64(UInt64(max(0, r.startNs / 1_000_000)), &b)
        IPFIXEncoder.put64(UInt64(max(0, r.endNs / 1_000_000)), &b)
        IPFIXEncoder.put64(r.packets, &b)
        IPFIXEncoder.put64(r.bytes, &b)
        IPFIXEncoder.put64(r.replyPackets, &b)
        IPFIXEncoder.put64(r.replyBytes, &b)
        b += post.src.bytes
        b += post.dst.bytes
        IPFIXEncoder.put16(post.srcPort, &b)
        IPFIXEncoder.put16(post.dstPort, &b)
        b.append((r.snat || r.dnat ? NATEvent.nat44SessionDelete : NATEvent.none).rawValue)
        if ipv6 { v6 += b } else { v4 += b }
        pending += 1
    }

    /// One IPFIX message with the templates (first message only) and all pending records; nil when nothing is pending
    /// and the templates were already sent.
    public mutating func message(exportTime: UInt32) -> [UInt8]? {
        guard pending > 0 || !sentTemplates else { return nil }
        var body: [UInt8] = []
        if !sentTemplates {
            var set: [UInt8] = []
            for (id, v6) in [(IPFIXEncoder.ipv4TemplateID, false), (IPFIXEncoder.ipv6TemplateID, true)] {
                let fields = IPFIXEncoder.template(ipv6: v6)
                IPFIXEncoder.put16(id, &set)
                IPFIXEncoder.put16(UInt16(fields.count), &set)
                for f in fields {
                    IPFIXEncoder.put16(f.enterprise == nil ? f.id : f.id | 0x8000, &set)
                    IPFIXEncoder.put16(f.length, &set)
                    if let pen = f.enterprise { IPFIXEncoder.put32(pen, &set) }
                }
            }
            IPFIXEncoder.put16(2, &body)
            IPFIXEncoder.put16(UInt16(set.count + 4), &body)
            body += set
            sentTemplates = true
        }
        for (id, data) in [(IPFIXEncoder.ipv4TemplateID, v4), (IPFIXEncoder.ipv6TemplateID, v6)] where !data.isEmpty {
            IPFIXEncoder.put16(id, &body)
            IPFIXEncoder.put16(UInt16(data.count + 4), &body)
            body += data
        }
        var msg: [UInt8] = []
        msg.reserveCapacity(body.count + 16)
        IPFIXEncoder.put16(10, &msg)
        IPFIXEncoder.put16(UInt16(body.count + 16), &msg)
        IPFIXEncoder.put32(exportTime, &msg)
        IPFIXEncoder.put32(sequence, &msg)
        IPFIXEncoder.put32(observationDomainID, &msg)
        msg += body
        sequence &+= UInt32(pending)
        pending = 0
        v4.removeAll(keepingCapacity: true)
        v6.removeAll(keepingCapacity: true)
        return msg
    }

    static func put16(_ v: UInt16, _ b: inout [UInt8]) { b.append(UInt8(v >> 8)); b.append(UInt8(v & 0xff)) }
    static func put32(_ v: UInt32, _ b: inout [UInt8]) { for s in stride(from: 24, through: 0, by: -8) { b.append(UInt8(v >> UInt32(s) & 0xff)) } }
    static func put64(_ v: UInt64, _ b: inout [UInt8]) { for s in stride(from: 56, through: 0, by: -8) { b.append(UInt8(v >> UInt64(s) & 0xff)) } }
}

/// Writes flow records to a file as a stream of IPFIX messages (RFC 7011 §10 / RFC 5655 file layout).
public final class IPFIXWriter: FlowRecordWriter {
    private let sink: FileSink
    private var encoder: IPFIXEncoder
    private let exportTime: () -> UInt32
    /// Messages stay below this size (the 16-bit length field allows 65535).
    private let maxMessageBytes = 60_000

    public init(sink: FileSink, observationDomainID: UInt32, exportTime: @escaping () -> UInt32 = IPFIXWriter.wallClockSeconds) {
        self.sink = sink
        self.encoder = IPFIXEncoder(observationDomainID: observationDomainID)
        self.exportTime = exportTime
    }

    public convenience init(path: String, observationDomainID: UInt32,
                            exportTime: @escaping () -> UInt32 = IPFIXWriter.wallClockSeconds) throws(ExportError) {
        self.init(sink: try FileSink(path: path), observationDomainID: observationDomainID, exportTime: exportTime)
    }

    public convenience init(path: String, mode: FileOpenMode, observationDomainID: UInt32,
                            exportTime: @escaping () -> UInt32 = IPFIXWriter.wallClockSeconds) throws(ExportError) {
        self.init(sink: try FileSink(path: path, mode: mode), observationDomainID: observationDomainID, exportTime: exportTime)
    }

    /// A new file starts with the templates again (sequence numbers continue).
    public func reopen() throws(ExportError) {
        try emit()
        try sink.reopen()
        encoder.resendTemplates()
    }

    public func write(_ record: FlowRecord) throws(ExportError) {
        encoder.add(record)
        if encoder.pendingBytes >= maxMessageBytes { try emit() }
    }

    /// Writes pending records as one message.
    public func flush() throws(ExportError) {
        try emit()
        try sink.flush()
    }

    public func close() throws(ExportError) {
        try emit()
        try sink.close()
    }

    private func emit() throws(ExportError) {
        if let m = encoder.message(exportTime: exportTime()) { try sink.write(m) }
    }

    public static func wallClockSeconds() -> UInt32 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt32(truncatingIfNeeded: ts.tv_sec)
    }
}
