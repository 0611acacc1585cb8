import SrcipCore
import SrcipHTTP

/// Where `--metrics` listens: `PORT` (loopback, 127.0.0.1), `ADDR:PORT` or `[IPv6]:PORT`. An IPv6 address without
/// brackets is taken up to the last colon (a port is always required), so `$(POD_IP):9476` works on IPv6 nodes too.
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    public var ip: String
    public var port: UInt16

    public init(ip: String, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// Parses `PORT`, `ADDR:PORT` or `[IPv6]:PORT`; the error says what is wrong.
    public init(parsing text: String) throws(MetricsAddressError) {
        let host: Substring?, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw MetricsAddressError(text: text, reason: "an IPv6 address goes in brackets followed by :PORT, e.g. [::1]:9476")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = nil
            portText = Substring(text)
        }
        guard let port = UInt16(portText), port > 0 else {
            throw MetricsAddressError(text: text, reason: "the port must be 1 to 65535")
        }
        guard let host else {
            self.init(ip: "127.0.0.1", port: port)
            return
        }
        guard let address = IPAddress(String(host)), !(text.hasPrefix("[") && address.isIPv4) else {
            throw MetricsAddressError(text: text, reason: "\(host.isEmpty ? "the address is empty" : "\(host) is not an IPv4 or IPv6 address") "
                                      + "(use 127.0.0.1 or [::1] for this host only, 0.0.0.0 or [::] for every address; IPv6 in brackets: [ADDR]:PORT)")
        }
        self.init(ip: String(host), port: port)
    }

    /// `ADDR:PORT`, IPv6 in brackets.
    public var description: String { ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
}

/// A `--metrics` value that is not an address to listen on.
public struct MetricsAddressError: Error, Equatable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "--metrics \(text): \(reason)" }
}

/// Serves `GET /metrics` (the Prometheus text format, rendered from `TraceMetrics`' snapshot) and `GET /healthz`
/// (200 `ok`) on one address, from `HTTPServer`'s threads.
public final class MetricsServer: Sendable {
    private let server: HTTPServer

    /// Listens on `address` before returning (an address in use fails here, with the address in the error).
    public init(metrics: TraceMetrics, address: MetricsAddress) throws {
        server = HTTPServer { ctx in Self.reply(ctx.request, metrics: metrics) }
        try server.listen(on: [(address.ip, address.port)])
        server.start()
    }

    /// The address listened on (the port the kernel chose when given port 0).
    public var address: MetricsAddress? {
        server.localAddresses.first.map { MetricsAddress(ip: $0.ip, port: $0.port) }
    }

    /// Stops accepting connections.
    public func stop() { server.stop() }

    /// The answer to one request.
    static func reply(_ request: HTTPRequest, metrics: TraceMetrics) -> HTTPServer.Reply {
        guard request.method == "GET" || request.method == "HEAD" else {
            return HTTPServer.Reply(status: 405, headers: [("Allow", "GET, HEAD")], body: "only GET and HEAD\n")
        }
        switch request.path {
        case "/metrics":
            let body = metrics.exposition()
            return HTTPServer.Reply(status: 200, headers: [("Content-Type", Exposition.contentType)],
                                    body: request.method == "HEAD" ? "" : body)
        case "/healthz":
            return HTTPServer.Reply(status: 200, headers: [("Content-Type", "text/plain")], body: "ok\n")
        default:
            return HTTPServer.Reply(status: 404, headers: [("Content-Type", "text/plain")], body: "not found: try /metrics or /healthz\n")
        }
    }
}
