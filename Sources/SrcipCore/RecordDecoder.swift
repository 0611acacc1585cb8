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
            return "ring-buffer record has \(n) bytes, expected \(SRCIP_RECORD_SHORT), \(SRCIP_RECORD_CT) or \(SRCIP_RECORD_FULL) (BPF object and srcip binary out of step?)"
        case .badKind(let k): return "ring-buffer record has unknown event kind \(k)"
        case .badHook(let h): return "ring-buffer record has unknown hook \(h)"
        case .badJoin(let j): return "ring-buffer record has unknown join method \(j)"
        case .badTuple(let why): return "ring-buffer record has a bad tuple: \(why)"
        case .badEncapsulation(let e): return "ring-buffer record has unknown encapsulation type \(e)"
        }
    }
}

/// Decodes `struct srcip_record` (srcip_abi.h) into an `Observation`. A record is 112, 192 or 240 bytes long: the
/// conntrack tuples and the outer tuple are left off its end when it has none.
public enum RecordDecoder {
    /// Decodes one record from raw ring-buffer bytes, reading each field in place (no copy of the whole record).
    public static func decode(_ raw: UnsafeRawBufferPointer) throws(RecordDecodingError) -> Observation {
        guard let p = raw.baseAddress,
              raw.count == Int(SRCIP_RECORD_SHORT) || raw.count == Int(SRCIP_RECORD_CT) || raw.count == Int(SRCIP_RECORD_FULL)
        else { throw .wrongSize(raw.count) }
        return try decode(at: UnsafeRawPointer(p), size: raw.count)
    }

    /// Decodes one record already copied out of the ring buffer (all 240 bytes).
    public static func decode(_ rec: srcip_record) throws(RecordDecodingError) -> Observation {
        var rec = rec
        return try withUnsafeBytes(of: &rec) { (raw) throws(RecordDecodingError) -> Observation in
            try decode(at: raw.baseAddress!, size: raw.count)
        }
    }

    /// The bytes of a record that carries `observation` (what the BPF side reserves for it).
    public static func size(of observation: Observation) -> Int {
        if observation.encapsulation != nil { return Int(SRCIP_RECORD_FULL) }
        return Int(observation.conntrack != nil ? SRCIP_RECORD_CT : SRCIP_RECORD_SHORT)
    }

    /// Byte offsets of `struct srcip_record` and `struct srcip_tuple` fields (srcip_abi.h; checked by
    /// `RecordDecoderTests` against the imported layout).
    enum Offset {
        static let tsNs = 0, firstNs = 8, packets = 16, bytes = 24, ctID = 32, ifindex = 40, ctStatus = 44
        static let kind = 48, hook = 49, ctDir = 50, tcpFlags = 51, join = 52
        static let tuple = 56, fp = 96, ctOrig = 112, ctReply = 152, encap = 192
        static let fpTCPSeq = 0, fpTCPAck = 4, fpTCPTSval = 8, fpIPID = 12, fpLength = 14
        static let encapVNI = 40, encapType = 44
        static let saddr = 0, daddr = 16, sport = 32, dport = 34, family = 36, proto = 37
    }

    @inline(__always)
    private static func decode(at p: UnsafeRawPointer, size: Int) throws(RecordDecodingError) -> Observation {
        @inline(__always) func u8(_ o: Int) -> UInt8 { p.load(fromByteOffset: o, as: UInt8.self) }
        @inline(__always) func u16(_ o: Int) -> UInt16 { p.loadUnaligned(fromByteOffset: o, as: UInt16.self) }
        @inline(__always) func u32(_ o: Int) -> UInt32 { p.loadUnaligned(fromByteOffset: o, as: UInt32.self) }
        @inline(__always) func u64(_ o: Int) -> UInt64 { p.loadUnaligned(fromByteOffset: o, as: UInt64.self) }
        let k = u8(Offset.kind), h = u8(Offset.hook), j = u8(Offset.join)
        guard let kind = ObservationKind(rawValue: k) else { throw .badKind(k) }
        guard let hook = Hook(rawValue: h) else { throw .badHook(h) }
        guard let join = JoinMethod(rawValue: j) else { throw .badJoin(j) }
        guard let packet = try tuple(at: p + Offset.tuple) else { throw .badTuple("empty packet tuple") }
        var ct: ConntrackMapping?
        if join == .conntrack, size < Int(SRCIP_RECORD_CT) { throw .wrongSize(size) }
        if join == .conntrack, let orig = try tuple(at: p + Offset.ctOrig), let reply = try tuple(at: p + Offset.ctReply) {
            let dir: Bool?
            switch UInt32(u8(Offset.ctDir)) {
            case SRCIP_CT_DIR_ORIGINAL.rawValue: dir = false
            case SRCIP_CT_DIR_REPLY.rawValue: dir = true
            default: dir = nil
            }
            ct = ConntrackMapping(id: u64(Offset.ctID), original: orig, reply: reply, status: u32(Offset.ctStatus), packetIsReply: dir)
        }
        let fp = PacketFingerprint(tcpSeq: u32(Offset.fp + Offset.fpTCPSeq), tcpAck: u32(Offset.fp + Offset.fpTCPAck),
                                   tcpTSval: u32(Offset.fp + Offset.fpTCPTSval), ipID: u16(Offset.fp + Offset.fpIPID),
                                   length: u16(Offset.fp + Offset.fpLength))
        var encap: Encapsulation?
        let type = size >= Int(SRCIP_RECORD_FULL) ? u8(Offset.encap + Offset.encapType) : UInt8(SRCIP_ENCAP_NONE.rawValue)
        if type != UInt8(SRCIP_ENCAP_NONE.rawValue) {
            guard let k = Encapsulation.Kind(rawValue: type) else { throw .badEncapsulation(type) }
            encap = Encapsulation(kind: k, vni: u32(Offset.encap + Offset.encapVNI), outer: try tuple(at: p + Offset.encap))
        }
        return Observation(kind: kind, hook: hook, ifindex: u32(Offset.ifindex), timestampNs: u64(Offset.tsNs),
                           firstSeenNs: u64(Offset.firstNs), packets: u64(Offset.packets), bytes: u64(Offset.bytes), tuple: packet,
                           tcpFlags: u8(Offset.tcpFlags), join: join, conntrack: ct, fingerprint: fp, encapsulation: encap)
    }

    /// Decodes a `struct srcip_tuple`; nil for an empty one (family 0).
    public static func tuple(_ t: srcip_tuple) throws(RecordDecodingError) -> FiveTuple? {
        var t = t
        return try withUnsafeBytes(of: &t) { (raw) throws(RecordDecodingError) -> FiveTuple? in try tuple(at: raw.baseAddress!) }
    }

    /// Decodes the `struct srcip_tuple` at `p`, reading addresses as big-endian words.
    @inline(__always)
    private static func tuple(at p: UnsafeRawPointer) throws(RecordDecodingError) -> FiveTuple? {
        let family = p.load(fromByteOffset: Offset.family, as: UInt8.self)
        guard family != 0 else { return nil }
        let rawProto = p.load(fromByteOffset: Offset.proto, as: UInt8.self)
        guard let proto = L4Protocol(rawValue: rawProto) else { throw .badTuple("protocol \(rawProto)") }
        @inline(__always) func be32(_ o: Int) -> UInt32 { UInt32(bigEndian: p.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        @inline(__always) func be64(_ o: Int) -> UInt64 { UInt64(bigEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        let src: IPAddress, dst: IPAddress
        switch UInt32(family) {
        case SRCIP_FAMILY_IPV4.rawValue:
            src = .v4(be32(Offset.saddr))
            dst = .v4(be32(Offset.daddr))
        case SRCIP_FAMILY_IPV6.rawValue:
            src = .v6(be64(Offset.saddr), be64(Offset.saddr + 8))
            dst = .v6(be64(Offset.daddr), be64(Offset.daddr + 8))
        default:
            throw .badTuple("family \(family)")
        }
        return FiveTuple(src: src, dst: dst, srcPort: p.loadUnaligned(fromByteOffset: Offset.sport, as: UInt16.self),
                         dstPort: p.loadUnaligned(fromByteOffset: Offset.dport, as: UInt16.self), proto: proto)
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
}
