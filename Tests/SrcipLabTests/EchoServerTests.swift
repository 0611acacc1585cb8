import Foundation
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabWorkloads
import SrcipHTTP
@testable import SrcipLabNetwork
@testable import SrcipLabDemo
import SrcipSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The echo server and HTTP probe on loopback (no privileges needed).
@Suite("Echo server", .serialized)
struct EchoServerTests {
    static func startServer() throws -> UInt16 {
        let server = HTTPServer { ctx in
            HTTPServer.Reply(status: 200, body: EchoResponse.body(request: ctx.request, clientAddress: ctx.peerIP,
                                                                  serverPort: ctx.localPort, hostname: "pod-a", body: ctx.body))
        }
        for _ in 0..<20 {
            let port = UInt16.random(in: 20000...60000)
            if (try? server.listen(on: [("127.0.0.1", port)])) != nil {
                server.start()
                return port
            }
        }
        throw SocketError("no free loopback port")
    }

    @Test("answers like echoserver: client_address, request line, lowercased headers, body")
    func echoBody() throws {
        let port = try Self.startServer()
        let outcome = HTTPProbe.get(ip: "127.0.0.1", port: port, path: "/a/b?x=1", host: "svc.example", sourcePort: 0, timeout: 2)
        guard case let .response(status, body) = outcome else { Issue.record("no answer: \(outcome)"); return }
        #expect(status == 200)
        #expect(outcome.clientAddress == "127.0.0.1")
        for line in ["CLIENT VALUES:", "command=GET", "real path=/a/b", "query=x=1", "request_version=1.1",
                     "request_uri=http://svc.example:\(port)/a/b?x=1", "SERVER VALUES:", "server_version=srcip-echo",
                     "hostname=pod-a", "HEADERS RECEIVED:", "host=svc.example", "user-agent=srcip-lab", "BODY:", "-no body in request-"] {
            #expect(body.split(separator: "\n").contains { $0 == line }, "missing line \(line)")
        }
    }

    @Test("chosen source port, refused port, garbage input answered with 400 and the server keeps serving")
    func robustness() throws {
        let port = try Self.startServer()
        let sport = UInt16.random(in: 45000...50000)
        let ok = HTTPProbe.get(ip: "127.0.0.1", port: port, sourcePort: sport, timeout: 2)
        #expect(ok.body?.contains("client_address=127.0.0.1") == true)

        // Garbage, then an immediately closed connection.
        let fd = try Sockets.tcpSocket()
        #expect(try Sockets.connect(fd, "127.0.0.1", port, timeout: 2) == .connected)
        Sockets.sendAll(fd, [0x00, 0xff, 0x41] + Array("not http\r\n\r\n".utf8))
        Sockets.setTimeouts(fd, seconds: 2)
        let answer = String(decoding: Sockets.receiveAll(fd), as: UTF8.self)
        close(fd)
        #expect(answer.hasPrefix("HTTP/1.1 400"))
        let fd2 = try Sockets.tcpSocket()
        _ = try Sockets.connect(fd2, "127.0.0.1", port, timeout: 2)
        close(fd2)

        #expect(HTTPProbe.get(ip: "127.0.0.1", port: port, timeout: 2).clientAddress == "127.0.0.1")
        // A closed port is refused.
        #expect(HTTPProbe.get(ip: "127.0.0.1", port: 1, timeout: 1) == .refused)
    }

    @Test("request head parsing rejects garbage and splits CRLF lines")
    func parsing() {
        let head = Array("GET /p?q HTTP/1.1\r\nHost: h:80\r\nX-A:  v \r\n\r\n".utf8)
        let req = HTTPRequest.parse(head: head)
        #expect(req?.path == "/p" && req?.query == "q")
        #expect(req?.header("x-a") == "v" && req?.header("host") == "h:80")
        #expect(HTTPRequest.parse(head: Array("\u{1}\u{2}\r\n\r\n".utf8)) == nil)
        #expect(HTTPRequest.parse(head: Array("GET / HTTP/1.1\r\nno colon\r\n\r\n".utf8)) == nil)
        #expect(HTTPRequest.headEnd(Array("a\r\n\r\nb".utf8)) == 5)
    }
}

extension Sockets.ConnectOutcome: Equatable {
    public static func == (a: Sockets.ConnectOutcome, b: Sockets.ConnectOutcome) -> Bool {
        switch (a, b) {
        case (.connected, .connected), (.refused, .refused), (.timedOut, .timedOut): return true
        case let (.failed(x), .failed(y)): return x == y
        default: return false
        }
    }
}
