import Foundation
import SrcipHTTP
import SrcipMetrics
import Testing

/// `--metrics ADDR:PORT` parsing and the server's answers over a real loopback socket.
struct MetricsServerTests {
    @Test func addressesParseWithLoopbackAsTheDefaultAndIPv6InBrackets() throws {
        #expect(try MetricsAddress(parsing: "9476") == MetricsAddress(ip: "127.0.0.1", port: 9476))
        #expect(try MetricsAddress(parsing: "10.1.2.3:80") == MetricsAddress(ip: "10.1.2.3", port: 80))
        #expect(try MetricsAddress(parsing: "[::1]:9476") == MetricsAddress(ip: "::1", port: 9476))
        #expect(try MetricsAddress(parsing: "[::]:1").description == "[::]:1")
        // `$(POD_IP):9476` on an IPv6 node: everything before the last colon is the address.
        #expect(try MetricsAddress(parsing: "fd00::1:9476") == MetricsAddress(ip: "fd00::1", port: 9476))
        for bad in ["", "0", "65536", "::1", "[::1]9476", "[::1]:", "host:80", ":80", "1.2.3.4:x", "[1.2.3.4]:80", "1.2.3.4:5:80"] {
            #expect(throws: MetricsAddressError.self, "\(bad)") { try MetricsAddress(parsing: bad) }
        }
        let error = try #require(throws: MetricsAddressError.self) { try MetricsAddress(parsing: "node1:9476") }
        #expect(error.description == "--metrics node1:9476: node1 is not an IPv4 or IPv6 address (use 127.0.0.1 or [::1] for this host only, 0.0.0.0 or [::] for every address; IPv6 in brackets: [ADDR]:PORT)")
    }

    /// `GET path` on 127.0.0.1:`port`: status line and body.
    static func get(_ port: UInt16, _ path: String, method: String = "GET") throws -> (status: String, body: String) {
        let fd = try Sockets.tcpSocket()
        defer { _ = close(fd) }
        guard case .connected = try Sockets.connect(fd, "127.0.0.1", port, timeout: 2) else { throw SocketError("connect") }
        Sockets.setTimeouts(fd, seconds: 2)
        Sockets.sendAll(fd, Array("\(method) \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let text = String(decoding: Sockets.receiveAll(fd), as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        return (String(parts[0].split(separator: "\r\n").first ?? ""), parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test func servesMetricsAndHealthAndStops() throws {
        let metrics = TraceMetrics(version: "v9 \"quoted\"")
        metrics.catalogRefreshed(services: 4)
        let server = try MetricsServer(metrics: metrics, address: MetricsAddress(ip: "127.0.0.1", port: 0))
        let port = try #require(server.address?.port)
        defer { server.stop() }
        let m = try Self.get(port, "/metrics")
        #expect(m.status == "HTTP/1.1 200 OK")
        #expect(m.body.contains("srcip_build_info{version=\"v9 \\\"quoted\\\"\"} 1\n"))
        #expect(m.body.contains("srcip_catalog_services 4\n"))
        #expect(try Self.get(port, "/healthz") == ("HTTP/1.1 200 OK", "ok\n"))
        #expect(try Self.get(port, "/nope").status == "HTTP/1.1 404 Not Found")
        #expect(try Self.get(port, "/metrics", method: "POST").status == "HTTP/1.1 405 Method Not Allowed")
        let head = try Self.get(port, "/metrics", method: "HEAD")
        #expect(head.status == "HTTP/1.1 200 OK" && head.body.isEmpty)
        server.stop()
        usleep(100_000)
        #expect(throws: (any Error).self) { try Self.get(port, "/healthz") }
    }

    @Test func anAddressInUseFailsAtStartWithTheAddress() throws {
        let first = try MetricsServer(metrics: TraceMetrics(version: "x"), address: MetricsAddress(ip: "127.0.0.1", port: 0))
        defer { first.stop() }
        let port = try #require(first.address?.port)
        let error = try #require(throws: SocketError.self) {
            try MetricsServer(metrics: TraceMetrics(version: "x"), address: MetricsAddress(ip: "127.0.0.1", port: port))
        }
        #expect(error.description.contains("127.0.0.1:\(port)"))
    }
}
