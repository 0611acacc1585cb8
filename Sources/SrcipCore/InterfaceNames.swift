import Synchronization

/// ifindex → interface name, shared by whoever follows the node's interfaces (it writes) and whatever names them
/// in records (it reads), on any thread. Names are never forgotten: a flow that ends after its interface was
/// deleted still gets the name it had; a renamed interface is named by its new name from then on.
public final class InterfaceNames: Sendable {
    private let table: Mutex<[UInt32: String]>

    public init(_ initial: [UInt32: String] = [:]) { table = Mutex(initial) }

    /// Records the (new) name of `index`.
    public func set(_ name: String, for index: UInt32) { table.withLock { $0[index] = name } }

    /// The last name known for `index`.
    public func name(of index: UInt32) -> String? { table.withLock { $0[index] } }

    /// Everything known, by index.
    public var snapshot: [UInt32: String] { table.withLock { $0 } }
}
