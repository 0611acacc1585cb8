import Foundation
import Logging
import SrcipCore
import SrcipKernel

/// Messages for people on standard error (through swift-log), so standard output stays machine-readable.
enum Diagnostics {
    static let logger: Logger = {
        LoggingSystem.bootstrap { _ in StderrLogHandler() }
        return Logger(label: "srcip")
    }()

    static func note(_ s: String) { logger.info("\(s)") }
    static func warning(_ s: String) { logger.warning("\(s)") }
}

/// `srcip: message` lines on standard error; warnings and errors say so.
struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let prefix = event.level >= .warning ? "srcip: \(event.level): " : "srcip: "
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

/// Stops a trace on SIGINT, SIGTERM, after a duration, or when asked.
final class StopSignal: @unchecked Sendable {
    private let tracer: Tracer
    private var sources: [DispatchSourceSignal] = []
    private var timer: DispatchSourceTimer?
    private let lock = NSLock()
    private var fired = false

    init(tracer: Tracer) { self.tracer = tracer }

    func install(duration: Double?) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [weak self] in self?.fire() }
            s.resume()
            sources.append(s)
        }
        if let duration {
            let t = DispatchSource.makeTimerSource(queue: .global())
            t.schedule(deadline: .now() + duration)
            t.setEventHandler { [weak self] in self?.fire() }
            t.resume()
            timer = t
        }
    }

    /// Detaches the programs and ends the observation stream (after it drains). Idempotent.
    func fire() {
        lock.lock()
        let first = !fired
        fired = true
        lock.unlock()
        guard first else { return }
        timer?.cancel()
        tracer.close()
    }
}

/// Periodically ends idle flows in the BPF flow map; the resulting `.expired` observations and the
/// current CLOCK_MONOTONIC time go to `sink`.
final class FlowSweepTimer: @unchecked Sendable {
    private let timer: DispatchSourceTimer

    /// `sink` also gets the flows that saw packets since the previous sweep, so the correlator keeps them live.
    init(tracer: Tracer, idleNs: UInt64, interval: Double = 1,
         sink: @escaping @Sendable (_ expired: [Observation], _ active: [(tuple: FiveTuple, lastNs: UInt64)], _ nowNs: UInt64) -> Void) {
        timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + interval, repeating: interval)
        let last = LastSweep()
        timer.setEventHandler {
            let now = KernelClock.nowNs()
            let active = tracer.activeFlows(sinceNs: last.ns)
            last.ns = now
            let expired = (try? tracer.sweep(idleNs: idleNs)) ?? []
            sink(expired, active, now)
        }
        timer.resume()
    }

    /// When the previous sweep ran (only touched on the timer's queue).
    private final class LastSweep: @unchecked Sendable { var ns: UInt64 = 0 }

    func cancel() { timer.cancel() }
}

/// The closing line of a trace: what was written, and every loss.
enum TraceSummary {
    static func line(written: Int, unit: String, counters c: CounterSnapshot, received: UInt64,
                     correlator s: CorrelatorStats?) -> String {
        var text = "\(written) \(unit) written (\(received) BPF records received); ring buffer full: \(c.ringbufLost) lost; "
            + "BPF flows: \(c.flowsCreated) created, \(c.flowsEnded) ended, \(c.flowInsertFailed) not tracked (map full); "
            + "packets: \(c.packets) seen, \(c.notIP) not IP, \(c.truncated + c.badHeader) malformed, "
            + "\(c.fragment) fragments, \(c.unknownProto) other protocols"
        if let s {
            text += "; correlator: \(s.flowsEvicted) evicted (memory bound), \(s.lateRecords) late records, "
                + "\(s.unmatchedReplies) replies without request"
        }
        return text
    }
}

/// Errors of the command-line layer.
enum SrcipError: Error, CustomStringConvertible {
    case cannotRead(path: String, reason: String)

    var description: String {
        switch self {
        case .cannotRead(let path, let reason): return "cannot read \(path): \(reason)"
        }
    }
}
