import Foundation
import Synchronization

/// Signals received since the consumer last looked (set by the handlers, taken by the trace consumer).
private let pendingHangup = Atomic<Bool>(false)
private let pendingStatus = Atomic<Bool>(false)

/// SIGHUP (reopen the output file, for logrotate) and SIGUSR1 (print a status line) during `srcip trace`: neither ends
/// the process. The handlers only set a flag (async-signal-safe); the consumer acts on it at its next event, at
/// least once a second.
enum ControlSignals {
    /// Catches SIGHUP and SIGUSR1 from now on. Idempotent.
    static func install() {
        signal(SIGHUP) { _ in pendingHangup.store(true, ordering: .releasing) }
        signal(SIGUSR1) { _ in pendingStatus.store(true, ordering: .releasing) }
    }

    /// Whether SIGHUP arrived since the last call.
    static func takeHangup() -> Bool { pendingHangup.exchange(false, ordering: .acquiringAndReleasing) }

    /// Whether SIGUSR1 arrived since the last call.
    static func takeStatus() -> Bool { pendingStatus.exchange(false, ordering: .acquiringAndReleasing) }
}
