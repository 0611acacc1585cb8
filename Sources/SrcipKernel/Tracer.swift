import Foundation
import SrcipCore

/// The whole kernel side in one object: loads the BPF programs, attaches them to the ingress and egress
/// hooks of some interfaces, and reads their records. Detaches everything on `close()` or deinit.
public final class Tracer: @unchecked Sendable {
    /// What to trace and how.
    public struct Options: Sendable {
        /// Interfaces (of the calling thread's network namespace) to attach to.
        public var interfaces: [String]
        /// Hooks to attach on each interface.
        public var hooks: [Hook] = [.ingress, .egress]
        /// Prefer tcx links (Linux 6.6+) over clsact filters.
        public var preferTCX: Bool = true
        /// Network namespace to attach in (e.g. `/run/netns/<name>`); nil: the calling thread's.
        public var netnsPath: String?
        public var load: LoadOptions = LoadOptions()

        public init(interfaces: [String]) { self.interfaces = interfaces }
    }

    public let object: BPFObject
    public private(set) var attachments: [HookAttachment] = []
    /// What the start-up cleanup of killed srcip runs' clsact filters removed (`StaleFilters`).
    public private(set) var staleFilters = StaleFilters.Report()
    private let reader: RingBufferReader
    private var closed = false

    /// Loads and attaches. On failure nothing stays attached.
    public init(options: Options) throws {
        let object = try BPFObject(options: options.load)
        self.object = object
        self.reader = try RingBufferReader(object: object)
        let attach = { () throws -> (StaleFilters.Report, [HookAttachment]) in
            let stale = StaleFilters.removeAll()
            var done: [HookAttachment] = []
            var seen = Set<UInt32>() // `-i X -i X` (or a name and its altname) is one attachment
            do {
                for name in options.interfaces {
                    guard seen.insert(try Interfaces.index(of: name)).inserted else { continue }
                    for hook in options.hooks {
                        done.append(try HookAttachment.attach(programFD: object.programFD(hook), interface: name,
                                                              hook: hook, preferTCX: options.preferTCX))
                    }
                }
            } catch {
                done.forEach { $0.detach() }
                throw error
            }
            return (stale, done)
        }
        if let path = options.netnsPath {
            (staleFilters, attachments) = try NetworkNamespace.run(path: path, attach)
        } else {
            (staleFilters, attachments) = try attach()
        }
    }

    deinit { close() }

    /// The flavour that was loaded (conntrack or fingerprint).
    public var flavour: TracerFlavour { object.flavour }

    /// Starts the reader thread; observations arrive until `close()`.
    public func observations() -> AsyncStream<Observation> { reader.start() }

    /// Records received by the reader so far.
    public var recordsReceived: UInt64 { reader.received }

    /// Current counters of the BPF programs.
    public func counters() throws -> CounterSnapshot { try object.counters() }

    /// Ends flows idle for longer than `idleNs` (see `BPFObject.sweepFlows`).
    public func sweep(idleNs: UInt64) throws -> [Observation] { try object.sweepFlows(idleNs: idleNs) }

    /// Flows with packets since `sinceNs` (CLOCK_MONOTONIC) and their last packet time.
    public func activeFlows(sinceNs: UInt64) -> [(tuple: FiveTuple, lastNs: UInt64)] { object.activeFlows(sinceNs: sinceNs) }

    /// Detaches all programs (from any thread: each attachment remembers its namespace) and stops the
    /// reader after a final drain. Safe to call twice.
    public func close() {
        if closed { return }
        closed = true
        attachments.forEach { $0.detach() }
        reader.stop()
    }
}
