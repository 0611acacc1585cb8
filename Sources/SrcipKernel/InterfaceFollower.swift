import Glibc
import SrcipSystem
import Synchronization

/// Runs a `LinkMonitor` on its own thread (inside the tracer's network namespace) and hands every batch of link
/// events to `handle` at once, until `stop()`: interfaces are attached within one netlink round trip of appearing.
final class InterfaceFollower: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let thread = Mutex<DedicatedThread?>(nil)

    /// The state handed to the thread. Not Sendable (the monitor is single-threaded): created by `init`, then
    /// touched by the follower thread only.
    private final class Loop {
        let monitor: LinkMonitor
        let netnsPath: String?
        let handle: @Sendable ([LinkEvent]) -> Void
        let failed: @Sendable (String) -> Void
        let follower: InterfaceFollower

        init(monitor: sending LinkMonitor, netnsPath: String?, handle: @escaping @Sendable ([LinkEvent]) -> Void,
             failed: @escaping @Sendable (String) -> Void, follower: InterfaceFollower) {
            (self.monitor, self.netnsPath, self.handle, self.failed, self.follower) = (monitor, netnsPath, handle, failed, follower)
        }

        func run() {
            do {
                if let netnsPath { try NetworkNamespace.run(path: netnsPath) { try loop() } } else { try loop() }
            } catch {
                failed("\(error)")
            }
            monitor.close()
        }

        private func loop() throws {
            while !follower.stopRequested.load(ordering: .acquiring) {
                let events = try monitor.poll(timeoutMs: 100)
                if !events.isEmpty && !follower.stopRequested.load(ordering: .acquiring) { handle(events) }
            }
        }
    }

    /// Starts following with `monitor` (created in the namespace at `netnsPath`, or the caller's when nil). `handle`
    /// runs on the follower thread, in that namespace; `failed` once if the watch breaks.
    init(monitor: sending LinkMonitor, netnsPath: String?, handle: @escaping @Sendable ([LinkEvent]) -> Void,
         failed: @escaping @Sendable (String) -> Void) throws {
        let loop = Loop(monitor: monitor, netnsPath: netnsPath, handle: handle, failed: failed, follower: self)
        do throws(DedicatedThreadError) {
            let started = try DedicatedThread { loop.run() }
            thread.withLock { $0 = started }
        } catch {
            throw KernelError.systemCall("pthread_create", errno: error.errno)
        }
    }

    /// Asks the thread to end (within 100 ms); returns at once. Idempotent, any thread.
    func stop() { stopRequested.store(true, ordering: .releasing) }

    /// Waits for the thread to end (after `stop()`). Must not be called from `handle`.
    func join() { thread.withLock { $0 }?.join() }
}
