import CSrcipABI

/// Why a ring-buffer record could not be decoded.
public enum RecordDecodingError: Error, Equatable, CustomStringConvertible {
    case wrongSize(Int)
    case badKind(UInt8)
    case badHook(UInt8)
    case badJoin(UInt8)
    case badTuple(String)
    case badEncapsulation(UInt8)

    public var description: String {
        switch self {
        case .wrongSize(let n):
            return "ring-buffer record has \(n) bytes, expected \(MemoryLayout<srcip_record>.size) (BPF object and srcip binary out of step?)"
        case .badKind(let k): return "ring-buffer record has unknown event kind \(k)"
        case .badHook(let h): return "ring-buffer record has unknown hook \(h)"
        case .badJoin(let j): return "ring-buffer record has unknown join method \(j)"
        case .badTuple(let why): return "ring-buffer record has a bad tuple: \(why)"
        case .badEncapsulation(let e): return "ring-buffer record has unknown encapsulation type \(e)"
        }
    }
}

/// Decodes `struct srcip_record` (srcip_abi.h) into an `Observation`.
public enum RecordDecoder {
    /// Decodes one record from raw ring-buffer bytes.
    public static func decode(_ raw: UnsafeRawBufferPointer) throws(RecordDecodingError) -> Observation {
        guard raw.count == MemoryLayout<srcip_record>.size else { throw .wrongSize(raw.count) }
        let rec = raw.loadUnaligned(as: srcip_record.self)
        return try decode(rec)
    }

    /// Decodes one record already copied out of the ring buffer.
    public static func decode(_ rec: srcip_record) throws(RecordDecodingError) -> Observation {
        guard let kind = ObservationKind(rawValue: rec.kind) else { throw .badKind(rec.kind) }
        guard let hook = Hook(rawValue: rec.hook) else { throw .badHook(rec.hook) }
        guard let join = JoinMethod(rawValue: rec.join) else { throw .badJoin(rec.join) }
        guard let packet = try tuple(rec.tuple) else { throw .badTuple("empty packet tuple") }
        var ct: ConntrackMapping?
        if join == .conntrack, let orig = try tuple(rec.ct_orig), let reply = try tuple(rec.ct_reply) {
            let dir: Bool?
            switch UInt32(rec.ct_dir) {
            case SRCIP_CT_DIR_ORIGINAL.rawValue: dir = false
            case SRCIP_CT_DIR_REPLY.rawValue: dir = true
            default: dir = nil
            }
            ct = ConntrackMapping(id: rec.ct_id, original: orig, reply: reply, status: rec.ct_status, packetIsReply: dir)
        }
        let fp = PacketFingerprint(tcpSeq: rec.fp.tcp_seq, tcpAck: rec.fp.tcp_ack, tcpTSval: rec.fp.tcp_tsval,
                                   ipID: rec.fp.ip_id, length: rec.fp.length)
        var encap: Encapsulation?
        if rec.encap.type != UInt8(SRCIP_ENCAP_NONE.rawValue) {
            guard let k = Encapsulation.Kind(rawValue: rec.encap.type) else { throw .badEncapsulation(rec.encap.type) }
            encap = Encapsulation(kind: k, vni: rec.encap.vni, outer: try tuple(rec.encap.outer))
        }
        return Observation(kind: kind, hook: hook, ifindex: rec.ifindex, timestampNs: rec.ts_ns,
                           firstSeenNs: rec.first_ns, packets: rec.packets, bytes: rec.bytes, tuple: packet,
                           tcpFlags: rec.tcp_flags, join: join, conntrack: ct, fingerprint: fp, encapsulation: encap)
    }

    /// Decodes a `struct srcip_tuple`; nil for an empty one (family 0).
    public static func tuple(_ t: srcip_tuple) throws(RecordDecodingError) -> FiveTuple? {
        guard t.family != 0 else { return nil }
        guard let proto = L4Protocol(rawValue: t.proto) else { throw .badTuple("protocol \(t.proto)") }
        let src: IPAddress, dst: IPAddress
        switch UInt32(t.family) {
        case SRCIP_FAMILY_IPV4.rawValue:
            src = .v4(be32(t.saddr.0, t.saddr.1, t.saddr.2, t.saddr.3))
            dst = .v4(be32(t.daddr.0, t.daddr.1, t.daddr.2, t.daddr.3))
        case SRCIP_FAMILY_IPV6.rawValue:
            src = withUnsafeBytes(of: t.saddr) { IPAddress(bytes: $0)! }
            dst = withUnsafeBytes(of: t.daddr) { IPAddress(bytes: $0)! }
        default:
            throw .badTuple("family \(t.family)")
        }
        return FiveTuple(src: src, dst: dst, srcPort: t.sport, dstPort: t.dport, proto: proto)
    }

    /// Encodes a tuple into the ABI struct (for synthetic producers and tests).
    public static func encode(_ t: FiveTuple?) -> srcip_tuple {
        var out = srcip_tuple()
        guard let t else { return out }
        out.family = UInt8(t.src.isIPv4 ? SRCIP_FAMILY_IPV4.rawValue : SRCIP_FAMILY_IPV6.rawValue)
        out.proto = t.proto.rawValue
        out.sport = t.srcPort
        out.dport = t.dstPort
        withUnsafeMutableBytes(of: &out.saddr) { buf in for (i, b) in t.src.bytes.enumerated() { buf[i] = b } }
        withUnsafeMutableBytes(of: &out.daddr) { buf in for (i, b) in t.dst.bytes.enumerated() { buf[i] = b } }
        return out
    }

    /// Encodes an observation into the ABI record (inverse of `decode`).
    public static func encode(_ o: Observation) -> srcip_record {
        var r = srcip_record()
        r.ts_ns = o.timestampNs
        r.first_ns = o.firstSeenNs
        r.packets = o.packets
        r.bytes = o.bytes
        r.ifindex = o.ifindex
        r.kind = o.kind.rawValue
        r.hook = o.hook.rawValue
        r.tcp_flags = o.tcpFlags
        r.join = o.join.rawValue
        r.tuple = encode(o.tuple)
        r.ct_dir = UInt8(SRCIP_CT_DIR_UNKNOWN.rawValue)
        if let ct = o.conntrack {
            r.ct_id = ct.id
            r.ct_status = ct.status
            r.ct_orig = encode(ct.original)
            r.ct_reply = encode(ct.reply)
            if let isReply = ct.packetIsReply {
                r.ct_dir = UInt8(isReply ? SRCIP_CT_DIR_REPLY.rawValue : SRCIP_CT_DIR_ORIGINAL.rawValue)
            }
        }
        r.fp = srcip_fingerprint(tcp_seq: o.fingerprint.tcpSeq, tcp_ack: o.fingerprint.tcpAck,
                                 tcp_tsval: o.fingerprint.tcpTSval, ip_id: o.fingerprint.ipID,
                                 length: o.fingerprint.length)
        if let e = o.encapsulation {
            r.encap.type = e.kind.rawValue
            r.encap.vni = e.vni
            r.encap.outer = encode(e.outer)
        }
        return r
    }

    @inline(__always)
    private static func be32(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> UInt32 {
        UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }
}
