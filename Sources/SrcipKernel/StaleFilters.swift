import Foundation
import SrcipCore

/// clsact filters left behind by srcip processes that are gone (SIGKILL): found on every interface of the
/// network namespace, not only the ones a run attaches to, and removed; then the clsact qdiscs srcip created
/// that nothing uses any more. Filters of live srcip instances and of anyone else are never touched.
public enum StaleFilters {
    /// What a cleanup found and did.
    public struct Report: Sendable, Equatable {
        /// The stale filters removed.
        public var removed: [ClsactFilter] = []
        /// Interfaces whose clsact qdisc (created by srcip) was removed.
        public var qdiscsRemoved: [String] = []
        /// Filters that could not be removed, with the reason.
        public var failures: [String] = []
    }

    /// The srcip filters whose owner is gone, on every interface of the calling thread's network namespace.
    public static func find() -> [ClsactFilter] {
        Interfaces.list(includeLoopback: true).flatMap { interface in
            Hook.allCases.flatMap { hook in
                ((try? ClsactFilter.list(ifindex: interface.index, hook: hook)) ?? []).filter { $0.isSrcip && !$0.ownerIsAlive }
            }
        }
    }

    /// Removes the stale srcip filters of the calling thread's network namespace, then the clsact qdiscs
    /// srcip created that no filter uses any more.
    @discardableResult
    public static func removeAll() -> Report {
        ClsactQdisc.withLock {
            var report = Report()
            for filter in find() {
                do {
                    try filter.remove()
                    report.removed.append(filter)
                } catch {
                    report.failures.append("\(error)")
                }
            }
            for interface in Interfaces.list(includeLoopback: true) where ClsactQdisc.isMarked(ifindex: interface.index) {
                if ClsactQdisc.removeIfUnused(ifindex: interface.index) { report.qdiscsRemoved.append(interface.name) }
            }
            return report
        }
    }
}
