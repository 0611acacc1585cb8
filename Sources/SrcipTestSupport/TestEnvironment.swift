import Foundation
import Testing

/// What the test suites may rely on, decided in one place: root for the privileged tests, the upstream kube-proxy
/// fixtures for the rule tests, and the built `srcip` binary. Under CI (the variable `CI` set) neither privileged
/// nor fixture tests are skipped: they run and fail if what they need is missing.
public enum TestEnvironment {
    public static var isRoot: Bool { geteuid() == 0 }
    public static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

    /// Privileged tests (BPF, netns, iptables) run as root, and always under CI.
    public static var privilegedEnabled: Bool { isRoot || inCI }

    /// The package root (three levels above this file).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The environment variable naming the folder of kube-proxy's upstream expected rule sets.
    public static let fixturesVariable = "SRCIP_KUBE_PROXY_FIXTURES"

    /// `$SRCIP_KUBE_PROXY_FIXTURES`, else `<packageRoot>/../shared/fixtures/kube-proxy`.
    public static var kubeProxyFixtures: URL {
        if let dir = ProcessInfo.processInfo.environment[fixturesVariable], !dir.isEmpty {
            return URL(fileURLWithPath: dir, relativeTo: packageRoot)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/kube-proxy")
    }

    /// Fixture tests run when the folder exists, and always under CI.
    public static var fixturesEnabled: Bool {
        var isDirectory: ObjCBool = false
        return inCI || (FileManager.default.fileExists(atPath: kubeProxyFixtures.path, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    /// Why fixture tests were skipped, and how to get the fixtures.
    public static var fixturesHowTo: String {
        "kube-proxy fixtures not found at \(kubeProxyFixtures.path): set \(fixturesVariable) to a folder with kube-proxy's "
            + "expected rule sets (kubernetes/kubernetes pkg/proxy/{iptables,nftables} test expectations, as in the project's "
            + "shared fixtures) to run these tests"
    }

    /// The text of one fixture file.
    public static func fixture(_ name: String) throws -> String {
        try String(contentsOf: kubeProxyFixtures.appendingPathComponent(name), encoding: .utf8)
    }

    /// The `srcip` executable built next to the tests (debug, else release).
    public static var srcipExecutable: String {
        for config in ["debug", "release"] {
            let path = packageRoot.appendingPathComponent(".build/\(config)/srcip").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return packageRoot.appendingPathComponent(".build/debug/srcip").path
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test as root, and always under CI (where it then fails without root).
    public static var privileged: Self { .enabled(if: TestEnvironment.privilegedEnabled, "needs root (BPF, netns, iptables)") }

    /// Runs the test when the upstream kube-proxy fixtures are present, and always under CI.
    public static var kubeProxyFixtures: Self {
        .enabled(if: TestEnvironment.fixturesEnabled, Comment(rawValue: TestEnvironment.fixturesHowTo))
    }
}
