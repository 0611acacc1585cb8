import Foundation
import SrcipSystem
import Synchronization

/// Write end of the self-pipe, for the signal handler (a C function pointer cannot capture it).
private let signalPipeWrite = Atomic<Int32>(-1)

/// SIGINT and SIGTERM as something a task awaits. The handler only writes the signal number to a pipe
/// (async-signal-safe); `next()` reads it on a thread of its own, and cancelling the waiting task ends the wait.
enum TerminationSignal {
    private static let pipeFDs: (read: Int32, write: Int32) = {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return (-1, -1) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        signalPipeWrite.store(fds[1], ordering: .releasing)
        return (fds[0], fds[1])
    }()

    /// Catches SIGINT and SIGTERM from now on (until then they end the process). Idempotent.
    static func install() {
        _ = pipeFDs
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { sig in
                var byte = UInt8(truncatingIfNeeded: sig)
                _ = write(signalPipeWrite.load(ordering: .acquiring), &byte, 1)
            }
        }
    }

    /// Waits for SIGINT or SIGTERM and returns its number; nil when the waiting task is cancelled.
    static func next() async -> Int32? {
        install()
        let fds = pipeFDs
        guard fds.read >= 0 else { return nil }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Int32?, Never>) in
                do {
                    try DedicatedThread.detached {
                        var byte: UInt8 = 0
                        let n = read(fds.read, &byte, 1)
                        c.resume(returning: n == 1 && byte != 0 ? Int32(byte) : nil)
                    }
                } catch {
                    c.resume(returning: nil)
                }
            }
        } onCancel: {
            var wake: UInt8 = 0
            _ = write(fds.write, &wake, 1)
        }
    }
}
