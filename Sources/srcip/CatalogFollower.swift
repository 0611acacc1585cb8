import Synchronization
import SrcipCore
import SrcipKernel
import SrcipServices

/// `srcip trace` following Services: a `CatalogWatcher` whose refreshes go into the trace's event buffer (the
/// correlator installs them between records), logged with `--verbose` and counted for the exit summary.
final class CatalogFollower: Sendable {
    private let watcher: CatalogWatcher
    private let verbose: Bool
    private let refreshes = Atomic<Int>(0)
    private let serviceCount: Atomic<Int>

    /// nil for `--services none` (nothing to follow).
    init?(source: ServiceSource, node: String, initial: DiscoveredServices?, verbose: Bool) throws {
        guard source != .none else { return nil }
        watcher = try CatalogWatcher(options: CatalogWatcher.Options(source: source, localNodeName: node), initial: initial)
        self.verbose = verbose
        serviceCount = Atomic(Set(initial?.services.map(\.id) ?? []).count)
    }

    /// Forwards changes and refreshes until the trace ends; `deliver` returns false while the event buffer is full.
    func run(deliver: @Sendable (TraceEvent) -> Bool) async {
        defer { watcher.stop() }
        for await event in watcher.events {
            switch event {
            case .refreshed(let r):
                refreshes.add(1, ordering: .relaxed)
                serviceCount.store(Set(r.services.services.map(\.id)).count, ordering: .relaxed)
                if verbose {
                    let noticed = RFC3339.format(unixNs: KernelClock.unixOffsetNs() + Int64(r.validFromNs))
                    Diagnostics.note("Services refreshed (\(r.trigger) change): \(r.changes.summary()); now \(r.services.summary); noticed at \(noticed)")
                }
                for w in r.services.warnings where verbose { Diagnostics.warning(w) }
            case .failed(let message, let suppressed):
                Diagnostics.warning(message + (suppressed > 0 ? " (\(suppressed) similar failures not shown)" : ""))
                continue
            case .changing, .unchanged: break
            }
            while !deliver(.catalog(event)) {
                do { try await Task.sleep(for: .milliseconds(20)) } catch { return }
            }
        }
    }

    /// `catalog: 3 refreshes, 12 Services` for the exit summary.
    var summary: String {
        let n = refreshes.load(ordering: .relaxed)
        return "catalog: \(n) refresh\(n == 1 ? "" : "es"), \(serviceCount.load(ordering: .relaxed)) Services"
    }
}
