import CLibbpf
import CSrcipABI
import Foundation
import SrcipCore

/// Reads srcip records from the `events` ring buffer.
///
/// Records reach user space within 100 ms, sooner under load (see `poll(timeoutMs:)`).
/// Two ways to use it: `start()` runs a dedicated thread polling every 100 ms and yields decoded
/// observations as an `AsyncStream`; or call `poll(timeoutMs:)`/`drain()` yourself, which hand records to
/// the synchronous `handler` (the fast path for benchmarks).
public final class RingBufferReader: @unchecked Sendable {
    /// Receives each decoded record on the polling thread.
    public typealias Handler = (Observation) -> Void

    private final class Context {
        var handler: Handler
        var received: UInt64 = 0
        var decodeErrors: UInt64 = 0
        init(handler: @escaping Handler) { self.handler = handler }
    }

    private let ring: OpaquePointer
    private let context: Context
    private let lock = NSLock()
    private var running = false
    private var stopRequested = false
    private var finished: DispatchSemaphore?
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

    deinit {
        stop()
        ring_buffer__free(ring)
    }

    /// Records received so far (decoded or not).
    public var received: UInt64 { context.received }
    /// Records that did not decode (ABI mismatch).
    public var decodeErrors: UInt64 { context.decodeErrors }

    /// Waits up to `timeoutMs` for a wakeup, then handles whatever is there; returns the number handled.
    /// The BPF side wakes the reader only once 64 records are waiting, so a trickle is picked up when the
    /// timeout expires. Not to be mixed with `start()`.
    @discardableResult
    public func poll(timeoutMs: Int32) -> Int {
        let woken = ring_buffer__poll(ring, timeoutMs)
        let rest = ring_buffer__consume(ring)
        return Int(max(woken, 0) + max(rest, 0))
    }

    /// Handles every record currently in the ring without waiting.
    @discardableResult
    public func drain() -> Int { Int(ring_buffer__consume(ring)) }

    /// Starts the polling thread; observations arrive on the returned stream until `stop()`.
    public func start() -> AsyncStream<Observation> {
        let (stream, continuation) = AsyncStream<Observation>.makeStream(bufferingPolicy: .unbounded)
        lock.lock()
        precondition(!running, "RingBufferReader.start() called twice")
        running = true
        stopRequested = false
        let done = DispatchSemaphore(value: 0)
        finished = done
        lock.unlock()
        context.handler = { continuation.yield($0) }
        let thread = Thread { [self] in
            while !self.isStopRequested { self.poll(timeoutMs: 100) }
            _ = ring_buffer__consume(self.ring)
            continuation.finish()
            done.signal()
        }
        thread.name = "srcip-ringbuf"
        thread.start()
        return stream
    }

    /// Stops the polling thread (after a final drain) and waits for it to exit.
    public func stop() {
        lock.lock()
        guard running, let done = finished else { lock.unlock(); return }
        stopRequested = true
        running = false
        finished = nil
        lock.unlock()
        done.wait()
    }

    private var isStopRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }
}
