import Foundation
import Testing

/// The image `make image` built from this tree traces a lab node as the non-root user with exactly CAP_BPF,
/// CAP_NET_ADMIN and CAP_PERFMON under srcip's own seccomp profile (deploy/seccomp/srcip.json), the way the DaemonSet
/// runs it (read-only root, tmpfs /run/srcip, metrics on the node's address). `make test` builds the image before
/// `swift test` (inside it a nested `swift build` would wait forever for the build directory's lock).
@Suite(.serialized) struct ImageTests {
    static let podman = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
    static let srcip = repoRoot.appendingPathComponent(".build/debug/srcip").path
    static let profile = repoRoot.appendingPathComponent("deploy/seccomp/srcip.json").path
    /// The DaemonSet's securityContext and volumes as podman options, with `profile` as the seccomp filter.
    static func leastPrivilege(seccomp profile: String = profile) -> [String] {
        ["--cap-drop", "ALL", "--cap-add", "BPF,NET_ADMIN,PERFMON",
         "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
         "--read-only", "--tmpfs", "/run/srcip:rw,mode=0755,U", "--security-opt", "seccomp=\(profile)"]
    }

    /// `localhost/srcip:VERSION` for this tree's version, or nil (a recorded failure or, where podman is missing
    /// outside CI, a skip message) when the test cannot run.
    static func image() -> String? {
        guard getuid() == 0 else {
            Issue.record("the image test needs root (podman --network ns:, lab namespaces)")
            return nil
        }
        if DeployShell.which("podman") == nil {
            let howTo = "podman missing: apt-get install podman buildah runc debootstrap (make test installs them)"
            if underCI { Issue.record(Comment(rawValue: howTo)) } else { print("skipped: \(howTo)") }
            return nil
        }
        let version = DeployShell.run([srcip, "--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let image = "localhost/srcip:\(version)"
        guard !version.isEmpty, DeployShell.run(podman + ["image", "exists", image]).status == 0 else {
            Issue.record("no image \(image) built from this tree: run `make image` (make test builds it first)")
            return nil
        }
        return image
    }

    /// A lab named uniquely for this run; `body` gets its name and node1's namespace. Removed afterwards.
    static func withLab(_ body: (String, String) throws -> Void) throws {
        let lab = "dpl\(UInt32.random(in: 0..<0xFFFF_FFFF) % 100_000)"
        defer { DeployShell.run([srcip, "lab", "down", "--name", lab]) }
        let up = DeployShell.run([srcip, "lab", "up", "--name", lab])
        try #require(up.status == 0, "lab up: \(up.output)")
        try body(lab, "srcip-\(lab)-node1")
    }

    @Test func theImageTracesALabNodeWithThreeCapabilitiesAndItsSeccompProfile() throws {
        guard let image = Self.image() else { return }
        let started = Date()
        let inspect = DeployShell.run(Self.podman + ["image", "inspect", "--format", "{{.Config.User}}", image])
        #expect(inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "65532:65532")
        let version = DeployShell.run(Self.podman + ["run", "--rm"] + Self.leastPrivilege() + [image, "--version"])
        let local = DeployShell.run([Self.srcip, "--version"])
        #expect(version.status == 0 && version.stdout == local.stdout, "image: \(version.output), tree: \(local.output)")

        try Self.withLab { lab, node in
            let container = "srcip-test-\(lab)"
            defer { DeployShell.run(Self.podman + ["rm", "-f", "-t", "0", container]) }
            // Without the three capabilities the binary cannot even start (its file capabilities exceed the bounding set).
            let denied = DeployShell.run(Self.podman + ["run", "--rm", "--cap-drop", "ALL", "--network", "ns:/run/netns/\(node)",
                                                       image, "--version"])
            #expect(denied.status != 0, "srcip ran without capabilities: \(denied.output)")

            // The DaemonSet's arguments, metrics on node1's address included (its server runs under the profile too).
            let run = DeployShell.run(Self.podman + ["run", "-d", "--name", container] + Self.leastPrivilege()
                + ["--network", "ns:/run/netns/\(node)", image, "trace", "--format=jsonl", "--services=auto",
                   "--node=node1", "--metrics=192.168.10.11:9476", "--duration=30"])
            try #require(run.status == 0, "podman run: \(run.output)")
            try #require(Self.waitForLogs(container, containing: "tracing"), "srcip did not start:\n\(Self.logs(container).output)")

            for _ in 0..<3 {
                let get = DeployShell.run([Self.srcip, "lab", "exec", "--name", lab, "client", "--",
                                           Self.srcip, "lab", "get", "http://192.168.10.11:30080/"])
                #expect(get.stdout.contains("client_address="), "lab get: \(get.output)")
            }
            let health = DeployShell.run(["ip", "netns", "exec", node, "curl", "-sS", "http://192.168.10.11:9476/healthz"])
            #expect(health.stdout.hasPrefix("ok"), "healthz: \(health.output)")
            let metrics = DeployShell.run(["ip", "netns", "exec", node, "curl", "-sS", "http://192.168.10.11:9476/metrics"])
            #expect(metrics.stdout.contains("srcip_build_info{"), "metrics: \(metrics.output.prefix(400))")

            // SIGTERM: srcip writes the open flows and detaches.
            DeployShell.run(Self.podman + ["stop", "-t", "10", container])
            let exit = DeployShell.run(Self.podman + ["inspect", "--format", "{{.State.ExitCode}}", container])
            let logs = Self.logs(container)
            #expect(exit.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "exit status; logs:\n\(logs.output)")

            let flows = Self.flows(logs.stdout).filter {
                $0["dst_port"] as? Int == 30080 && $0["src_ip"] as? String == "203.0.113.10" && $0["node"] as? String == "node1"
            }
            #expect(flows.count >= 3, "flow records of the three requests:\n\(logs.output)")
            let service = flows.first?["service"] as? [String: Any]
            #expect(service?["name"] as? String == "nodeport", "Service from kube-proxy's rules read in the container")
            #expect(logs.stderr.contains("tcx"), "attached with tcx:\n\(logs.stderr)")
        }
        print("image test: \(Int(Date().timeIntervalSince(started))) s after the image build")
    }

    /// The profile is enforced: the same container with `bpf` taken out of a copy of it stops at once and says why.
    @Test func aSystemCallOutsideTheProfileIsRefused() throws {
        guard let image = Self.image() else { return }
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.profile))
        var profile = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var rules = try #require(profile["syscalls"] as? [[String: Any]])
        let before = rules.compactMap { $0["names"] as? [String] }.joined().count
        rules = rules.map { rule in
            var r = rule
            r["names"] = (rule["names"] as? [String])?.filter { $0 != "bpf" }
            return r
        }
        #expect(rules.compactMap { $0["names"] as? [String] }.joined().count == before - 1, "bpf is in the profile")
        profile["syscalls"] = rules
        let dir = try DeployShell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let withoutBPF = dir.appendingPathComponent("srcip-without-bpf.json").path
        try JSONSerialization.data(withJSONObject: profile).write(to: URL(fileURLWithPath: withoutBPF))

        // Installed as a filter (Seccomp: 2 is filter mode) for the container's process.
        let mode = DeployShell.run(Self.podman + ["run", "--rm"] + Self.leastPrivilege()
            + ["--entrypoint", "grep", image, "^Seccomp:", "/proc/self/status"])
        #expect(mode.stdout.contains("2"), "seccomp mode: \(mode.output)")

        // Loopback of a network namespace of its own is enough to get to bpf(): no lab needed.
        let trace = ["--network", "none", image, "trace", "--services=none", "--interface=lo", "--duration=1"]
        let r = DeployShell.run(Self.podman + ["run", "--rm"] + Self.leastPrivilege(seccomp: withoutBPF) + trace)
        #expect(r.status != 0, "srcip traced without bpf(): \(r.output)")
        #expect(r.output.contains("bpf() system call was denied (Function not implemented"), "\(r.output)")
        #expect(r.output.contains("deploy/seccomp/srcip.json"), "\(r.output)")
        // The profile as shipped: the same command attaches and ends cleanly.
        let shipped = DeployShell.run(Self.podman + ["run", "--rm"] + Self.leastPrivilege() + trace)
        #expect(shipped.status == 0 && shipped.output.contains("tracing lo"), "\(shipped.output)")
    }

    static func flows(_ jsonl: String) -> [[String: Any]] {
        jsonl.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
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
