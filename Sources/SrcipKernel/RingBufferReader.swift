import CLibbpf
import CSrcipABI
import Glibc
import SrcipCore

/// Reads srcip records from the `events` ring buffer on the calling thread: `poll(timeoutMs:)` and `drain()` hand
/// every decoded record to `handler` (the synchronous fast path of tests and benchmarks). `RingBufferPump` runs one
/// on its own thread for a trace.
///
/// Not `Sendable`: libbpf's ring buffer manager and the counters here are used by one thread at a time.
public final class RingBufferReader {
    /// Receives each decoded record on the thread that polls.
    public typealias Handler = (Observation) -> Void

    private final class Context {
        let handler: Handler
        var received: UInt64 = 0
        var decodeErrors: UInt64 = 0
        init(handler: @escaping Handler) { self.handler = handler }
    }

    private let ring: OpaquePointer
    private let context: Context
    /// Keeps the BPF object (and thus the map fd) alive.
    private let owner: AnyObject?

    /// Opens a reader on a ring buffer map fd. `handler` gets every record decoded by `poll`/`drain`.
    public init(mapFD: Int32, owner: AnyObject? = nil, handler: @escaping Handler = { _ in }) throws {
        let ctx = Context(handler: handler)
        let callback: ring_buffer_sample_fn = { raw, data, size in
            guard let raw, let data else { return 0 }
            let ctx = Unmanaged<Context>.fromOpaque(raw).takeUnretainedValue()
            ctx.received += 1
            do {
                ctx.handler(try RecordDecoder.decode(UnsafeRawBufferPointer(start: data, count: size)))
            } catch {
                ctx.decodeErrors += 1
            }
            return 0
        }
        guard let rb = ring_buffer__new(mapFD, callback, Unmanaged.passUnretained(ctx).toOpaque(), nil) else {
            throw KernelError.systemCall("ring_buffer__new", errno: errno)
        }
        self.ring = rb
        self.context = ctx
        self.owner = owner
    }

    /// Opens a reader on the object's `events` map.
    public convenience init(object: BPFObject, handler: @escaping Handler = { _ in }) throws {
        try self.init(mapFD: object.eventsFD, owner: object, handler: handler)
    }

    deinit { ring_buffer__free(ring) }

    /// Records received so far (decoded or not).
    public var received: UInt64 { context.received }
    /// Records that did not decode (ABI mismatch).
    public var decodeErrors: UInt64 { context.decodeErrors }

    /// An epoll fd that becomes readable when the BPF side wakes the reader (for waiting on it with other fds).
    var epollFD: Int32 { ring_buffer__epoll_fd(ring) }

    /// Waits up to `timeoutMs` for a wakeup, then handles whatever is there; returns the number handled.
    /// The BPF side wakes the reader only once 1024 records are waiting, so a trickle is picked up when the
    /// timeout expires.
    @discardableResult
    public func poll(timeoutMs: Int32) -> Int {
        let woken = ring_buffer__poll(ring, timeoutMs)
        let rest = ring_buffer__consume(ring)
        return Int(max(woken, 0) + max(rest, 0))
    }

    /// Handles every record currently in the ring without waiting.
    @discardableResult
    public func drain() -> Int { Int(ring_buffer__consume(ring)) }
}
