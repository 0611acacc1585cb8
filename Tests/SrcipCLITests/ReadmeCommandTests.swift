import Foundation
import Testing

/// The README's example command lines use subcommands and options the binary has: every `srcip trace|merge|lab …`
/// line of an indented block names a subcommand whose `--help` lists each `--option` of the line.
@Suite struct ReadmeCommandTests {
    /// One example: the subcommand path (`["lab", "up"]`) and the options written after it.
    struct Example: CustomStringConvertible {
        var line: Int
        var command: [String]
        var options: [String]
        var description: String { "README.md:\(line): srcip \(command.joined(separator: " ")) \(options.joined(separator: " "))" }
    }

    /// The examples of the README's indented blocks; a lab line lists alternatives separated by `|`.
    static func examples() throws -> [Example] {
        let readme = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var out: [Example] = []
        for (i, raw) in readme.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where raw.hasPrefix("    ") {
            let code = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            guard let at = code.range(of: #"srcip (trace|merge|lab)\b"#, options: .regularExpression) else { continue }
            let words = code[at.lowerBound...].split(separator: " ").dropFirst().map(String.init)
            let options = { (ws: ArraySlice<String>) in
                ws.compactMap { $0.firstMatch(of: /^\[?(--[a-z][a-z0-9-]*)/).map { String($0.1) } }
            }
            if words[0] != "lab" {
                out.append(Example(line: i + 1, command: [words[0]], options: options(words.dropFirst())))
                continue
            }
            // `lab apply FILE | delete KIND/NAME… | scale …`: each alternative starts with a subcommand.
            var alternative: [String] = []
            for w in words.dropFirst() + ["|"] {
                guard w == "|" else { alternative.append(w); continue }
                if let sub = alternative.first, !sub.hasPrefix("-") {
                    out.append(Example(line: i + 1, command: ["lab", sub], options: options(alternative.dropFirst())))
                }
                alternative = []
            }
        }
        return out
    }

    @Test func everyExampleCommandAndOptionExists() throws {
        let examples = try Self.examples()
        #expect(examples.filter { $0.command == ["trace"] }.count >= 5, "\(examples)")
        #expect(examples.filter { $0.command == ["merge"] }.count >= 5, "\(examples)")
        #expect(Set(examples.filter { $0.command[0] == "lab" }.map { $0.command[1] }).count >= 9, "\(examples)")
        var help: [[String]: (status: Int32, output: String)] = [:]
        for e in examples {
            let h = help[e.command] ?? run([srcipBinary] + e.command + ["--help"])
            help[e.command] = h
            #expect(h.status == 0 && h.output.contains("USAGE: srcip \(e.command.joined(separator: " "))"), "\(e): no such command")
            for option in e.options {
                #expect(h.output.contains(option + " ") || h.output.contains(option + "\n") || h.output.contains(option + "]"),
                        "\(e): srcip \(e.command.joined(separator: " ")) has no \(option)")
            }
        }
    }
}
