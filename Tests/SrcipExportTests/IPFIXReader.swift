/// A small IPFIX (RFC 7011) decoder for the tests: templates (with enterprise fields) and data records.
struct IPFIXReader {
    struct Field: Equatable { var id: UInt16; var length: Int; var enterprise: UInt32? }
    struct Message { var version: UInt16; var length: Int; var exportTime: UInt32; var sequence: UInt32; var domain: UInt32 }
    struct Record { var templateID: UInt16; var values: [Key: [UInt8]] }
    struct Key: Hashable { var id: UInt16; var enterprise: UInt32? }
    enum Failure: Error, CustomStringConvertible {
        case malformed(String)
        var description: String { if case .malformed(let s) = self { return s }; return "" }
    }

    var templates: [UInt16: [Field]] = [:]
    var optionsTemplates: Set<UInt16> = []
    var messages: [Message] = []
    var records: [Record] = []

    static func be(_ b: ArraySlice<UInt8>) -> UInt64 { b.reduce(0) { $0 << 8 | UInt64($1) } }

    mutating func read(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            guard off + 16 <= bytes.count else { throw Failure.malformed("truncated message header at \(off)") }
            let len = Int(Self.be(bytes[off + 2 ..< off + 4]))
            let m = Message(version: UInt16(Self.be(bytes[off ..< off + 2])), length: len,
                            exportTime: UInt32(Self.be(bytes[off + 4 ..< off + 8])), sequence: UInt32(Self.be(bytes[off + 8 ..< off + 12])),
                            domain: UInt32(Self.be(bytes[off + 12 ..< off + 16])))
            guard m.version == 10, len >= 16, off + len <= bytes.count else { throw Failure.malformed("bad message at \(off)") }
            messages.append(m)
            var s = off + 16
            while s < off + len {
                let setID = UInt16(Self.be(bytes[s ..< s + 2])), setLen = Int(Self.be(bytes[s + 2 ..< s + 4]))
                guard setLen >= 4, s + setLen <= off + len else { throw Failure.malformed("bad set length at \(s)") }
                let end = s + setLen
                var p = s + 4
                if setID == 2 || setID == 3 {
                    while p + 4 <= end {
                        let tid = UInt16(Self.be(bytes[p ..< p + 2])), count = Int(Self.be(bytes[p + 2 ..< p + 4]))
                        p += setID == 3 ? 6 : 4   // options templates: scope field count
                        if setID == 3 { optionsTemplates.insert(tid) }
                        var fields: [Field] = []
                        for _ in 0..<count {
                            var id = UInt16(Self.be(bytes[p ..< p + 2]))
                            let flen = Int(Self.be(bytes[p + 2 ..< p + 4]))
                            p += 4
                            var pen: UInt32?
                            if id & 0x8000 != 0 {
                                id &= 0x7fff
                                pen = UInt32(Self.be(bytes[p ..< p + 4]))
                                p += 4
                            }
                            fields.append(Field(id: id, length: flen, enterprise: pen))
                        }
                        templates[tid] = fields
                    }
                } else if setID >= 256 {
                    guard let fields = templates[setID] else { throw Failure.malformed("data set \(setID) before its template") }
                    let minSize = fields.reduce(0) { $0 + ($1.length == 0xffff ? 1 : $1.length) }
                    while p + minSize <= end {
                        var values: [Key: [UInt8]] = [:]
                        for f in fields {
                            var n = f.length
                            if n == 0xffff {   // variable length (RFC 7011 §7)
                                n = Int(bytes[p]); p += 1
                                if n == 255 { n = Int(Self.be(bytes[p ..< p + 2])); p += 2 }
                            }
                            guard p + n <= end else { throw Failure.malformed("record overruns set \(setID)") }
                            values[Key(id: f.id, enterprise: f.enterprise)] = Array(bytes[p ..< p + n])
                            p += n
                        }
                        records.append(Record(templateID: setID, values: values))
                    }
                }
                s = end
            }
            off += len
        }
    }
}

extension IPFIXReader.Record {
    func uint(_ id: UInt16, _ pen: UInt32? = nil) -> UInt64? { values[.init(id: id, enterprise: pen)].map { IPFIXReader.be($0[...]) } }
    func bytes(_ id: UInt16) -> [UInt8]? { values[.init(id: id, enterprise: nil)] }
    func string(_ id: UInt16, _ pen: UInt32? = nil) -> String? { values[.init(id: id, enterprise: pen)].map { String(decoding: $0, as: UTF8.self) } }
}
