/// Builds one JSON object on one line by appending members in the order given (no spaces, RFC 8259 escaping): the
/// writer behind every JSON srcip emits, so key order and bytes are exactly what the caller wrote.
/// The text grows as UTF-8 bytes (each member a few `memcpy`s; appending to a `String` piece by piece cost ~10 µs a
/// flow record) and becomes a `String` once, in `finish()`.
public struct JSONObjectWriter: Sendable {
    @usableFromInline var out: [UInt8] = [UInt8(ascii: "{")]
    @usableFromInline var first = true

    public init() {}

    /// A writer whose buffer holds `capacity` bytes before it grows (a flow record's line takes ~1,400).
    public init(reservingCapacity capacity: Int) { out.reserveCapacity(capacity) }

    @inlinable mutating func key(_ k: String) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: k.utf8)
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    @inlinable mutating func null() { out.append(contentsOf: "null".utf8) }

    /// A member whose value is already JSON text (a nested object or array).
    @inlinable public mutating func raw(_ k: String, _ v: String) { key(k); out.append(contentsOf: v.utf8) }
    /// A string member; `nil` is written as `null`.
    @inlinable public mutating func string(_ k: String, _ v: String?) {
        key(k)
        if let v { JSONObjectWriter.appendQuoted(v, to: &out) } else { null() }
    }
    /// An array of strings.
    @inlinable public mutating func strings(_ k: String, _ v: [String]) {
        key(k)
        out.append(UInt8(ascii: "["))
        for (n, s) in v.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JSONObjectWriter.appendQuoted(s, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
    @inlinable public mutating func int(_ k: String, _ v: Int?) {
        key(k)
        if let v { out.append(contentsOf: String(v).utf8) } else { null() }
    }
    @inlinable public mutating func uint(_ k: String, _ v: UInt64) { key(k); out.append(contentsOf: String(v).utf8) }
    @inlinable public mutating func bool(_ k: String, _ v: Bool?) {
        key(k)
        if let v { out.append(contentsOf: (v ? "true" : "false").utf8) } else { null() }
    }
    /// Closes the object and returns its text.
    @inlinable public mutating func finish() -> String {
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `s` as a JSON string literal (RFC 8259 escaping).
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal (RFC 8259 escaping: `"`, `\` and control characters; other characters,
    /// non-ASCII ones too, as they are).
    @usableFromInline static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (addresses, names, times) need no escape: appended whole.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xf)])
            default:
                out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
