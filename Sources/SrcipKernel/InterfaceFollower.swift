import Glibc
import Synchronization

/// Runs a `LinkMonitor` on its own thread (inside the tracer's network namespace) and hands every batch of link
/// events to `handle` at once, until `stop()`: interfaces are attached within one netlink round trip of appearing.
final class InterfaceFollower: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let thread: Mutex<pthread_t?> = Mutex(nil)

    /// The state handed to the thread. Not Sendable (the monitor is single-threaded): created by `init`, then
    /// touched by the follower thread only.
    private final class Loop {
        let monitor: LinkMonitor
        let netnsPath: String?
        let handle: @Sendable ([LinkEvent]) -> Void
        let failed: @Sendable (String) -> Void
        let follower: InterfaceFollower

        init(monitor: LinkMonitor, netnsPath: String?, handle: @escaping @Sendable ([LinkEvent]) -> Void,
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
    init(monitor: LinkMonitor, netnsPath: String?, handle: @escaping @Sendable ([LinkEvent]) -> Void,
         failed: @escaping @Sendable (String) -> Void) throws {
        let loop = Loop(monitor: monitor, netnsPath: netnsPath, handle: handle, failed: failed, follower: self)
        let arg = Unmanaged.passRetained(loop).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            let loop = Unmanaged<Loop>.fromOpaque(raw!).takeRetainedValue()
            loop.run()
            return nil
        }, arg)
        guard rc == 0 else {
            Unmanaged<Loop>.fromOpaque(arg).release()
            throw KernelError.systemCall("pthread_create", errno: rc)
        }
        thread.withLock { $0 = tid }
    }

    /// Asks the thread to end (within 100 ms); returns at once. Idempotent, any thread.
    func stop() { stopRequested.store(true, ordering: .releasing) }

    /// Waits for the thread to end (after `stop()`). Must not be called from `handle`.
    func join() {
        let tid = thread.withLock { t -> pthread_t? in
            defer { t = nil }
            return t
        }
        if let tid { pthread_join(tid, nil) }
    }
}
