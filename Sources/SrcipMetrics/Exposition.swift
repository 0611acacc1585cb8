/// One metric family of the Prometheus text exposition format (version 0.0.4): a name, its help text, its type
/// and its samples.
public struct MetricFamily: Sendable, Equatable {
    /// `counter` or `gauge` (the only types srcip exposes).
    public enum Kind: String, Sendable { case counter, gauge }

    /// One sample: label pairs in the order written, and the value.
    public struct Sample: Sendable, Equatable {
        public var labels: [Label]
        public var value: Double
        public init(_ labels: [Label] = [], _ value: Double) {
            self.labels = labels
            self.value = value
        }
    }

    /// A label name and value. Names are srcip's own (fixed); values are escaped when written.
    public struct Label: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var name: String
    public var help: String
    public var kind: Kind
    public var samples: [Sample]

    public init(name: String, help: String, kind: Kind, samples: [Sample]) {
        precondition(Exposition.isValidName(name), "invalid metric name \(name)")
        self.name = name
        self.help = help
        self.kind = kind
        self.samples = samples
    }
}

/// Writes metric families in the Prometheus text exposition format.
public enum Exposition {
    /// The Content-Type of the format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// `# HELP` and `# TYPE` lines, then one line per sample, for every family (families without samples too, so
    /// scrapers learn their type); ends with a newline.
    public static func render(_ families: [MetricFamily]) -> String {
        var out = ""
        for f in families {
            out += "# HELP \(f.name) \(escapeHelp(f.help))\n# TYPE \(f.name) \(f.kind.rawValue)\n"
            for s in f.samples {
                out += f.name
                if !s.labels.isEmpty {
                    out += "{" + s.labels.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
                }
                out += " \(format(s.value))\n"
            }
        }
        return out
    }

    /// HELP text: backslash and line feed escaped.
    public static func escapeHelp(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Label values: backslash, double quote and line feed escaped.
    public static func escapeLabelValue(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Integral values without a fraction (exact up to 2^53), others as Swift prints them (Go's ParseFloat reads
    /// both), and `+Inf`, `-Inf`, `NaN`.
    public static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 9_007_199_254_740_992 { return String(Int64(v)) }
        return "\(v)"
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public static func isValidName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == ":" }
        return letter(first) && s.unicodeScalars.allSatisfy { letter($0) || ($0 >= "0" && $0 <= "9") }
    }
}

/// Bounds the distinct values of one label: the first `limit` values seen are kept, every later one becomes
/// `other` (counted in `overflowed`). Keeps a scrape's size and Prometheus's series count bounded on a busy node.
public struct BoundedLabel: Sendable, Equatable {
    /// The value that stands for every value past the limit.
    public static let other = "other"
    public let limit: Int
    private(set) var seen: Set<String> = []
    /// Values mapped to `other` (occurrences, not distinct values).
    public private(set) var overflowed: UInt64 = 0

    public init(limit: Int) { self.limit = max(0, limit) }

    /// `value` if it is already kept or there is room for it, else `other`.
    public mutating func map(_ value: String) -> String {
        if seen.contains(value) { return value }
        if seen.count < limit {
            seen.insert(value)
            return value
        }
        overflowed += 1
        return Self.other
    }
}
