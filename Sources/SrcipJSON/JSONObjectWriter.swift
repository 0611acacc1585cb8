/// Builds one JSON object on one line by appending members in the order given (no spaces, RFC 8259 escaping): the
/// writer behind every JSON srcip emits, so key order and bytes are exactly what the caller wrote.
public struct JSONObjectWriter: Sendable {
    @usableFromInline var out = "{"
    @usableFromInline var first = true

    public init() {}

    @inlinable mutating func key(_ k: String) {
        if !first { out += "," }
        first = false
        out += "\""
        out += k
        out += "\":"
    }

    /// A member whose value is already JSON text (a nested object or array).
    @inlinable public mutating func raw(_ k: String, _ v: String) { key(k); out += v }
    /// A string member; `nil` is written as `null`.
    @inlinable public mutating func string(_ k: String, _ v: String?) {
        key(k)
        if let v { JSONObjectWriter.appendQuoted(v, to: &out) } else { out += "null" }
    }
    /// An array of strings.
    @inlinable public mutating func strings(_ k: String, _ v: [String]) {
        key(k)
        out += "["
        for (n, s) in v.enumerated() {
            if n > 0 { out += "," }
            JSONObjectWriter.appendQuoted(s, to: &out)
        }
        out += "]"
    }
    @inlinable public mutating func int(_ k: String, _ v: Int?) { key(k); out += v.map { String($0) } ?? "null" }
    @inlinable public mutating func uint(_ k: String, _ v: UInt64) { key(k); out += String(v) }
    @inlinable public mutating func bool(_ k: String, _ v: Bool?) { key(k); out += v.map { $0 ? "true" : "false" } ?? "null" }
    /// Closes the object and returns its text.
    @inlinable public mutating func finish() -> String { out += "}"; return out }

    /// `s` as a JSON string literal (RFC 8259 escaping).
    public static func quoted(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    /// Appends `s` as a JSON string literal (RFC 8259 escaping).
    @usableFromInline static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
