import SrcipCore
import Synchronization

/// The interfaces a tracer has its hooks on, changed from the start-up code, the follower thread and `stop()`:
/// every change happens under one lock, so an interface is attached once, and nothing is attached after
/// `detachAll()` (a late attach is refused).
final class HookedInterfaces: Sendable {
    private struct State {
        var byIndex: [UInt32: (interface: NetworkInterface, hooks: [HookAttachment])] = [:]
        var order: [UInt32] = []
        var closed = false
        var counts = InterfaceCounts()
    }

    private let state = Mutex(State())
    private let programFD: @Sendable (Hook) -> Int32
    private let hooks: [Hook]
    private let preferTCX: Bool

    init(programFD: @escaping @Sendable (Hook) -> Int32, hooks: [Hook], preferTCX: Bool) {
        self.programFD = programFD
        self.hooks = hooks
        self.preferTCX = preferTCX
    }

    var attachments: [HookAttachment] { state.withLock { s in s.order.flatMap { s.byIndex[$0]?.hooks ?? [] } } }
    var interfaces: [NetworkInterface] { state.withLock { s in s.order.compactMap { s.byIndex[$0]?.interface } } }
    var counts: InterfaceCounts { state.withLock { $0.counts } }

    func countStart(_ n: Int) { state.withLock { $0.counts.atStart = n } }

    /// Attaches every hook to `i` (calling thread's network namespace); all or none. Returns the mode, nil if `i`
    /// was attached already or the tracer is closed.
    @discardableResult
    func attach(_ i: NetworkInterface) throws -> HookAttachment.Mode? {
        try state.withLock { s in
            guard !s.closed, s.byIndex[i.index] == nil else { return nil }
            var done: [HookAttachment] = []
            do {
                for hook in hooks {
                    done.append(try HookAttachment.attach(programFD: programFD(hook), interface: i, hook: hook,
                                                          preferTCX: preferTCX))
                }
            } catch {
                done.forEach { $0.detach() }
                throw error
            }
            s.byIndex[i.index] = (i, done)
            s.order.append(i.index)
            return done.first?.mode
        }
    }

    /// Detaches the hooks of `index` (an interface already gone took its tcx links and clsact filters with it:
    /// no error). Returns the interface if it was attached.
    @discardableResult
    func detach(_ index: UInt32) -> NetworkInterface? {
        state.withLock { s in
            guard let entry = s.byIndex.removeValue(forKey: index) else { return nil }
            s.order.removeAll { $0 == index }
            entry.hooks.forEach { $0.detach() }
            return entry.interface
        }
    }

    /// Detaches everything and refuses later attaches. Idempotent.
    func detachAll() {
        state.withLock { s in
            s.closed = true
            for index in s.order { s.byIndex[index]?.hooks.forEach { $0.detach() } }
            s.byIndex = [:]
            s.order = []
        }
    }

    /// Carries out what a batch of link events means (`FollowPlan`) and says what it did.
    func apply(_ events: [LinkEvent], selection: InterfaceSelection) -> [InterfaceChange] {
        let attached = state.withLock { s in s.byIndex.mapValues(\.interface.name) }
        var changes: [InterfaceChange] = []
        for action in FollowPlan.actions(for: events, attached: attached, selection: selection) {
            switch action {
            case .attach(let i):
                do {
                    guard let mode = try attach(i) else { continue }
                    state.withLock { $0.counts.attachedLater += 1 }
                    changes.append(.attached(i, mode: mode))
                } catch where Interfaces.name(of: i.index) != i.name {
                    changes.append(.vanished(i))   // deleted, moved or renamed at once; its next event says which
                } catch {
                    state.withLock { $0.counts.failed += 1 }
                    changes.append(.failed(i, reason: "\(error)"))
                }
            case let .detach(i, reason):
                guard detach(i.index) != nil else { continue }
                state.withLock { $0.counts.removed += 1 }
                changes.append(.detached(i, reason: reason))
            case let .rename(i, name):
                state.withLock { s in s.byIndex[i.index]?.interface.name = name }
                changes.append(.renamed(i, to: name))
            }
        }
        return changes
    }
}
