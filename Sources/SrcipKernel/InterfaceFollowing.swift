/// What following the node's interfaces did, for the log (`--verbose`).
public enum InterfaceChange: Sendable, Equatable, CustomStringConvertible {
    /// Hooks attached to an interface that appeared (created, moved in, or renamed to a selected name).
    case attached(NetworkInterface, mode: HookAttachment.Mode)
    /// Hooks of an interface that left (deleted, moved out, or renamed to a name not selected) let go.
    case detached(NetworkInterface, reason: String)
    /// A traced interface got a new name that is still selected; its hooks stay.
    case renamed(NetworkInterface, to: String)
    /// Attaching to an interface that appeared failed (e.g. it vanished again at once).
    case failed(NetworkInterface, reason: String)
    /// An interface that appeared was gone (or renamed) before its hooks could attach: no error.
    case vanished(NetworkInterface)
    /// The rtnetlink watch failed: interfaces appearing from now on are not attached.
    case monitorFailed(reason: String)

    /// Whether this is worth a warning even without `--verbose`: an interface that should be traced is not.
    public var isProblem: Bool {
        switch self {
        case .failed, .monitorFailed: return true
        case .attached, .detached, .renamed, .vanished: return false
        }
    }

    public var description: String {
        switch self {
        case let .attached(i, mode): return "interface \(i.name) (ifindex \(i.index)) appeared: attached (\(mode))"
        case let .detached(i, reason): return "interface \(i.name) (ifindex \(i.index)) \(reason): detached"
        case let .renamed(i, name): return "interface \(i.name) (ifindex \(i.index)) renamed to \(name): still traced"
        case let .failed(i, reason): return "interface \(i.name) (ifindex \(i.index)) appeared but attaching failed: \(reason)"
        case let .vanished(i): return "interface \(i.name) (ifindex \(i.index)) appeared and left before it could be attached"
        case let .monitorFailed(reason): return "watching interfaces failed (\(reason)); new interfaces are no longer attached"
        }
    }
}

/// How many interfaces a trace attached at start and later, and let go of.
public struct InterfaceCounts: Sendable, Equatable, CustomStringConvertible {
    public var atStart = 0
    public var attachedLater = 0
    public var removed = 0
    public var failed = 0

    public init(atStart: Int = 0, attachedLater: Int = 0, removed: Int = 0, failed: Int = 0) {
        (self.atStart, self.attachedLater, self.removed, self.failed) = (atStart, attachedLater, removed, failed)
    }

    /// e.g. `3 at start, 2 attached later, 1 removed`.
    public var description: String {
        "\(atStart) at start, \(attachedLater) attached later, \(removed) removed"
            + (failed > 0 ? ", \(failed) failed to attach" : "")
    }
}

/// What one batch of link events means for the attachments: pure, so it is tested without a kernel.
enum FollowPlan {
    enum Action: Equatable {
        case attach(NetworkInterface)
        case detach(NetworkInterface, reason: String)
        case rename(NetworkInterface, to: String)
    }

    /// `attached`: the traced interfaces by index, before the batch. Each index the batch touches is judged once, by
    /// its last state: gone → detach; a new name still selected → rename; a new name not selected → detach; removed
    /// and back under the same name (moved out and in) → detach and attach again; a new index selected → attach.
    static func actions(for events: [LinkEvent], attached: [UInt32: String], selection: InterfaceSelection) -> [Action] {
        var order: [UInt32] = []
        var last: [UInt32: String?] = [:]
        var wasRemoved = Set<UInt32>()
        for e in events {
            switch e {
            case .added(let i):
                if last[i.index] == nil { order.append(i.index) }
                last[i.index] = .some(i.name)
            case .removed(let i):
                if last[i.index] == nil { order.append(i.index) }
                last[i.index] = .some(nil)
                wasRemoved.insert(i.index)
            }
        }
        var out: [Action] = []
        for index in order {
            let final = last[index] ?? nil
            let old = attached[index].map { NetworkInterface(name: $0, index: index) }
            switch (old, final) {
            case (let old?, nil):
                out.append(.detach(old, reason: "removed"))
            case (let old?, let name?) where name == old.name:
                if wasRemoved.contains(index) {
                    out.append(.detach(old, reason: "left and came back"))
                    out.append(.attach(old))
                }
            case (let old?, let name?):
                out.append(selection.matches(name) ? .rename(old, to: name)
                                                   : .detach(old, reason: "renamed to \(name) (not selected)"))
            case (nil, let name?):
                if selection.matches(name) { out.append(.attach(NetworkInterface(name: name, index: index))) }
            case (nil, nil):
                break
            }
        }
        return out
    }
}
