import Foundation
import Testing
import Yams

/// deploy/: schema validation with kubernetes-validate and the properties the DaemonSet promises.
@Suite struct ManifestTests {
    static let deploy = repoRoot.appendingPathComponent("deploy")
    static let capabilities: Set<String> = ["BPF", "NET_ADMIN", "PERFMON"]

    static func yaml(_ name: String) throws -> [String: Any] {
        let text = try String(contentsOf: deploy.appendingPathComponent(name), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any], "\(name) is not a YAML mapping")
    }

    /// The resource files the kustomization lists.
    static func resources() throws -> [String] {
        try #require(try yaml("kustomization.yaml")["resources"] as? [String])
    }

    /// The kubernetes-validate command (python3 -m); nil (with a how-to) where it is missing outside CI.
    static func validator() throws -> [String]? {
        if DeployShell.run(["python3", "-c", "import kubernetes_validate"]).status == 0 {
            return ["python3", "-m", "kubernetes_validate"]
        }
        let howTo = "kubernetes-validate not found: pip install kubernetes-validate (make deps does it)"
        if underCI { Issue.record(Comment(rawValue: howTo)) } else { print("skipped: \(howTo)") }
        return nil
    }

    @Test func theKustomizationListsEveryManifest() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.deploy.path)
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }
        #expect(Set(try Self.resources()) == Set(files))
        #expect(try Self.yaml("kustomization.yaml")["namespace"] as? String == "srcip")
    }

    @Test func everyManifestValidatesAgainstTheKubernetesSchema() throws {
        guard let validator = try Self.validator() else { return }
        let files = try Self.resources().map { Self.deploy.appendingPathComponent($0).path }
        let r = DeployShell.run(validator + ["--strict"] + files)
        #expect(r.status == 0, "\(r.output)")
        for file in try Self.resources() {
            #expect(r.output.contains("\(file) passed"), "\(file) not validated:\n\(r.output)")
        }
    }

    @Test func theValidatorRejectsAMistakeInTheDaemonSet() throws {
        guard let validator = try Self.validator() else { return }
        let dir = try DeployShell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try String(contentsOf: Self.deploy.appendingPathComponent("daemonset.yaml"), encoding: .utf8)
        let broken = text.replacingOccurrences(of: "hostNetwork: true", with: "hostNetwork: true\n      hostNetwrok: true")
        #expect(broken != text)
        let file = dir.appendingPathComponent("daemonset.yaml")
        try broken.write(to: file, atomically: true, encoding: .utf8)
        let r = DeployShell.run(validator + ["--strict", file.path])
        #expect(r.status != 0, "a misspelt field must fail strict validation:\n\(r.output)")
    }

    @Test func theDaemonSetRunsOnEveryNodeWithExactlyThreeCapabilities() throws {
        let ds = try Self.yaml("daemonset.yaml")
        #expect(ds["kind"] as? String == "DaemonSet")
        let pod = try #require((ds["spec"] as? [String: Any])?["template"] as? [String: Any])["spec"] as? [String: Any]
        let spec = try #require(pod)
        #expect(spec["hostNetwork"] as? Bool == true)
        #expect(spec["automountServiceAccountToken"] as? Bool == false)
        let tolerations = try #require(spec["tolerations"] as? [[String: Any]])
        #expect(tolerations.contains { $0["operator"] as? String == "Exists" && $0["key"] == nil && $0["effect"] == nil })
        let podSecurity = try #require(spec["securityContext"] as? [String: Any])
        #expect(podSecurity["runAsNonRoot"] as? Bool == true)
        #expect(podSecurity["runAsUser"] as? Int == Self.imageUID())
        // srcip's seccomp profile from the kubelet's directory (<kubelet root>/seccomp/srcip/srcip.json).
        let seccomp = try #require(podSecurity["seccompProfile"] as? [String: Any])
        #expect(seccomp["type"] as? String == "Localhost")
        #expect(seccomp["localhostProfile"] as? String == "srcip/srcip.json")

        let containers = try #require(spec["containers"] as? [[String: Any]])
        #expect(containers.count == 1)
        let c = try #require(containers.first)
        let security = try #require(c["securityContext"] as? [String: Any])
        let caps = try #require(security["capabilities"] as? [String: Any])
        #expect(caps["drop"] as? [String] == ["ALL"])
        #expect(Set(try #require(caps["add"] as? [String])) == Self.capabilities)
        #expect((caps["add"] as? [String])?.count == 3)
        #expect(security["privileged"] as? Bool != true)
        #expect(security["allowPrivilegeEscalation"] as? Bool != false, "no_new_privs would ignore srcip's file capabilities")

        // The node name from the downward API, passed as --node; JSON Lines on stdout.
        let args = try #require(c["args"] as? [String])
        #expect(args.first == "trace")
        #expect(args.contains("--node=$(NODE_NAME)"))
        #expect(args.contains("--format=jsonl"))
        #expect(!args.contains { $0.hasPrefix("--output") }, "records go to stdout for kubectl logs")
        let env = try #require(c["env"] as? [[String: Any]])
        let node = try #require(env.first { $0["name"] as? String == "NODE_NAME" })
        let fieldRef = ((node["valueFrom"] as? [String: Any])?["fieldRef"] as? [String: Any])?["fieldPath"] as? String
        #expect(fieldRef == "spec.nodeName")

        // The readiness probe targets a declared port, the one --metrics binds.
        let ports = try #require(c["ports"] as? [[String: Any]])
        let metrics = try #require(ports.first { $0["name"] as? String == "metrics" })
        let port = try #require(metrics["containerPort"] as? Int)
        #expect(args.contains { $0.hasPrefix("--metrics=") && $0.hasSuffix(":\(port)") })
        let probe = try #require((c["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])
        #expect(probe["port"] as? String == "metrics")
        #expect(probe["path"] as? String == "/healthz")

        let resources = try #require(c["resources"] as? [String: Any])
        for kind in ["requests", "limits"] {
            let r = try #require(resources[kind] as? [String: Any], "resources.\(kind)")
            #expect(r["cpu"] != nil && r["memory"] != nil, "resources.\(kind) needs cpu and memory")
        }
        // The image the kustomization retags is the one the DaemonSet uses.
        let image = try #require(c["image"] as? String)
        let names = try #require(try Self.yaml("kustomization.yaml")["images"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        #expect(names.contains { image.hasPrefix($0 + ":") })
    }

    /// deploy/seccomp/srcip.json is an allow-list in the subset of the profile format that podman, CRI-O and containerd
    /// all read (defaultAction, defaultErrnoRet, architectures, syscalls with names and action), with bpf() and without
    /// the calls a tracer never needs (the image test shows it is enough and enforced).
    @Test func theSeccompProfileAllowsBPFAndLittleElse() throws {
        let data = try Data(contentsOf: Self.deploy.appendingPathComponent("seccomp/srcip.json"))
        let profile = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(profile.keys) == ["defaultAction", "defaultErrnoRet", "architectures", "syscalls"])
        #expect(profile["defaultAction"] as? String == "SCMP_ACT_ERRNO")
        #expect(profile["defaultErrnoRet"] as? Int == 38, "ENOSYS, so libc falls back from calls it may not make")
        #expect(Set(try #require(profile["architectures"] as? [String])) == ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"])
        let rules = try #require(profile["syscalls"] as? [[String: Any]])
        #expect(rules.allSatisfy { Set($0.keys) == ["names", "action"] && $0["action"] as? String == "SCMP_ACT_ALLOW" })
        let names = rules.flatMap { $0["names"] as? [String] ?? [] }
        #expect(Set(names).count == names.count, "a name listed twice")
        #expect(names.contains("bpf") && names.contains("execve") && names.contains("accept"))
        for forbidden in ["mount", "umount2", "unshare", "setns", "ptrace", "init_module", "finit_module", "kexec_load",
                          "reboot", "pivot_root", "chroot", "keyctl", "add_key", "userfaultfd", "process_vm_writev"] {
            #expect(!names.contains(forbidden), "\(forbidden) is in the profile")
        }
    }

    /// The numeric user of the Containerfile's USER line.
    static func imageUID() -> Int? {
        let text = try? String(contentsOf: repoRoot.appendingPathComponent("Containerfile"), encoding: .utf8)
        let user = text?.split(separator: "\n").last { $0.hasPrefix("USER ") }
        return user.flatMap { Int($0.dropFirst(5).split(separator: ":")[0]) }
    }
}
