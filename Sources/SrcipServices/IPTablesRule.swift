/// One `-A CHAIN …` line of iptables-save / iptables-restore text, split into options.
struct IPTablesRule {
    /// One match or target option: `! -s 10.0.0.0/8` is name `-s`, negated, values `["10.0.0.0/8"]`.
    struct Option {
        var name: String
        var negated: Bool
        var values: [String]
    }

    /// What the text says, shared by copies: the model copies thousands of rules per change (a refilled chain, the
    /// interpreter's passes), and a copy costs one reference count instead of one per string.
    private final class Parsed: Sendable {
        let table: String
        let chain: String
        let options: [Option]
        let text: String
        let target: String?
        let comment: String?
        let serviceID: String?

        init(table: String, chain: String, options: [Option], text: String, target: String?, comment: String?, serviceID: String?) {
            self.table = table
            self.chain = chain
            self.options = options
            self.text = text
            self.target = target
            self.comment = comment
            self.serviceID = serviceID
        }
    }

    private let parsed: Parsed
    /// 1-based line number in the input.
    var line: Int

    var table: String { parsed.table }
    var chain: String { parsed.chain }
    var options: [Option] { parsed.options }
    /// The words after `-A`, as read: equal texts are equal rules (a re-listed chain reuses the rules it already had).
    var text: String { parsed.text }

    /// The value of the first non-negated option `name` (multi-word unquoted values joined by spaces).
    func value(_ name: String) -> String? {
        options.first { $0.name == name && !$0.negated }.map { $0.values.joined(separator: " ") }
    }

    func negatedValue(_ name: String) -> String? {
        options.first { $0.name == name && $0.negated }.map { $0.values.joined(separator: " ") }
    }

    func has(_ name: String) -> Bool { options.contains { $0.name == name } }

    /// `-j` or `-g` target.
    var target: String? { parsed.target }
    var comment: String? { parsed.comment }

    /// Long option spellings iptables accepts, mapped to the short ones iptables-save prints.
    private static let aliases = ["--destination": "-d", "--source": "-s", "--protocol": "-p", "--jump": "-j",
                                  "--goto": "-g", "--match": "-m", "--in-interface": "-i", "--out-interface": "-o",
                                  "--destination-port": "--dport", "--source-port": "--sport"]
    /// Options that are meaningless without a value; a rule that ends right after one was cut.
    private static let needsValue: Set<String> = ["-d", "-s", "-p", "-j", "-g", "-m", "-i", "-o", "--comment", "--dport",
                                                   "--sport", "--to-destination", "--seconds", "--name", "--probability",
                                                   "--mode", "--dst-type", "--src-type", "--mark", "--set-xmark"]

    /// Parses the words after `-A` (the chain name first). Throws on an unterminated quote or a valueless option.
    init(table: String, text: Substring, line: Int, file: String) throws {
        let words = try IPTablesRule.split(text, line: line, file: file)
        guard let chain = words.first, !chain.isEmpty else {
            throw ServiceSourceError.truncated(file: file, line: line, problem: "`-A` without a chain name")
        }
        var options: [Option] = []
        var negateNext = false
        for word in words.dropFirst() {
            if word == "!" {
                if let last = options.last, last.values.isEmpty, !negateNext {
                    options[options.count - 1].negated = true   // old style: `-s ! 10.0.0.0/8`
                } else {
                    negateNext = true
                }
            } else if IPTablesRule.isOptionName(word) {
                options.append(Option(name: IPTablesRule.aliases[word] ?? word, negated: negateNext, values: []))
                negateNext = false
            } else if !options.isEmpty {
                options[options.count - 1].values.append(word)
            } else {
                throw ServiceSourceError.malformedLine(file: file, line: line, problem: "unexpected word `\(word)` after the chain name")
            }
        }
        if negateNext {
            throw ServiceSourceError.truncated(file: file, line: line, problem: "rule ends with `!`")
        }
        if let bad = options.first(where: { $0.values.isEmpty && IPTablesRule.needsValue.contains($0.name) }) {
            throw ServiceSourceError.truncated(file: file, line: line, problem: "option \(bad.name) has no value")
        }
        self.line = line
        // Read by every pass over the rules: worked out once.
        let first = { (name: String) in options.first { $0.name == name && !$0.negated }.map { $0.values.joined(separator: " ") } }
        let comment = first("--comment")
        parsed = Parsed(table: table, chain: chain, options: options, text: String(text), target: first("-j") ?? first("-g"),
                        comment: comment, serviceID: Self.serviceID(comment: comment))
    }

    /// The Service (`ns/name`) a top-level rule is about: its comment's first word up to the port, as
    /// `ServicePortName` splits it (e.g. `default/web` of `default/web:http cluster IP`); nil without a comment.
    /// Rules that name no Service get whatever their comment starts with; the interpreter skips or rejects them.
    var serviceID: String? { parsed.serviceID }

    private static func serviceID(comment: String?) -> String? {
        guard let c = comment else { return nil }
        let word = c.prefix { $0 != " " }
        guard let slash = word.firstIndex(of: "/"), let colon = word[slash...].firstIndex(of: ":") else { return String(word) }
        return String(word[..<colon])
    }

    /// `-x` or `--word`; `->` (inside unquoted comments) and negative numbers are values.
    private static func isOptionName(_ w: String) -> Bool {
        let u = Array(w.utf8)
        guard u.count >= 2, u[0] == UInt8(ascii: "-") else { return false }
        let c = u[1] == UInt8(ascii: "-") ? (u.count > 2 ? u[2] : 0) : u[1]
        return (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }

    /// Shell-like splitting as iptables-restore does it: whitespace separates, `"…"` groups, `\"` escapes a quote.
    static func split(_ text: Substring, line: Int, file: String) throws -> [String] {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        var words: [String] = []
        var cur: [UInt8] = []
        var inWord = false
        var quoted = false
        var escaped = false
        for b in text.utf8 {
            if escaped {
                if b != quote && b != backslash { cur.append(backslash) }
                cur.append(b)
                escaped = false
            } else if b == backslash {
                escaped = true
                inWord = true
            } else if b == quote {
                quoted.toggle()
                inWord = true
            } else if !quoted && (b == space || b == tab) {
                if inWord { words.append(String(decoding: cur, as: UTF8.self)); cur.removeAll(keepingCapacity: true); inWord = false }
            } else {
                cur.append(b)
                inWord = true
            }
        }
        if escaped { cur.append(backslash) }
        if quoted {
            throw ServiceSourceError.truncated(file: file, line: line, problem: "unterminated quote")
        }
        if inWord { words.append(String(decoding: cur, as: UTF8.self)) }
        return words
    }
}
