import ArgumentParser
import SrcipLabCluster
import SrcipSystem
import SrcipLabKubeProxy
import SrcipLabNetwork
import SrcipLabDemo

/// `srcip lab …`: an emulated Kubernetes cluster with kube-proxy Service NAT in network namespaces on this machine.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run an emulated Kubernetes cluster (netns nodes, pods, kube-proxy NAT, load balancer) on this machine.",
        discussion: """
        The lab builds one network namespace per node, pod, router and external client (all named srcip-<lab>-*), \
        programs kube-proxy's iptables or nftables rules in every node and runs a small echo server in every pod. \
        It needs root. `srcip lab demo` reproduces the "source IP of Services" experiment in one go.
        """,
        subcommands: [LabUpCommand.self, LabDownCommand.self, LabStatusCommand.self, LabExecCommand.self,
                      LabApplyCommand.self, LabDeleteCommand.self, LabScaleCommand.self,
                      LabDemoCommand.self, LabLoadBalancerCommand.self, LabEntryCommand.self,
                      LabEchoCommand.self, LabGetCommand.self, LabHealthCheckCommand.self, LabProxyCommand.self])
}

/// `--name LAB`, shared by the lab commands.
struct LabNameOption: ParsableArguments {
    @Option(name: .long, help: "Lab name; namespaces are srcip-<name>-*, so labs with different names can run side by side.")
    var name: String = "lab"

    func naming() throws -> LabNaming { try LabNaming(lab: name) }
}

extension ProxyMode: ExpressibleByArgument {}
extension LoadBalancerMode: ExpressibleByArgument {}
extension LabCNI: ExpressibleByArgument {}
extension LabIPFamily: ExpressibleByArgument {}
