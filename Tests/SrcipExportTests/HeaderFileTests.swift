import Foundation
import Testing
import SrcipCore
@testable import SrcipExport

/// CSV and table files open with one header line: in every new or empty file (also the new file after SIGHUP's
/// reopen), never twice in one file, never into a file appended to.
@Suite struct HeaderFileTests {
    /// A format with a header line, the header as written and how a record's line ends.
    struct Case: CustomStringConvertible, Sendable {
        let format: FlowRecordFormat
        let header: String
        /// Whether closing a writer that wrote no record leaves the header (CSV: an empty table with its columns).
        let headerWithoutRecords: Bool
        var description: String { format.rawValue }
    }

    static let cases = [
        Case(format: .csv, header: CSVWriter.columns.joined(separator: ",") + "\r\n", headerWithoutRecords: true),
        Case(format: .table, header: FlowRecord.tableHeader + "\n", headerWithoutRecords: false),
    ]

    static func tempPath(_ c: Case) -> String {
        NSTemporaryDirectory() + "srcip-header-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).\(c.format.rawValue)"
    }

    static func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    static func headerCount(_ text: String, _ c: Case) -> Int { text.components(separatedBy: c.header).count - 1 }

    @Test(arguments: cases) func oneHeaderBeforeTheRecords(_ c: Case) throws {
        let path = Self.tempPath(c)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try c.format.writer(path: path)
        try w.write([Fixtures.snatRecord, Fixtures.droppedV6])
        try w.flush()
        try w.write(Fixtures.dnatV6)
        try w.close()
        let text = try Self.read(path)
        #expect(text.hasPrefix(c.header))
        #expect(Self.headerCount(text, c) == 1)
        #expect(text.count > c.header.count)
    }

    @Test(arguments: cases) func reopenAfterAMoveStartsTheNewFileWithTheHeader(_ c: Case) throws {
        let path = Self.tempPath(c)
        let moved = path + ".1"
        defer { for p in [path, moved] { try? FileManager.default.removeItem(atPath: p) } }
        let w = try c.format.writer(path: path)
        try w.write(Fixtures.snatRecord)
        try w.reopen()   // the same file, not moved: it has the header already
        try w.write(Fixtures.droppedV6)
        try w.flush()
        try FileManager.default.moveItem(atPath: path, toPath: moved)
        try w.reopen()
        try w.write(Fixtures.dnatV6)
        try w.close()
        let old = try Self.read(moved), new = try Self.read(path)
        #expect(old.hasPrefix(c.header) && Self.headerCount(old, c) == 1)
        #expect(new.hasPrefix(c.header) && Self.headerCount(new, c) == 1)
        #expect(new.count > c.header.count && !new.dropFirst(c.header.count).isEmpty)
    }

    /// Standard output cannot be reopened: a SIGHUP before the first record leaves the header owed, not skipped.
    @Test(arguments: cases) func reopeningStandardOutputBeforeTheFirstRecordKeepsTheHeader(_ c: Case) throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let sink = FileSink(descriptor: fds[1], name: "-")
        let w: any FlowRecordWriter = c.format == .csv ? CSVWriter(sink: sink) : TableWriter(sink: sink)
        try w.reopen()
        try w.write(Fixtures.snatRecord)
        try w.reopen()
        try w.write(Fixtures.droppedV6)
        try w.close()
        close(fds[1])
        let text = String(decoding: FileHandle(fileDescriptor: fds[0]).readDataToEndOfFile(), as: UTF8.self)
        #expect(text.hasPrefix(c.header) && Self.headerCount(text, c) == 1)
        #expect(text.count > c.header.count)
    }

    @Test(arguments: cases) func appendingAddsNoSecondHeader(_ c: Case) throws {
        let path = Self.tempPath(c)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try c.format.writer(path: path)
        try first.write(Fixtures.snatRecord)
        try first.close()
        let before = try Self.read(path)
        let second = try c.format.writer(path: path, mode: .append)
        try second.write(Fixtures.droppedV6)
        try second.close()
        let after = try Self.read(path)
        #expect(after.hasPrefix(before) && after.count > before.count)
        #expect(Self.headerCount(after, c) == 1)
    }

    @Test(arguments: cases) func appendingToAnEmptyFileWritesTheHeader(_ c: Case) throws {
        let path = Self.tempPath(c)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let w = try c.format.writer(path: path, mode: .append)
        try w.write(Fixtures.snatRecord)
        try w.close()
        let text = try Self.read(path)
        #expect(text.hasPrefix(c.header) && Self.headerCount(text, c) == 1)
    }

    @Test(arguments: cases) func closingWithoutRecords(_ c: Case) throws {
        let path = Self.tempPath(c)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try c.format.writer(path: path)
        try w.close()
        #expect(try Self.read(path) == (c.headerWithoutRecords ? c.header : ""))
    }
}
