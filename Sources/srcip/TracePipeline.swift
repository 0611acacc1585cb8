import SrcipCore
import SrcipKernel
import SrcipServices

/// What reaches the trace consumer.
enum TraceEvent: Sendable {
    /// One BPF record.
    case observation(Observation)
    /// The periodic sweep of the BPF flow map: flows it ended as idle, flows that carried packets since the last
    /// sweep (no record is sent for those packets), and the CLOCK_MONOTONIC time of the sweep.
    case sweep(expired: [Observation], active: [ActiveFlow], nowNs: UInt64)
    /// kube-proxy's rules or the `--services` file changed: a read is pending, or its result.
    case catalog(CatalogWatchEvent)
}

/// One `srcip trace` run in Swift concurrency: the ring-buffer pump thread and a sweeper task feed one bounded
/// buffer that the calling task consumes; SIGINT/SIGTERM and `--duration` stop the tracer (detach, drain, end the
/// buffer), and the consumer's end cancels the rest. Nothing blocks a task; what the full buffer cannot take is counted.
struct TracePipeline {
    let tracer: Tracer
    let idleTimeoutNs: UInt64
    let duration: Double?
    /// Events the buffer holds while the consumer lags.
    var capacity = 65_536
    var sweepInterval: Duration = .seconds(1)
    /// Follows Service changes into the buffer (nil: the catalog stays as read at start).
    var catalog: CatalogFollower?

    /// Events the full buffer could not take.
    let dropped = DropCounter()

    /// Runs until a signal, the duration, or `consume` returning true (e.g. `--count` reached); then detaches,
    /// and returns once the pump thread has finished. Errors from `consume` stop the trace and are rethrown.
    func run(consume: (TraceEvent) throws -> Bool) async throws {
        let (events, channel) = AsyncStream<TraceEvent>.makeStream(bufferingPolicy: .bufferingOldest(capacity))
        let (tracer, dropped, idleNs, interval) = (tracer, dropped, idleTimeoutNs, sweepInterval)
        try tracer.startReading(deliver: { o in
            if case .dropped = channel.yield(.observation(o)) { dropped.add() }
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
                if try consume(event) { break }
            }
        }
    }
}
