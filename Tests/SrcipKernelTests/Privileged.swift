import Foundation
import Testing

/// Tests that need root (BPF, netns). They run when root, and also when CI is set (so they fail there
/// instead of silently skipping).
enum Privileged {
    static var isRoot: Bool { getuid() == 0 }
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }
    static var enabled: Bool { isRoot || inCI }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only as root, unless CI is set (then it runs and fails without root).
    static var privileged: Self { .enabled(if: Privileged.enabled, "needs root (BPF, netns)") }
}
