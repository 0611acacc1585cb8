import Foundation
import Testing

/// `make image`, then the image traces a lab node as the non-root user with exactly CAP_BPF, CAP_NET_ADMIN and
/// CAP_PERFMON, the way the DaemonSet runs it (read-only root, tmpfs /run/srcip, no seccomp filter).
/// Slow (a release build and an image build): runs under `make test-image`, which builds the image first (inside
/// `swift test` a nested `swift build` would wait forever for the build directory's lock) and sets SRCIP_TEST_IMAGE=1.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["SRCIP_TEST_IMAGE"] != nil,
                             "image test: run `make test-image`"))
struct ImageTests {
    static let image = "localhost/srcip:latest"
    static let podman = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
    static let srcip = repoRoot.appendingPathComponent(".build/debug/srcip").path
    /// What the DaemonSet grants; the rest of the options mirror its securityContext and volumes.
    static let leastPrivilege = ["--cap-drop", "ALL", "--cap-add", "BPF,NET_ADMIN,PERFMON",
                                 "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                                 "--read-only", "--tmpfs", "/run/srcip:rw,mode=0755,U",
                                 // Debian 12's podman default seccomp profile allows bpf() only with CAP_SYS_ADMIN.
                                 "--security-opt", "seccomp=unconfined"]

    /// True when the test can run; records a failure under CI (or as non-root) when it cannot.
    static func prerequisites() -> Bool {
        guard getuid() == 0 else {
            Issue.record("the image test needs root (podman --network ns:, lab namespaces)")
            return false
        }
        if DeployShell.which("podman") == nil {
            let howTo = "podman missing: apt-get install podman buildah runc debootstrap (make test-image installs them)"
            if underCI { Issue.record(Comment(rawValue: howTo)) } else { print("skipped: \(howTo)") }
            return false
        }
        return true
    }

    @Test func theImageTracesALabNodeWithThreeCapabilitiesAsNonRoot() throws {
        guard Self.prerequisites() else { return }
        let started = Date()
        let inspect = DeployShell.run(Self.podman + ["image", "inspect", "--format", "{{.Config.User}}", Self.image])
        try #require(inspect.status == 0, "no image \(Self.image): run `make image` first (make test-image does)")
        #expect(inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "65532:65532")
        // The image holds the binary built from this tree.
        let version = DeployShell.run(Self.podman + ["run", "--rm"] + Self.leastPrivilege + [Self.image, "--version"])
        let local = DeployShell.run([Self.srcip, "--version"])
        #expect(version.status == 0 && version.stdout == local.stdout, "image: \(version.output), tree: \(local.output)")

        let lab = "dpl\(UInt32.random(in: 0..<0xFFFF_FFFF) % 100_000)"
        let container = "srcip-test-\(lab)"
        defer {
            DeployShell.run(Self.podman + ["rm", "-f", "-t", "0", container])
            DeployShell.run([Self.srcip, "lab", "down", "--name", lab])
        }
        let up = DeployShell.run([Self.srcip, "lab", "up", "--name", lab])
        try #require(up.status == 0, "lab up: \(up.output)")
        let node = "srcip-\(lab)-node1"

        // Without the three capabilities the binary cannot even start (its file capabilities exceed the bounding set).
        let denied = DeployShell.run(Self.podman + ["run", "--rm", "--cap-drop", "ALL", "--network", "ns:/run/netns/\(node)",
                                                   Self.image, "--version"])
        #expect(denied.status != 0, "srcip ran without capabilities: \(denied.output)")

        let run = DeployShell.run(Self.podman + ["run", "-d", "--name", container] + Self.leastPrivilege
            + ["--network", "ns:/run/netns/\(node)", Self.image,
               "trace", "--format=jsonl", "--services=auto", "--node=node1", "--duration=20"])
        try #require(run.status == 0, "podman run: \(run.output)")
        try #require(Self.waitForLogs(container, containing: "tracing"), "srcip did not start:\n\(Self.logs(container).output)")

        for _ in 0..<3 {
            let get = DeployShell.run([Self.srcip, "lab", "exec", "--name", lab, "client", "--",
                                       Self.srcip, "lab", "get", "http://192.168.10.11:30080/"])
            #expect(get.stdout.contains("client_address="), "lab get: \(get.output)")
        }
        // SIGTERM: srcip writes the open flows and detaches.
        DeployShell.run(Self.podman + ["stop", "-t", "10", container])
        let status = DeployShell.run(Self.podman + ["inspect", "--format", "{{.State.ExitCode}}", container])
        let logs = Self.logs(container)
        #expect(status.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "exit status; logs:\n\(logs.output)")

        let records = logs.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let flows = records.filter {
            $0["dst_port"] as? Int == 30080 && $0["src_ip"] as? String == "203.0.113.10" && $0["node"] as? String == "node1"
        }
        #expect(flows.count >= 3, "flow records of the three requests:\n\(logs.output)")
        let service = flows.first?["service"] as? [String: Any]
        #expect(service?["name"] as? String == "nodeport", "Service from kube-proxy's rules read in the container")
        #expect(logs.stderr.contains("tcx"), "attached with tcx:\n\(logs.stderr)")
        print("image test: \(Int(Date().timeIntervalSince(started))) s after the image build")
    }

    static func logs(_ container: String) -> DeployShell.Result {
        DeployShell.run(podman + ["logs", container])
    }

    static func waitForLogs(_ container: String, containing text: String, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if logs(container).output.contains(text) { return true }
            usleep(200_000)
        }
        return false
    }
}
