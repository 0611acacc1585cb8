import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a closure inside a named network namespace (`/run/netns/NAME`) on a dedicated thread, so that sockets and
/// `/proc/sys/net` writes made by the closure belong to that namespace while the rest of the process stays where it is.
public enum NetnsExecutor {
    public static func run<T>(in namespace: String, _ body: @escaping () throws -> T) throws -> T {
        let fd = open("/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LabError.unsupported("network namespace \(namespace) does not exist (\(String(cString: strerror(errno)))); is the lab up?")
        }
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { close(fd); done.signal() }
            guard setnsFunction(fd, cloneNewNet) == 0 else {
                box.result = .failure(LabError.unsupported("setns(\(namespace)) failed: \(String(cString: strerror(errno)))"))
                return
            }
            box.result = Result { try body() }
        }
        thread.stackSize = 1 << 20
        thread.start()
        done.wait()
        return try box.result!.get()
    }

    /// Writes sysctls (`net.ipv4.ip_forward=1` form) inside `namespace`.
    public static func sysctl(in namespace: String, _ settings: [String]) throws {
        try run(in: namespace) {
            for setting in settings {
                let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
                let path = "/proc/sys/" + parts[0].replacingOccurrences(of: ".", with: "/")
                guard let handle = FileHandle(forWritingAtPath: path) else {
                    throw LabError.unsupported("cannot write sysctl \(parts[0]) in \(namespace) (missing \(path))")
                }
                try handle.write(contentsOf: Data(parts[1].utf8))
                try handle.close()
            }
        }
    }

    /// Linux CLONE_NEWNET; `setns(2)` is looked up at run time because Glibc's Swift module hides it (needs _GNU_SOURCE).
    private static let cloneNewNet: Int32 = 0x4000_0000
    private typealias SetnsFunction = @convention(c) (Int32, Int32) -> Int32
    private static let setnsFunction: SetnsFunction = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { fatalError("glibc without setns(2)") }
        return unsafeBitCast(symbol, to: SetnsFunction.self)
    }()

    private final class ResultBox<T>: @unchecked Sendable {
        var result: Result<T, Error>?
    }
}
