import Foundation

/// The JUnit XML schema CI servers read (Tests/Fixtures/junit-4.xsd), checked with `xmllint` from libxml2-utils.
public enum JUnitSchema {
    public static var path: String { TestEnvironment.packageRoot.appendingPathComponent("Tests/Fixtures/junit-4.xsd").path }

    /// `xmllint --noout --schema junit-4.xsd FILE`: its exit status and what it printed.
    public static func validate(file: String) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        p.arguments = ["--noout", "--schema", path, file]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
