import SrcipCore

/// Encodes flow records as IPFIX (RFC 7011) messages: template 256 (IPv4) and 257 (IPv6) records, an options template
/// (258) naming the observation domain, then data sets. Reply counters are RFC 5103 reverse elements.
public struct IPFIXEncoder {
    public static let ipv4TemplateID: UInt16 = 256
    public static let ipv6TemplateID: UInt16 = 257
    /// Options template: scope observationDomainId, field observationDomainName.
    public static let domainOptionsTemplateID: UInt16 = 258

    public static func template(ipv6: Bool) -> [IPFIXField] {
        typealias E = IPFIXElement
        let a: UInt16 = ipv6 ? 16 : 4
        let v = E.variableLength
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
            IPFIXField(id: E.observationTimeMilliseconds, length: 8),
            IPFIXField(id: E.flowEndReason, length: 1),
            IPFIXField(id: E.tcpControlBits, length: 2),
            IPFIXField(id: E.forwardingStatus, length: 1),
            IPFIXField(id: E.ingressInterface, length: 4),
            IPFIXField(id: E.egressInterface, length: 4),
            IPFIXField(id: E.ingressInterfaceName, length: v, enterprise: E.srcipPEN),
            IPFIXField(id: E.egressInterfaceName, length: v, enterprise: E.srcipPEN),
            IPFIXField(id: E.kubernetesService, length: v, enterprise: E.srcipPEN),
            IPFIXField(id: E.srcipVerdict, length: v, enterprise: E.srcipPEN),
            IPFIXField(id: E.snatInterfaceName, length: v, enterprise: E.srcipPEN),
        ]
    }

    public let observationDomainID: UInt32
    /// Sent in the options data record of every template refresh (the node name).
    public let observationDomainName: String
    /// Data records exported before the next message (RFC 7011 sequence number).
    public private(set) var sequence: UInt32 = 0
    private var sendTemplates = true
    /// Pending data records: template id and encoded bytes, in order.
    private var pending: [(UInt16, [UInt8])] = []
    public private(set) var pendingBytes = 0

    public init(observationDomainID: UInt32, observationDomainName: String = "") {
        self.observationDomainID = observationDomainID
        self.observationDomainName = observationDomainName
    }

    /// The next message carries the templates again (a new file, a new TCP connection, a UDP template refresh).
    public mutating func resendTemplates() { sendTemplates = true }

    /// Queues a record for the next message (a record read from an older file without an end reason gets end of flow).
    public mutating func add(_ r: FlowRecord) {
        let ipv6 = !r.original.src.isIPv4
        var b: [UInt8] = []
        b.reserveCapacity(ipv6 ? 168 : 118)
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
        b.append(IPFIXEncoder.natEvent(r).rawValue)
        IPFIXEncoder.put64(UInt64(max(0, r.endNs / 1_000_000)), &b)
        b.append((r.endReason ?? (r.final ? .endOfFlow : .activeTimeout)).ipfixCode)
        IPFIXEncoder.put16(UInt16(r.tcpFlags), &b)
        b.append(ForwardingStatus(r.verdict).rawValue)
        IPFIXEncoder.put32(r.inIfindex ?? 0, &b)
        IPFIXEncoder.put32(r.outIfindex ?? 0, &b)
        IPFIXEncoder.putString(r.inInterface ?? "", &b)
        IPFIXEncoder.putString(r.outInterface ?? "", &b)
        IPFIXEncoder.putString(r.service.map { "\($0.namespace)/\($0.name):\($0.port)" } ?? "", &b)
        IPFIXEncoder.putString(r.verdict.rawValue, &b)
        IPFIXEncoder.putString(r.snatInterface ?? "", &b)
        pending.append((ipv6 ? IPFIXEncoder.ipv6TemplateID : IPFIXEncoder.ipv4TemplateID, b))
        pendingBytes += b.count
    }

    /// natEvent: session delete for a translated flow's final record, session create for an interim one, else none.
    static func natEvent(_ r: FlowRecord) -> NATEvent {
        guard r.snat || r.dnat else { return .none }
        return r.final ? .nat44SessionDelete : .nat44SessionCreate
    }

    /// One IPFIX message with the templates (when due) and pending records up to `maxBytes`; nil when nothing is
    /// pending and no templates are due. Call until nil to send everything.
    public mutating func message(exportTime: UInt32, maxBytes: Int = 65_535) -> [UInt8]? {
        guard !pending.isEmpty || sendTemplates else { return nil }
        var body: [UInt8] = []
        var records: UInt32 = 0
        if sendTemplates {
            body += templateSets()
            body += domainNameRecord()
            records += 1
            sendTemplates = false
        }
        var taken = 0
        var setStart = -1
        var setID: UInt16 = 0
        for (id, bytes) in pending {
            let open = setStart >= 0 && setID == id
            if taken > 0 || records > 0, 16 + body.count + bytes.count + (open ? 0 : 4) > maxBytes { break }
            if !open {
                if setStart >= 0 { IPFIXEncoder.patchLength(&body, setStart) }
                setStart = body.count
                setID = id
                IPFIXEncoder.put16(id, &body)
                IPFIXEncoder.put16(0, &body)
            }
            body += bytes
            taken += 1
            pendingBytes -= bytes.count
        }
        if setStart >= 0 { IPFIXEncoder.patchLength(&body, setStart) }
        pending.removeFirst(taken)
        var msg: [UInt8] = []
        msg.reserveCapacity(body.count + 16)
        IPFIXEncoder.put16(10, &msg)
        IPFIXEncoder.put16(UInt16(body.count + 16), &msg)
        IPFIXEncoder.put32(exportTime, &msg)
        IPFIXEncoder.put32(sequence, &msg)
        IPFIXEncoder.put32(observationDomainID, &msg)
        msg += body
        sequence &+= records + UInt32(taken)
        return msg
    }

    /// Template set (256, 257) and options template set (258).
    private func templateSets() -> [UInt8] {
        var set: [UInt8] = []
        for (id, v6) in [(IPFIXEncoder.ipv4TemplateID, false), (IPFIXEncoder.ipv6TemplateID, true)] {
            let fields = IPFIXEncoder.template(ipv6: v6)
            IPFIXEncoder.put16(id, &set)
            IPFIXEncoder.put16(UInt16(fields.count), &set)
            for f in fields { IPFIXEncoder.put(f, &set) }
        }
        var out: [UInt8] = []
        IPFIXEncoder.put16(2, &out)
        IPFIXEncoder.put16(UInt16(set.count + 4), &out)
        out += set
        IPFIXEncoder.put16(3, &out)
        IPFIXEncoder.put16(4 + 6 + 8, &out)
        IPFIXEncoder.put16(IPFIXEncoder.domainOptionsTemplateID, &out)
        IPFIXEncoder.put16(2, &out)   // field count
        IPFIXEncoder.put16(1, &out)   // scope field count
        IPFIXEncoder.put(IPFIXField(id: IPFIXElement.observationDomainId, length: 4), &out)
        IPFIXEncoder.put(IPFIXField(id: IPFIXElement.observationDomainName, length: IPFIXElement.variableLength), &out)
        return out
    }

    /// The options data record: this domain's id and name.
    private func domainNameRecord() -> [UInt8] {
        var out: [UInt8] = []
        IPFIXEncoder.put16(IPFIXEncoder.domainOptionsTemplateID, &out)
        IPFIXEncoder.put16(0, &out)
        IPFIXEncoder.put32(observationDomainID, &out)
        IPFIXEncoder.putString(observationDomainName, &out)
        IPFIXEncoder.patchLength(&out, 0)
        return out
    }

    static func put(_ f: IPFIXField, _ b: inout [UInt8]) {
        put16(f.enterprise == nil ? f.id : f.id | 0x8000, &b)
        put16(f.length, &b)
        if let pen = f.enterprise { put32(pen, &b) }
    }

    /// Sets the 16-bit length of the set starting at `start` to the bytes from there to the end.
    static func patchLength(_ b: inout [UInt8], _ start: Int) {
        let n = b.count - start
        b[start + 2] = UInt8(n >> 8 & 0xff)
        b[start + 3] = UInt8(n & 0xff)
    }

    /// A variable-length string (RFC 7011 §7): one length byte below 255, else 255 and two length bytes; at most 1024 bytes.
    static func putString(_ s: String, _ b: inout [UInt8]) {
        let u = Array(s.utf8.prefix(1024))
        if u.count < 255 {
            b.append(UInt8(u.count))
        } else {
            b.append(255)
            put16(UInt16(u.count), &b)
        }
        b += u
    }

    static func put16(_ v: UInt16, _ b: inout [UInt8]) { b.append(UInt8(v >> 8)); b.append(UInt8(v & 0xff)) }
    static func put32(_ v: UInt32, _ b: inout [UInt8]) { for s in stride(from: 24, through: 0, by: -8) { b.append(UInt8(v >> UInt32(s) & 0xff)) } }
    static func put64(_ v: UInt64, _ b: inout [UInt8]) { for s in stride(from: 56, through: 0, by: -8) { b.append(UInt8(v >> UInt64(s) & 0xff)) } }
}
