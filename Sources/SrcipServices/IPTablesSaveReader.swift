/// The tables of one `iptables-save` run: declared chains and their rules, per table.
struct IPTablesTable {
    var name: String
    /// Chain name → line of its `:CHAIN` declaration.
    var chains: [String: Int] = [:]
    var rules: [String: [IPTablesRule]] = [:]

    func rules(_ chain: String) -> [IPTablesRule] { rules[chain] ?? [] }
}

/// Splits iptables-save / iptables-restore text into rule sets. A table name seen again starts a new rule set,
/// so `iptables-save; ip6tables-save` output concatenated in one file yields one set per family.
/// Only `nat` and `filter` rules are tokenized; other tables are checked for structure only.
struct IPTablesSaveReader {
    static let wantedTables: Set<String> = ["nat", "filter"]

    static func read(_ text: String, file: String) throws -> [[String: IPTablesTable]] {
        try checkLineLengths(text, file: file)
        var sets: [[String: IPTablesTable]] = []
        var current: [String: IPTablesTable] = [:]
        var seenTables: Set<String> = []
        var open: (name: String, line: Int)?
        var table = IPTablesTable(name: "")
        var lineNo = 0
        for rawBytes in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNo += 1
            let raw = Substring(rawBytes)
            let line = raw.utf8.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("*") {
                if let o = open {
                    throw ServiceSourceError.truncated(file: file, line: lineNo,
                                                       problem: "table \(o.name) (line \(o.line)) has no COMMIT before the next table")
                }
                let name = String(trimmed.dropFirst()).trimmingSpaces
                guard !name.isEmpty, !name.contains(" ") else {
                    throw ServiceSourceError.malformedLine(file: file, line: lineNo, problem: "bad table line `\(trimmed)`")
                }
                if seenTables.contains(name) {
                    sets.append(current)
                    current = [:]
                    seenTables = []
                }
                seenTables.insert(name)
                open = (name, lineNo)
                table = IPTablesTable(name: name)
                continue
            }
            guard let o = open else {
                throw ServiceSourceError.malformedLine(file: file, line: lineNo,
                                                       problem: "`\(trimmed.prefix(40))` outside a table (no `*nat`/`*filter` line before it)")
            }
            if trimmed == "COMMIT" {
                if wantedTables.contains(o.name) { current[o.name] = table }
                open = nil
            } else if trimmed.hasPrefix(":") {
                let parts = trimmed.dropFirst().split(separator: " ", omittingEmptySubsequences: true)
                guard let chain = parts.first else {
                    throw ServiceSourceError.malformedLine(file: file, line: lineNo, problem: "chain declaration without a name")
                }
                guard parts.count >= 2 else {
                    throw ServiceSourceError.truncated(file: file, line: lineNo, problem: "chain declaration `\(trimmed)` has no policy")
                }
                table.chains[String(chain)] = lineNo
            } else if trimmed.hasPrefix("-A ") || trimmed.hasPrefix("-I ") {
                guard wantedTables.contains(o.name) else { continue }
                var body = trimmed.dropFirst(3)
                if trimmed.hasPrefix("-I ") {
                    // `-I CHAIN [position] rule…`: drop the position.
                    let words = body.split(separator: " ", maxSplits: 2)
                    if words.count >= 2, Int(words[1]) != nil { body = words[0] + " " + (words.count == 3 ? words[2] : "") }
                }
                let rule = try IPTablesRule(table: o.name, text: body, line: lineNo, file: file)
                guard table.chains[rule.chain] != nil else {
                    throw ServiceSourceError.malformedLine(file: file, line: lineNo,
                                                           problem: "rule for chain \(rule.chain), which is not declared in table \(o.name)")
                }
                table.rules[rule.chain, default: []].append(rule)
            } else if trimmed.hasPrefix("-X ") || trimmed.hasPrefix("-N ") || trimmed.hasPrefix("-F ") {
                let chain = String(trimmed.dropFirst(3)).trimmingSpaces
                if trimmed.hasPrefix("-X ") {
                    table.chains[chain] = nil
                    table.rules[chain] = nil
                } else if trimmed.hasPrefix("-N ") {
                    table.chains[chain] = lineNo
                } else {
                    table.rules[chain] = nil
                }
            } else {
                throw ServiceSourceError.malformedLine(file: file, line: lineNo, problem: "unrecognised line `\(trimmed.prefix(60))`")
            }
        }
        if let o = open {
            throw ServiceSourceError.truncated(file: file, line: lineNo,
                                               problem: "table \(o.name) (line \(o.line)) is not closed by COMMIT")
        }
        if !current.isEmpty { sets.append(current) }
        return sets
    }
}

extension IPTablesSaveReader {
    /// Fails at the first line longer than `InputLimits.maxLineBytes`, before any of it is split or quoted:
    /// one-line garbage is rejected after reading 64 KiB of it.
    static func checkLineLengths(_ text: String, file: String) throws {
        var text = text
        let long: Int? = text.withUTF8 { bytes in
            var run = 0, line = 1
            for b in bytes {
                if b == UInt8(ascii: "\n") {
                    run = 0
                    line += 1
                } else {
                    run += 1
                    if run > InputLimits.maxLineBytes { return line }
                }
            }
            return nil
        }
        if let long {
            throw ServiceSourceError.malformedLine(file: file, line: long,
                                                   problem: "line is longer than \(InputLimits.maxLineBytes >> 10) KiB; not iptables-save output")
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
