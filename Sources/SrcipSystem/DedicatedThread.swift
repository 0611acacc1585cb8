import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A POSIX thread of its own for work that blocks (`poll(2)` on the ring buffer or rtnetlink) or must change the
/// thread's network namespace — neither belongs on a Swift concurrency thread. The one place srcip starts threads.
public final class DedicatedThread: Sendable {
    /// The thread until it is joined.
    private let thread: Mutex<pthread_t?>

    /// Starts `body` on a new thread. `body` is handed over (`sending`): it may hold non-Sendable state that only
    /// the new thread touches from now on.
    public init(_ body: sending @escaping () -> Void) throws(DedicatedThreadError) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw DedicatedThreadError(errno: rc)
        }
        thread = Mutex(tid)
    }

    /// Starts `body` on a new detached thread that nobody joins (a connection handler, a daemon's accept loop):
    /// its resources go back to the system when it ends.
    public static func detached(_ body: sending @escaping () -> Void) throws(DedicatedThreadError) {
        let thread = try DedicatedThread(body)
        thread.thread.withLock { t in
            if let tid = t { pthread_detach(tid) }
            t = nil
        }
    }

    /// Waits for the thread to end; later calls return at once. Must not be called from the thread itself.
    public func join() {
        let tid = thread.withLock { t -> pthread_t? in
            defer { t = nil }
            return t
        }
        if let tid { pthread_join(tid, nil) }
    }

    /// The closure, carried to the new thread through an opaque pointer (touched by that thread only).
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
}

/// No thread could be started.
public struct DedicatedThreadError: Error, Equatable, CustomStringConvertible {
    public var errno: Int32
    public var description: String { "cannot start a thread: \(String(cString: strerror(errno)))" }
}
