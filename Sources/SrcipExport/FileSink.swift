import SrcipCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an export file could not be written.
public enum ExportError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)
    case writeFailed(path: String, errno: Int32)
    case closed(path: String)
    /// The file exists and the open mode is `.create`.
    case exists(path: String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let e):
            return "cannot open \(p) for writing: \(String(cString: strerror(e))); check the directory exists and is writable"
        case .writeFailed(let p, let e):
            return "writing \(p) failed: \(String(cString: strerror(e))); check free disk space"
        case .closed(let p):
            return "\(p) was already closed; create a new writer"
        case .exists(let p):
            return "\(p) already exists; add --append to add to it or --force to replace it"
        }
    }
}

/// How `FileSink` opens its file.
public enum FileOpenMode: Sendable {
    /// Replace an existing file.
    case truncate
    /// Create the file; an existing regular file is an error (`ExportError.exists`), never overwritten. Devices and
    /// pipes (`/dev/null`, a FIFO) are opened as they are.
    case create
    /// Add to the end of an existing file (created if missing).
    case append
}

/// A buffered, append-only output file (or standard output for the path `-`).
///
/// Line-atomic: callers write whole lines (or whole IPFIX messages), and every write(2) ends at such a boundary, at most
/// 64 KiB each, so a killed process leaves whole lines only. Files are flushed when 64 KiB are pending and whenever the
/// owner calls `flush()` (srcip trace: every second); standard output line by line. `reopen()` starts a new file at
/// the same path (after logrotate moved the old one) without losing what was buffered.
public final class FileSink {
    public let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let ownsFD: Bool
    private let flushAt: Int
    private let mode: FileOpenMode
    /// Largest single write(2).
    static let maxWrite = 1 << 16

    /// Opens `path` as `mode` says (default: create or truncate); `-` means standard output.
    public init(path: String, mode: FileOpenMode = .truncate) throws(ExportError) {
        self.path = path
        self.mode = mode
        if path == "-" {
            fd = 1
            ownsFD = false
            flushAt = 1
        } else {
            fd = try Self.open(path, mode)
            ownsFD = true
            flushAt = Self.maxWrite
        }
        buffer.reserveCapacity(flushAt * 2)
    }

    /// Writes line by line to a descriptor it does not own and never closes (standard output is one); `reopen()`
    /// keeps it.
    init(descriptor: Int32, name: String) {
        path = name
        mode = .append
        fd = descriptor
        ownsFD = false
        flushAt = 1
    }

    /// Whether `reopen()` opens the path anew (false for standard output).
    var reopensPath: Bool { ownsFD }

    private static func open(_ path: String, _ mode: FileOpenMode) throws(ExportError) -> Int32 {
        var flags: Int32
        switch mode {
        case .truncate: flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        case .create: flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
        case .append: flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
        }
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
            flags = O_WRONLY | O_CLOEXEC   // a device or pipe (/dev/null, /dev/stdout, a FIFO): nothing to refuse or truncate
        }
        let fd = Glibc.open(path, flags, 0o644)
        guard fd >= 0 else {
            if errno == EEXIST && mode == .create { throw .exists(path: path) }
            throw .cannotOpen(path: path, errno: errno)
        }
        return fd
    }

    deinit {
        if fd >= 0 { try? close() }
    }

    /// Whether the file is empty (a new file after `reopen()`); false for standard output.
    public var isEmptyFile: Bool {
        guard ownsFD, fd >= 0 else { return false }
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_size == 0 && buffer.isEmpty
    }

    /// Appends one or more whole lines (or one whole message).
    public func write(_ s: String) throws(ExportError) {
        guard fd >= 0 else { throw .closed(path: path) }
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= flushAt { try flush() }
    }

    public func write(_ bytes: [UInt8]) throws(ExportError) {
        guard fd >= 0 else { throw .closed(path: path) }
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushAt { try flush() }
    }

    /// Writes everything buffered, in writes of at most 64 KiB that end at a line break when there is one.
    public func flush() throws(ExportError) {
        guard fd >= 0 else { throw .closed(path: path) }
        var off = 0
        let total = buffer.count
        while off < total {
            var end = min(total, off + Self.maxWrite)
            if end < total, let nl = buffer[off..<end].lastIndex(of: 0x0A) { end = nl + 1 }
            let n = buffer.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress! + off, end - off) }
            if n < 0 {
                if errno == EINTR { continue }
                buffer.removeFirst(off)
                throw .writeFailed(path: path, errno: errno)
            }
            off += n
        }
        buffer.removeAll(keepingCapacity: buffer.capacity <= flushAt * 2)
    }

    /// Flushes and closes the file, then opens `path` again (appending, created if missing): after logrotate moved
    /// the file away, records continue in a new one. Standard output is only flushed.
    public func reopen() throws(ExportError) {
        try flush()
        guard ownsFD else { return }
        _ = Glibc.close(fd)
        fd = -1
        fd = try Self.open(path, .append)
    }

    public func close() throws(ExportError) {
        guard fd >= 0 else { return }
        try flush()
        if ownsFD { _ = Glibc.close(fd) }
        fd = -1
    }
}

/// Something that writes finished flow records to an output.
public protocol FlowRecordWriter: AnyObject {
    func write(_ record: FlowRecord) throws(ExportError)
    /// Flushes buffered output and closes the file.
    func close() throws(ExportError)
    /// Writes what is buffered (whole records only).
    func flush() throws(ExportError)
    /// Flushes, then continues in a new file at the same path (SIGHUP after logrotate).
    func reopen() throws(ExportError)
    /// What produced the records (JSON Lines: the first line, `"kind":"run"`); other formats ignore it.
    func writeRun(_ run: TraceRunRecord) throws(ExportError)
    /// Counters at the end (JSON Lines: the last line, `"kind":"summary"`); other formats ignore it.
    func writeSummary(_ summary: TraceSummaryRecord) throws(ExportError)
}

extension FlowRecordWriter {
    public func writeRun(_ run: TraceRunRecord) throws(ExportError) {}
    public func writeSummary(_ summary: TraceSummaryRecord) throws(ExportError) {}

    public func write(_ records: [FlowRecord]) throws(ExportError) {
        for r in records { try write(r) }
    }
}
