import SrcipCore
import Synchronization

/// The whole kernel side in one object: loads the BPF programs, attaches them to the ingress and egress
/// hooks of some interfaces, and reads their records on a pump thread. Detaches everything on `stop()`, `close()`
/// or deinit; all of them are safe from any thread.
public final class Tracer: Sendable {
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
    public let attachments: [HookAttachment]
    /// What the start-up cleanup of killed srcip runs' clsact filters removed (`StaleFilters`).
    public let staleFilters: StaleFilters.Report
    /// The pump once reading started; whether `stop()` ran.
    private let state = Mutex<(pump: RingBufferPump?, stopped: Bool)>((nil, false))
    private let dropped = DropCounter()

    /// Loads and attaches. On failure nothing stays attached.
    public init(options: Options) throws {
        let object = try BPFObject(options: options.load)
        self.object = object
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

    /// Starts reading the ring buffer on a pump thread: every record goes to `deliver` (which must not block), until
    /// `stop()`; then the ring is drained and `finish` is called once. Only one reader per tracer.
    public func startReading(deliver: @escaping @Sendable (Observation) -> Void,
                             finish: @escaping @Sendable () -> Void) throws {
        try state.withLock { s in
            precondition(s.pump == nil, "Tracer.startReading called twice")
            guard !s.stopped else { finish(); return }
            s.pump = try RingBufferPump(object: object, deliver: deliver, finish: finish)
        }
    }

    /// Starts reading into a bounded stream of `capacity` observations. What does not fit while the consumer lags is
    /// counted in `observationsDropped`. The stream ends after `stop()` (once the ring is drained).
    public func observations(capacity: Int = 65_536) throws -> AsyncStream<Observation> {
        let (stream, continuation) = AsyncStream<Observation>.makeStream(bufferingPolicy: .bufferingOldest(capacity))
        let dropped = self.dropped
        try startReading(deliver: { o in
            if case .dropped = continuation.yield(o) { dropped.add() }
        }, finish: { continuation.finish() })
        return stream
    }

    /// Observations read from the ring but not taken by the full buffer of `observations(capacity:)`.
    public var observationsDropped: UInt64 { dropped.value }

    /// Records received by the reader so far.
    public var recordsReceived: UInt64 { state.withLock { $0.pump }?.received ?? 0 }

    /// Current counters of the BPF programs.
    public func counters() throws -> CounterSnapshot { try object.counters() }

    /// Ends flows idle for longer than `idleNs` (see `BPFObject.sweepFlows`).
    public func sweep(idleNs: UInt64) throws -> [Observation] { try object.sweepFlows(idleNs: idleNs) }

    /// Flows with packets since `sinceNs` (CLOCK_MONOTONIC) and their last packet time.
    public func activeFlows(sinceNs: UInt64) -> [ActiveFlow] { object.activeFlows(sinceNs: sinceNs) }

    /// Detaches all programs (from any thread: each attachment remembers its namespace) and asks the reader to
    /// drain and finish; returns without waiting for it. Idempotent.
    public func stop() {
        let pump = state.withLock { s -> RingBufferPump? in
            defer { s.stopped = true }
            return s.stopped ? nil : s.pump
        }
        attachments.forEach { $0.detach() }
        pump?.stop()
    }

    /// `stop()`, then waits until the reader has drained the ring and finished.
    public func close() {
        stop()
        state.withLock { $0.pump }?.join()
    }
}

/// Counts what a bounded buffer could not take; shared by producers on any thread.
public final class DropCounter: Sendable {
    private let count = Atomic<UInt64>(0)
    public init() {}
    public func add(_ n: UInt64 = 1) { count.add(n, ordering: .relaxed) }
    public var value: UInt64 { count.load(ordering: .relaxed) }
}
