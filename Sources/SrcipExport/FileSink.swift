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

    public var description: String {
        switch self {
        case .cannotOpen(let p, let e):
            return "cannot open \(p) for writing: \(String(cString: strerror(e))); check the directory exists and is writable"
        case .writeFailed(let p, let e):
            return "writing \(p) failed: \(String(cString: strerror(e))); check free disk space"
        case .closed(let p):
            return "\(p) was already closed; create a new writer"
        }
    }
}

/// A buffered, append-only output file (or standard output for the path `-`).
public final class FileSink {
    public let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let ownsFD: Bool
    /// Files are written in 64 KiB batches; standard output line by line, so people see records as they come.
    private let flushAt: Int

    /// Opens (creates or truncates) `path`; `-` means standard output.
    public init(path: String) throws(ExportError) {
        self.path = path
        if path == "-" {
            fd = 1
            ownsFD = false
            flushAt = 1
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
            ownsFD = true
            flushAt = 1 << 16
        }
        buffer.reserveCapacity(flushAt * 2)
    }

    deinit {
        if fd >= 0 { try? close() }
    }

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

    public func flush() throws(ExportError) {
        guard fd >= 0 else { throw .closed(path: path) }
        var off = 0
        while off < buffer.count {
            let n = buffer.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress! + off, raw.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, errno: errno)
            }
            off += n
        }
        buffer.removeAll(keepingCapacity: true)
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
}

extension FlowRecordWriter {
    public func write(_ records: [FlowRecord]) throws(ExportError) {
        for r in records { try write(r) }
    }
}
