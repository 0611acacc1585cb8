import SrcipCore
import SrcipKernel
import SrcipServices
import Synchronization

/// What reaches the trace consumer.
enum TraceEvent: Sendable {
    /// BPF records in ring order (one batch per drain of the ring, at most 1024).
    case observations([Observation])
    /// The periodic sweep of the BPF flow map: flows it ended as idle, flows that carried packets since the last
    /// sweep (no record is sent for those packets), and the CLOCK_MONOTONIC time of the sweep.
    case sweep(expired: [Observation], active: [ActiveFlow], nowNs: UInt64)
    /// kube-proxy's rules or the `--services` file changed: a read is pending, or its result.
    case catalog(CatalogWatchEvent)
}

/// One `srcip trace` run in Swift concurrency: the ring-buffer pump thread and a sweeper task feed one bounded
/// buffer that the calling task consumes; SIGINT/SIGTERM and `--duration` stop the tracer (detach, drain, end the
/// buffer), and the consumer's end cancels the rest. Nothing blocks a task; what the full buffer cannot take is counted.
/// Records travel in batches (one hand-over per drain of the ring, not per record); the buffer is bounded in records.
struct TracePipeline {
    let tracer: Tracer
    let idleTimeoutNs: UInt64
    let duration: Double?
    /// BPF records the buffer holds while the consumer lags; a batch that does not fit is dropped whole and counted.
    var capacity = 65_536
    var sweepInterval: Duration = .seconds(1)
    /// Follows Service changes into the buffer (nil: the catalog stays as read at start).
    var catalog: CatalogFollower?

    /// BPF records (and sweeps) the full buffer could not take.
    let dropped = DropCounter()
    /// BPF records in the buffer, not yet taken by the consumer.
    private let pending = PendingRecords()

    /// Runs until a signal, the duration, or `consume` returning true (e.g. `--count` reached); then detaches,
    /// and returns once the pump thread has finished. Errors from `consume` stop the trace and are rethrown.
    func run(consume: (TraceEvent) throws -> Bool) async throws {
        // Unbounded in events: the record bound is `pending`'s (sweeps and catalog events are one a second at most).
        let (events, channel) = AsyncStream<TraceEvent>.makeStream(bufferingPolicy: .unbounded)
        let (tracer, dropped, idleNs, interval, pending, capacity) = (tracer, dropped, idleTimeoutNs, sweepInterval, pending, capacity)
        try tracer.startReading(deliver: { batch in
            guard pending.reserve(batch.count, capacity: capacity) else { return dropped.add(UInt64(batch.count)) }
            if case .terminated = channel.yield(.observations(batch)) { pending.release(batch.count) }
        }, finish: { channel.finish() })
        defer { tracer.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                if await TerminationSignal.next() != nil { tracer.stop() }
            }
            if let duration {
                group.addTask {
                    try? await Task.sleep(for: .seconds(duration))
                    if !Task.isCancelled { tracer.stop() }
                }
            }
            group.addTask {
                var last: UInt64 = 0
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { return }
                    let now = KernelClock.nowNs()
                    let active = tracer.activeFlows(sinceNs: last)
                    last = now
                    let expired = (try? tracer.sweep(idleNs: idleNs)) ?? []
                    if case .dropped = channel.yield(.sweep(expired: expired, active: active, nowNs: now)) { dropped.add() }
                }
            }
            if let catalog {
                group.addTask { await catalog.run { if case .dropped = channel.yield($0) { false } else { true } } }
            }
            defer {
                tracer.stop()
                group.cancelAll()
            }
            for await event in events {
                if case .observations(let batch) = event { pending.release(batch.count) }
                if try consume(event) { break }
            }
        }
    }
}

/// Records handed to the consumer and not yet taken: reserved by the pump thread, released by the consumer.
final class PendingRecords: Sendable {
    private let count = Atomic<Int>(0)

    /// Takes room for `n` records if the total stays within `capacity`.
    func reserve(_ n: Int, capacity: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current + n <= capacity {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + n, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release(_ n: Int) { count.subtract(n, ordering: .relaxed) }
}
