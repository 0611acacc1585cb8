import SrcipCore
import Synchronization

/// The whole kernel side in one object: loads the BPF programs, attaches them to the ingress and egress
/// hooks of some interfaces — with `follow`, also to every selected interface that appears later, letting go of
/// those that leave — and reads their records on a pump thread. Detaches everything on `stop()`, `close()` or
/// deinit; all of them are safe from any thread.
public final class Tracer: Sendable {
    /// What to trace and how.
    public struct Options: Sendable {
        /// Interfaces (of the calling thread's network namespace) to attach to; used when `selection` is nil.
        public var interfaces: [String]
        /// Interfaces by pattern (`InterfaceSelection`); literal include names must exist at start.
        public var selection: InterfaceSelection?
        /// Watch rtnetlink and attach to selected interfaces that appear after start (created, moved into the
        /// namespace, renamed to a selected name); let go of those that leave. Needs `selection`.
        public var follow = false
        /// Told the name of every interface that appears or is renamed (before its hooks attach).
        public var interfaceNames: InterfaceNames?
        /// Told what following did (on the follower thread; must not block).
        public var onInterfaceChange: (@Sendable (InterfaceChange) -> Void)?
        /// Hooks to attach on each interface.
        public var hooks: [Hook] = [.ingress, .egress]
        /// Prefer tcx links (Linux 6.6+) over clsact filters.
        public var preferTCX: Bool = true
        /// Network namespace to attach in (e.g. `/run/netns/<name>`); nil: the calling thread's.
        public var netnsPath: String?
        public var load: LoadOptions = LoadOptions()

        public init(interfaces: [String]) { self.interfaces = interfaces }

        /// Interfaces chosen by `selection`, followed as they come and go unless `follow` is false.
        public init(selection: InterfaceSelection, follow: Bool = true) {
            interfaces = []
            self.selection = selection
            self.follow = follow
        }
    }

    public let object: BPFObject
    /// The interfaces attached at start, in the order of the selection.
    public let interfacesAtStart: [NetworkInterface]
    /// What the start-up cleanup of killed srcip runs' clsact filters removed (`StaleFilters`).
    public let staleFilters: StaleFilters.Report
    /// The pump once reading started; whether `stop()` ran.
    private let state = Mutex<(pump: RingBufferPump?, stopped: Bool)>((nil, false))
    private let dropped = DropCounter()
    let hooked: HookedInterfaces
    private let follower: InterfaceFollower?

    /// Loads and attaches. On failure nothing stays attached.
    public init(options: Options) throws {
        let object = try BPFObject(options: options.load)
        self.object = object
        let hooked = HookedInterfaces(programFD: { object.programFD($0) }, hooks: options.hooks,
                                      preferTCX: options.preferTCX)
        self.hooked = hooked
        let attach = { () throws -> (StaleFilters.Report, [NetworkInterface], LinkMonitor?) in
            let monitor = options.follow ? try LinkMonitor() : nil   // before listing: nothing falls in between
            let stale = StaleFilters.removeAll()
            let start = try Self.startInterfaces(options)
            do {
                for i in start { try hooked.attach(i) }
            } catch {
                hooked.detachAll()
                throw error
            }
            return (stale, start, monitor)
        }
        let monitor: LinkMonitor?
        if let path = options.netnsPath {
            (staleFilters, interfacesAtStart, monitor) = try NetworkNamespace.run(path: path, attach)
        } else {
            (staleFilters, interfacesAtStart, monitor) = try attach()
        }
        hooked.countStart(interfacesAtStart.count)
        guard let monitor, let selection = options.selection else {
            follower = nil
            return
        }
        let (names, report) = (options.interfaceNames, options.onInterfaceChange)
        do {
            follower = try InterfaceFollower(monitor: monitor, netnsPath: options.netnsPath, handle: { events in
                for case .added(let i) in events { names?.set(i.name, for: i.index) }
                for change in hooked.apply(events, selection: selection) { report?(change) }
            }, failed: { report?(.monitorFailed(reason: $0)) })
        } catch {
            hooked.detachAll()
            throw error
        }
    }

    /// The interfaces to attach at start.
    private static func startInterfaces(_ options: Options) throws -> [NetworkInterface] {
        guard let selection = options.selection else {
            var seen = Set<UInt32>() // `-i X -i X` (or a name and its altname) is one attachment
            return try options.interfaces.compactMap { name in
                let index = try Interfaces.index(of: name)
                return seen.insert(index).inserted ? NetworkInterface(name: name, index: index) : nil
            }
        }
        for name in selection.literalNames { _ = try Interfaces.index(of: name) }  // the error lists the available
        return selection.select(Interfaces.list(includeLoopback: true))
    }

    /// The hooks attached now (interfaces in the order they were attached).
    public var attachments: [HookAttachment] { hooked.attachments }

    /// The interfaces traced now.
    public var interfaces: [NetworkInterface] { hooked.interfaces }

    /// Interfaces attached at start and later, and let go of.
    public var interfaceCounts: InterfaceCounts { hooked.counts }

    /// Attaches the hooks to `interface` (of the calling thread's network namespace) if it is not traced yet.
    public func attach(interface: NetworkInterface) throws { try hooked.attach(interface) }

    /// Lets go of the hooks of interface `ifindex`; an interface already deleted is no error. Returns it if it was traced.
    @discardableResult
    public func detach(ifindex: UInt32) -> NetworkInterface? { hooked.detach(ifindex) }

    deinit { close() }

    /// The flavour that was loaded (conntrack or fingerprint).
    public var flavour: TracerFlavour { object.flavour }

    /// Starts reading the ring buffer on a pump thread: the records go to `deliver` (which must not block) in batches
    /// of up to 1024, in ring order, until `stop()`; then the ring is drained and `finish` is called once. Only one
    /// reader per tracer.
    public func startReading(deliver: @escaping @Sendable ([Observation]) -> Void,
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
        try startReading(deliver: { batch in
            for o in batch { if case .dropped = continuation.yield(o) { dropped.add() } }
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
        follower?.stop()
        hooked.detachAll()
        pump?.stop()
    }

    /// `stop()`, then waits until the reader has drained the ring and finished.
    public func close() {
        stop()
        follower?.join()
        hooked.detachAll()   // anything the follower attached while stopping
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
