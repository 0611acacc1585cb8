import Foundation
import Logging
import SrcipCore
import SrcipKernel
import SrcipVersion

/// Messages for people on standard error (through swift-log), so standard output stays machine-readable.
enum Diagnostics {
    static let logger: Logger = {
        LoggingSystem.bootstrap { _ in StderrLogHandler() }
        return Logger(label: "srcip")
    }()

    static func note(_ s: String) { logger.info("\(s)") }
    static func warning(_ s: String) { logger.warning("\(s)") }
    /// A line that names srcip and its version itself (`srcip VERSION: …`): written without the `srcip: ` prefix.
    static func summary(_ s: String) { logger.info("\(s)", metadata: [StderrLogHandler.bareKey: "true"]) }
}

/// `srcip: message` lines on standard error; warnings and errors say so.
struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Metadata key of lines that carry their own prefix.
    static let bareKey = "srcip.bare"

    func log(event: LogEvent) {
        let bare = event.metadata?[Self.bareKey] != nil
        let prefix = event.level >= .warning ? "srcip: \(event.level): " : bare ? "" : "srcip: "
        FileHandle.standardError.write(Data((prefix + event.message.description + "\n").utf8))
    }
}

/// The name srcip reports for the node it runs on.
enum NodeIdentity {
    /// The name of the current network namespace if it is a named one (`ip netns`), else the host name.
    static func current() -> String {
        if let name = namedNetns() { return name }
        return ProcessInfo.processInfo.hostName
    }

    private static func namedNetns() -> String? {
        var own = stat()
        guard stat("/proc/self/ns/net", &own) == 0,
              let names = try? FileManager.default.contentsOfDirectory(atPath: "/run/netns") else { return nil }
        var root = stat()
        if stat("/proc/1/ns/net", &root) == 0 && root.st_ino == own.st_ino { return nil }
        for name in names.sorted() {
            var st = stat()
            if stat("/run/netns/\(name)", &st) == 0 && st.st_ino == own.st_ino && st.st_dev == own.st_dev { return name }
        }
        return nil
    }
}

/// The closing line of a trace: srcip's version, what was written, and every loss.
enum TraceSummary {
    static func line(written: Int, unit: String, counters c: CounterSnapshot, received: UInt64, bufferDropped: UInt64,
                     correlator s: CorrelatorStats?, version: String = SrcipVersion.current) -> String {
        var text = "srcip \(version): \(written) \(unit) written (\(received) BPF records received); ring buffer full: \(c.ringbufLost) lost; "
            + "consumer buffer full: \(bufferDropped) dropped; "
            + "BPF flows: \(c.flowsCreated) created, \(c.flowsEnded) ended, \(c.flowsEvicted) evicted (map full), \(c.flowInsertFailed) not tracked (map full), "
            + "\(c.handshakesDeferred) handshakes recorded before their flow's second packet; "
            + "packets: \(c.packets) seen, \(c.notIP) not IP, \(c.truncated + c.badHeader) malformed, "
            + "\(c.fragment) fragments, \(c.unknownProto) other protocols"
        if let s {
            text += "; correlator: \(s.flowsEvicted) evicted (memory bound), \(s.lateRecords) late records, "
                + "\(s.unmatchedReplies) replies without request"
            if s.newFlowsSampledOut > 0 {
                text += "; sampling (--max-new-flows): \(s.newFlowsSampledOut) new flows not traced (\(s.recordsSampledOut) records), "
                    + "at most 1 in \(s.samplingDivisorMax) traced"
            }
        }
        return text
    }
}

/// Errors of the command-line layer.
enum SrcipError: Error, CustomStringConvertible {
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    var description: String {
        switch self {
        case .cannotRead(let path, let reason): return "cannot read \(path): \(reason)"
        case .cannotWrite(let path, let reason): return "cannot write \(path): \(reason); check that its directory exists and is writable"
        }
    }
}
