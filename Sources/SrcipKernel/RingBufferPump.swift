import Glibc
import SrcipCore
import SrcipSystem
import Synchronization

/// Runs a `RingBufferReader` on its own thread — a blocking `poll(2)` loop that is no Swift task — until `stop()`:
/// it waits for a wakeup from the BPF side, a stop request or 100 ms (the BPF side wakes the reader only once 1024
/// records wait), hands the records to `deliver` in batches (all a drain found, at most `maxBatch` each: one hand-over
/// per batch instead of per record), and after a stop drains what is left and calls `finish` once.
/// `deliver` must not block (hand the batch to a bounded buffer and count what does not fit).
final class RingBufferPump: Sendable {
    /// What the pump thread and its owner share.
    private final class Shared: Sendable {
        /// Records taken from the ring (decoded or not), published by the pump thread after each round.
        let received = Atomic<UInt64>(0)
        let stopRequested = Atomic<Bool>(false)
    }

    private let shared = Shared()
    /// Write end of the pipe that wakes the pump thread.
    private let wakeFD: Int32
    /// The pump thread.
    private let thread: DedicatedThread

    /// The state handed to the pump thread. Not Sendable (the reader is single-threaded): created here, then touched
    /// by the pump thread only.
    private final class Loop {
        let reader: RingBufferReader
        let wakeRead: Int32
        let finish: @Sendable () -> Void
        let shared: Shared
        let batch: Batch

        init(reader: RingBufferReader, batch: Batch, wakeRead: Int32, finish: @escaping @Sendable () -> Void, shared: Shared) {
            self.reader = reader
            self.batch = batch
            self.wakeRead = wakeRead
            self.finish = finish
            self.shared = shared
        }

        /// Handles everything in the ring and hands the rest of the batch over.
        func drain() {
            reader.drain()
            batch.flush()
            shared.received.store(reader.received, ordering: .releasing)
        }

        func run() {
            var fds = [pollfd(fd: reader.epollFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            while !shared.stopRequested.load(ordering: .acquiring) {
                _ = Glibc.poll(&fds, nfds_t(fds.count), 100)
                drain()
            }
            drain()
            close(wakeRead)
            finish()
        }
    }

    /// Records collected by the reader's callback on the pump thread, handed over by `flush()` (or when full).
    private final class Batch {
        let deliver: @Sendable ([Observation]) -> Void
        let maxCount: Int
        var items: [Observation] = []

        init(maxCount: Int, deliver: @escaping @Sendable ([Observation]) -> Void) {
            self.maxCount = maxCount
            self.deliver = deliver
            items.reserveCapacity(maxCount)
        }

        func add(_ o: Observation) {
            items.append(o)
            if items.count >= maxCount { flush() }
        }

        func flush() {
            guard !items.isEmpty else { return }
            deliver(items)
            items = []
            items.reserveCapacity(maxCount)
        }
    }

    /// Most records handed over at once.
    static let maxBatch = 1024

    /// Starts the pump thread on the object's `events` ring buffer.
    init(object: BPFObject, deliver: @escaping @Sendable ([Observation]) -> Void, finish: @escaping @Sendable () -> Void) throws {
        let batch = Batch(maxCount: Self.maxBatch, deliver: deliver)
        let reader = try RingBufferReader(object: object, handler: batch.add)
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { throw KernelError.systemCall("pipe", errno: errno) }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wakeFD = pipeFDs[1]
        let loop = Loop(reader: reader, batch: batch, wakeRead: pipeFDs[0], finish: finish, shared: shared)
        do throws(DedicatedThreadError) {
            thread = try DedicatedThread { loop.run() }
        } catch {
            close(pipeFDs[0])
            close(pipeFDs[1])
            throw KernelError.systemCall("pthread_create", errno: error.errno)
        }
    }

    deinit {
        stop()
        join()
        close(wakeFD)
    }

    /// Records taken from the ring buffer so far.
    var received: UInt64 { shared.received.load(ordering: .acquiring) }

    /// Asks the pump to drain and finish; returns at once. Safe from any thread, any number of times.
    func stop() {
        guard !shared.stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(wakeFD, &byte, 1)
    }

    /// Waits until the pump thread has finished (after `stop()`).
    func join() { thread.join() }
}
