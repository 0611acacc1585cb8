import Foundation
import SrcipSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A small thread-per-connection HTTP/1.x server over plain sockets: one accept thread per listening address,
/// `Connection: close` answers, 5 s read timeout, 64 KiB head limit, garbage answered with 400. Used by the lab's
/// workloads and by `srcip trace --metrics`.
public final class HTTPServer: Sendable {
    /// What a handler returns.
    public struct Reply {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String
        public init(status: Int, headers: [(String, String)] = [], body: String) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    /// Everything a handler learns about one request.
    public struct Context {
        public var request: HTTPRequest
        public var peerIP: String
        public var peerPort: UInt16
        public var localIP: String
        public var localPort: UInt16
        public var body: [UInt8]
    }

    public typealias Handler = @Sendable (Context) -> Reply
    private let handler: Handler
    /// Listening sockets; -1 once closed after `stop()`.
    private let listeners = Mutex<[Int32]>([])

    public init(handler: @escaping Handler) {
        self.handler = handler
    }

    /// Binds every `(ip, port)` before returning, so a caller can announce readiness right after.
    public func listen(on addresses: [(ip: String, port: UInt16)]) throws {
        for (ip, port) in addresses {
            let fd = try Sockets.listen(ip, port)
            listeners.withLock { $0.append(fd) }
        }
    }

    /// The local addresses listened on (with the port the kernel chose for port 0).
    public var localAddresses: [(ip: String, port: UInt16)] {
        listeners.withLock { $0 }.filter { $0 >= 0 }.map { Sockets.describe(Sockets.localAddress($0)) }
    }

    /// Stops accepting: shuts the listening sockets down, which ends the accept threads; connections being served
    /// finish on their own.
    public func stop() {
        listeners.withLock { fds in
            for fd in fds where fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Starts the accept threads (returns immediately).
    public func start() {
        for fd in listeners.withLock({ $0 }) {
            do { try DedicatedThread.detached { [self] in acceptLoop(fd) } } catch { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            guard let (conn, peer) = Sockets.accept(fd) else {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE { usleep(1000); continue }
                listeners.withLock { fds in   // under the lock: `stop()` never shuts down a reused descriptor
                    fds = fds.map { $0 == fd ? -1 : $0 }
                    close(fd)
                }
                return
            }
            do { try DedicatedThread.detached { [self] in serve(conn, peer) } } catch { close(conn) }
        }
    }

    private func serve(_ fd: Int32, _ peer: SocketAddress) {
        defer { close(fd) }
        Sockets.setTimeouts(fd, seconds: 5)
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 8192)
        var end: Int?
        while end == nil, data.count < 65536 {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return }
            data += buf[0..<n]
            end = HTTPRequest.headEnd(data)
        }
        guard let end, let request = HTTPRequest.parse(head: Array(data[..<end])) else {
            respond(fd, Reply(status: 400, body: "bad request\n"))
            return
        }
        var body = Array(data[end...])
        if let length = request.header("content-length").flatMap({ Int($0) }), length >= 0 {
            let wanted = min(length, 1 << 20)
            while body.count < wanted {
                let n = recv(fd, &buf, min(buf.count, wanted - body.count), 0)
                if n <= 0 { break }
                body += buf[0..<n]
            }
            if body.count > wanted { body = Array(body[..<wanted]) }
        }
        let peerAddr = Sockets.describe(peer)
        let local = Sockets.describe(Sockets.localAddress(fd))
        let reply = handler(Context(request: request, peerIP: peerAddr.ip, peerPort: peerAddr.port,
                                    localIP: local.ip, localPort: local.port, body: body))
        respond(fd, reply)
    }

    private func respond(_ fd: Int32, _ reply: Reply) {
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"][reply.status] ?? "Status"
        let bodyBytes = Array(reply.body.utf8)
        var head = "HTTP/1.1 \(reply.status) \(reason)\r\n"
        for (name, value) in reply.headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(bodyBytes.count)\r\nConnection: close\r\n\r\n"
        Sockets.sendAll(fd, Array(head.utf8) + bodyBytes)
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Makes SIGTERM and SIGINT end the process with status 0.
    public static func exitCleanlyOnSignals() {
        signal(SIGTERM) { _ in _exit(0) }
        signal(SIGINT) { _ in _exit(0) }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Creates `path` (an empty "ready" marker) once listeners are bound.
    public static func announceReady(_ path: String?) {
        guard let path else { return }
        _ = FileManager.default.createFile(atPath: path, contents: Data())
    }
}
