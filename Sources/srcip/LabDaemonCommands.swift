import ArgumentParser
import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipLabDemo

struct LabEchoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo", abstract: "HTTP echo server of a lab pod (answers like k8s echoserver: client_address=…).",
        shouldDisplay: false)

    @Option(name: .long, help: "Port to listen on (repeatable; default 8080).")
    var port: [UInt16] = []
    @Option(name: .long, help: "Name reported as hostname= in SERVER VALUES.")
    var hostname: String?
    @Option(name: .long, help: "File to create once listening.")
    var readyFile: String?

    func run() throws {
        try EchoServer.run(ports: port.isEmpty ? [8080] : port, hostname: hostname, readyFile: readyFile)
    }
}

struct LabGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "HTTP GET from the current namespace; prints the body, or timeout/refused (exit 2/3).",
        discussion: "Use it inside the lab: srcip lab exec client -- srcip lab get http://192.168.10.11:30080/",
        shouldDisplay: false)

    @Argument(help: "http://IP:PORT/PATH")
    var url: String
    @Option(name: .long, help: "Local port to connect from (0 = any).")
    var sourcePort: UInt16 = 0
    @Option(name: .long, help: "Seconds before giving up.")
    var timeout: Double = 2

    func run() throws {
        guard let parsed = LabURL(url) else { throw ValidationError("expected http://IPv4[:port][/path] or http://[IPv6][:port][/path], got \(url)") }
        let outcome = HTTPProbe.get(ip: parsed.host, port: parsed.port, path: parsed.path, sourcePort: sourcePort, timeout: timeout)
        switch outcome {
        case let .response(_, body): print(body, terminator: "")
        case .timeout: print("timeout"); throw ExitCode(2)
        case .refused: print("refused"); throw ExitCode(3)
        case let .failed(why): print("error: \(why)"); throw ExitCode(1)
        }
    }
}

/// `http://host[:port][/path]` with an IPv4 host.
struct LabURL {
    var host: String
    var port: UInt16
    var path: String

    init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var hostPart = Substring(authority), portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty { guard after.hasPrefix(":") else { return nil }; portPart = after.dropFirst() }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            hostPart = parts[0]
            portPart = parts.count == 2 ? parts[1] : nil
        }
        guard IPAddress(hostPart) != nil else { return nil }
        host = String(hostPart)
        if let portPart { guard let p = UInt16(portPart) else { return nil }; port = p } else { port = 80 }
    }
}

struct LabHealthCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck", abstract: "kube-proxy-like Service health-check server of one lab node.", shouldDisplay: false)

    @OptionGroup var lab: LabNameOption
    @Option(name: .long, help: "Node name.")
    var node: String
    @Option(name: .long, help: "File to create once listening.")
    var readyFile: String?

    func run() throws {
        let naming = try lab.naming()
        guard let record = try LabRecord.load(naming) else { throw LabError.labNotFound(name: lab.name) }
        guard let labNode = record.state.nodes.first(where: { $0.name == node }) else {
            throw LabError.unknownTarget(name: node, known: record.state.nodes.map(\.name))
        }
        try HealthCheckServer.run(state: record.state, node: labNode, readyFile: readyFile, responder: { LabHealthResponder.reply(service: $0, node: $1, state: $2) })
    }
}

struct LabProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lb-proxy", abstract: "Proxy-mode load balancer of a lab (runs in its router namespace).", shouldDisplay: false)

    @OptionGroup var lab: LabNameOption
    @Option(name: .long, help: "File to create once listening.")
    var readyFile: String?

    func run() throws {
        let naming = try lab.naming()
        guard let record = try LabRecord.load(naming) else { throw LabError.labNotFound(name: lab.name) }
        try LoadBalancerProxy(state: record.state).run(readyFile: readyFile)
    }
}

struct LabLoadBalancerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lb",
        abstract: "Switch a running lab's load balancer between passthrough (client IP kept) and proxy (LB's own IP).")

    @OptionGroup var lab: LabNameOption
    @Argument(help: "passthrough or proxy")
    var mode: LoadBalancerMode

    func run() throws {
        try LoadBalancer.switchMode(to: mode, naming: try lab.naming())
        print("lab '\(lab.name)': load balancer is now \(mode.rawValue)")
    }
}

struct LabEntryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entry",
        abstract: "Route the service CIDR and all externalIPs from the router to NODE (where outside ClusterIP/externalIP traffic enters).",
        discussion: "§4 rows 4 and 15–17 depend on the entry node: e.g. `srcip lab entry node2` makes external requests to an externalIP of an externalTrafficPolicy: Local Service arrive at a node without a local endpoint.")

    @OptionGroup var lab: LabNameOption
    @Argument(help: "Node name, e.g. node2.")
    var node: String

    func run() throws {
        try LabRouting.setEntryNode(node, naming: try lab.naming())
        print("lab '\(lab.name)': routed ClusterIP/externalIP traffic from outside now enters at \(node)")
    }
}
