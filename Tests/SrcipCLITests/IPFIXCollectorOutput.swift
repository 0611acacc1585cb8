import Foundation
import SrcipCore
import SrcipTestbed

/// What the real collectors decoded, per data record, for `IPFIXCollectorTests` to compare with the JSON Lines.
enum CollectorOutput {
    /// `nfdump -r FILE -o raw`: one dictionary per `Flow Record:` block, `key = value` lines (key as nfdump prints
    /// it, e.g. `src xlt ip`, `tcp flags`; value up to the first blank, so `0x1b ...AP.SF` is `0x1b`).
    static func nfdumpRaw(_ dir: String) throws -> [[String: String]] {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("nfcapd.") }
        var out: [[String: String]] = []
        for f in files {
            var current: [String: String]?
            for line in try NATLab.run(["nfdump", "-r", dir + "/" + f, "-o", "raw"]).split(separator: "\n") {
                if line.hasPrefix("Flow Record:") {
                    if let current { out.append(current) }
                    current = [:]
                    continue
                }
                guard current != nil, let eq = line.range(of: " = ") else { continue }
                let key = line[..<eq.lowerBound].trimmingCharacters(in: .whitespaces)
                let value = line[eq.upperBound...].trimmingCharacters(in: .whitespaces)
                current?[key] = value.split(separator: " ").first.map(String.init) ?? ""
            }
            if let current { out.append(current) }
        }
        return out
    }

    /// `nfdump -E FILE`: the observation domain ids of the exporters nfcapd saw.
    static func nfdumpExporterIDs(_ dir: String) throws -> Set<String> {
        var ids = Set<String>()
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasPrefix("nfcapd.") {
            for line in try NATLab.run(["nfdump", "-E", dir + "/" + f]).split(separator: "\n") {
                guard let r = line.range(of: " ID: ") else { continue }
                ids.insert(String(line[r.upperBound...].prefix { $0.isNumber }))
            }
        }
        return ids
    }

    /// One data record as tshark decoded it: every `cflow.*` field by name (in order; the RFC 5103 reverse counters
    /// repeat `cflow.packets`/`cflow.octets`), its raw bytes as hex, the observation domain of its message, and the
    /// srcip enterprise elements (PEN 32473) by element id, decoded as UTF-8. tshark omits an empty variable-length
    /// enterprise element, so a missing id means the empty string.
    struct TsharkRecord {
        var show: [String: [String]] = [:]
        var hex: [String: [String]] = [:]
        var domain = ""
        var enterprise: [Int: String] = [:]

        func first(_ name: String) -> String? { show[name]?.first }
        /// The big-endian integer of the field's bytes (time fields: milliseconds since the epoch).
        func integer(_ name: String, _ index: Int = 0) -> UInt64? {
            guard let h = hex[name], index < h.count else { return nil }
            return UInt64(h[index], radix: 16)
        }
    }

    /// `tshark -r PCAP -d udp.port==PORT,cflow -T pdml`: the data records of template 256 (those with a source
    /// address), and the observation domain names of the options records.
    static func tshark(_ pcap: String, port: Int) throws -> (records: [TsharkRecord], domainNames: Set<String>) {
        let pdml = try NATLab.run(["tshark", "-r", pcap, "-d", "udp.port==\(port),cflow", "-T", "pdml"])
        var records: [TsharkRecord] = [], names = Set<String>()
        var current: TsharkRecord?
        var domain = ""
        func close() {
            if let c = current, c.show["cflow.srcaddr"] != nil { records.append(c) }
            current = nil
        }
        for line in pdml.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("<field ") || t.hasPrefix("</packet") else { continue }
            if t.hasPrefix("</packet") { close(); continue }
            let a = attributes(t)
            let name = a["name"] ?? ""
            if name.isEmpty, a["show"]?.hasPrefix("Flow ") == true {
                close()
                current = TsharkRecord(domain: domain)
                continue
            }
            guard name.hasPrefix("cflow.") else { continue }
            if name == "cflow.od_id" { domain = a["show"] ?? "" }
            if name == "cflow.observation_domain_name" { names.insert(a["show"] ?? "") }
            guard current != nil else { continue }
            if name == "cflow.enterprise_private_entry", let label = a["showname"],
               let r = label.range(of: "Type "), let id = Int(label[r.upperBound...].prefix { $0.isNumber }) {
                current?.enterprise[id] = String(decoding: bytes(a["value"] ?? ""), as: UTF8.self)
                continue
            }
            current?.show[name, default: []].append(a["show"] ?? "")
            current?.hex[name, default: []].append(a["unmaskedvalue"] ?? a["value"] ?? "")
        }
        close()
        return (records, names)
    }

    /// The attributes of one PDML element line (XML entities decoded).
    static func attributes(_ line: String) -> [String: String] {
        var out: [String: String] = [:]
        var rest = Substring(line)
        while let eq = rest.range(of: "=\"") {
            let key = rest[..<eq.lowerBound].split(separator: " ").last.map(String.init) ?? ""
            let after = rest[eq.upperBound...]
            guard let end = after.firstIndex(of: "\"") else { break }
            out[key] = String(after[..<end]).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
                .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&apos;", with: "'")
                .replacingOccurrences(of: "&amp;", with: "&")
            rest = after[after.index(after: end)...]
        }
        return out
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = [], i = hex.startIndex
        while i < hex.endIndex, let j = hex.index(i, offsetBy: 2, limitedBy: hex.endIndex), let b = UInt8(hex[i..<j], radix: 16) {
            out.append(b)
            i = j
        }
        return out
    }

    /// Milliseconds since the epoch of an RFC 3339 time in a flow record (IPFIX's *Milliseconds elements truncate).
    static func ms(_ rfc3339: Any?) -> UInt64? {
        (rfc3339 as? String).flatMap(RFC3339.parse).map { UInt64($0 / 1_000_000) }
    }
}
