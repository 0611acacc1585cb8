import Foundation
import SrcipHTTP
#if canImport(Glibc)
import Glibc
#endif

/// The lab's echo pod: answers every request with the echoserver-style body (see `EchoResponse`), on IPv4 and IPv6.
public enum EchoServer {
    /// Whether this namespace can open IPv6 sockets (IPv6 not disabled).
    static var ipv6Available: Bool {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }

    /// Listens on all addresses on `ports`, writes `readyFile` and serves forever.
    public static func run(ports: [UInt16], hostname: String?, readyFile: String?) throws -> Never {
        HTTPServer.exitCleanlyOnSignals()
        let server = HTTPServer { ctx in
            HTTPServer.Reply(status: 200, headers: [("Content-Type", "text/plain")],
                             body: EchoResponse.body(request: ctx.request, clientAddress: ctx.peerIP,
                                                     serverPort: ctx.localPort, hostname: hostname, body: ctx.body))
        }
        try server.listen(on: ports.map { ("0.0.0.0", $0) } + (ipv6Available ? ports.map { ("::", $0) } : []))
        server.start()
        HTTPServer.announceReady(readyFile)
        while true { pause() }
    }
}

/// The body of the echo server's answer, in the layout of the seed's `k8s.gcr.io/echoserver`.
public enum EchoResponse {
    public static func body(request: HTTPRequest, clientAddress: String, serverPort: UInt16, hostname: String?, body: [UInt8]) -> String {
        let hostHeader = request.header("host") ?? "-"
        let host = hostHeader.split(separator: ":").first.map(String.init) ?? hostHeader
        var lines = [
            "CLIENT VALUES:",
            "client_address=\(clientAddress)",
            "command=\(request.method)",
            "real path=\(request.path)",
            "query=\(request.query ?? "nil")",
            "request_version=\(request.version)",
            "request_uri=http://\(host):\(serverPort)\(request.target)",
            "",
            "SERVER VALUES:",
            "server_version=srcip-echo",
        ]
        if let hostname { lines.append("hostname=\(hostname)") }
        lines += ["", "HEADERS RECEIVED:"]
        lines += request.headers.map { "\($0.name)=\($0.value)" }
        lines.append("BODY:")
        lines.append(body.isEmpty ? "-no body in request-" : String(decoding: body, as: UTF8.self))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `client_address=` value of an echo body.
    public static func clientAddress(in body: String) -> String? {
        for line in body.split(separator: "\n") where line.hasPrefix("client_address=") {
            return String(line.dropFirst("client_address=".count))
        }
        return nil
    }

    /// The `hostname=` value (the answering pod) of an echo body.
    public static func hostname(in body: String) -> String? {
        for line in body.split(separator: "\n") where line.hasPrefix("hostname=") {
            return String(line.dropFirst("hostname=".count))
        }
        return nil
    }
}
