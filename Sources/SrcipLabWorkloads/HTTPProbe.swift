import Foundation
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipSystem
#if canImport(Glibc)
import Glibc
import SrcipHTTP
#endif

/// What one HTTP GET from the lab's client ended with.
public enum ProbeOutcome: Sendable, Equatable, CustomStringConvertible {
    /// An answer: HTTP status and body.
    case response(status: Int, body: String)
    /// No answer within the timeout (a DROP somewhere).
    case timeout
    /// Connection refused (a REJECT, or nothing listening).
    case refused
    case failed(String)

    /// The echo pod's `client_address`, if the answer came from an echo pod.
    public var clientAddress: String? {
        if case let .response(_, body) = self { return EchoResponse.clientAddress(in: body) }
        return nil
    }

    public var description: String {
        switch self {
        case let .response(status, body):
            if let client = EchoResponse.clientAddress(in: body) { return "client_address=\(client)" }
            return "HTTP \(status)"
        case .timeout: return "timeout"
        case .refused: return "refused"
        case let .failed(why): return "error: \(why)"
        }
    }
}

/// A tiny HTTP/1.1 GET client over plain sockets, with a chosen local port and a timeout.
public enum HTTPProbe {
    public static func get(ip: String, port: UInt16, path: String = "/", host: String? = nil,
                           sourceIP: String? = nil, sourcePort: UInt16 = 0, timeout: Double = 2) -> ProbeOutcome {
        do {
            let fd = try Sockets.tcpSocket(for: ip)
            defer { close(fd) }
            if sourcePort != 0 || sourceIP != nil { try Sockets.bind(fd, sourceIP ?? (ip.contains(":") ? "::" : "0.0.0.0"), sourcePort) }
            switch try Sockets.connect(fd, ip, port, timeout: timeout) {
            case .connected: break
            case .refused: return .refused
            case .timedOut: return .timeout
            case let .failed(why): return .failed(why)
            }
            Sockets.setTimeouts(fd, seconds: timeout)
            let request = "GET \(path) HTTP/1.1\r\nHost: \(host ?? (ip.contains(":") ? "[\(ip)]" : ip))\r\nUser-Agent: srcip-lab\r\nAccept: */*\r\nConnection: close\r\n\r\n"
            guard Sockets.sendAll(fd, Array(request.utf8)) else { return .failed(Sockets.errorText("send")) }
            let data = Sockets.receiveAll(fd)
            guard let end = HTTPRequest.headEnd(data) else {
                return data.isEmpty ? .timeout : .failed("incomplete HTTP answer (\(data.count) bytes)")
            }
            let statusLine = String(decoding: data[..<end], as: UTF8.self).split(separator: "\r\n").first ?? ""
            let parts = statusLine.split(separator: " ")
            let status = parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
            return .response(status: status, body: String(decoding: data[end...], as: UTF8.self))
        } catch {
            return .failed("\(error)")
        }
    }

    /// `get` run inside network namespace `namespace`.
    public static func get(in namespace: String, ip: String, port: UInt16, path: String = "/", sourcePort: UInt16 = 0,
                           timeout: Double = 2) -> ProbeOutcome {
        do {
            return try NetworkNamespace.run(named: namespace) {
                get(ip: ip, port: port, path: path, sourcePort: sourcePort, timeout: timeout)
            }
        } catch {
            return .failed("\(error)")
        }
    }
}
