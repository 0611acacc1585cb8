import CSrcipSkeleton
import Foundation
import SrcipCore

/// The clsact qdisc that srcip's filters hang on: who created it, and removing it once nothing uses it.
///
/// srcip removes a clsact qdisc only if srcip created it: when it creates one it leaves a marker file,
/// `/run/srcip/clsact/<netns cookie>-<ifindex>` (the netns cookie is never reused within a boot), so the last
/// srcip filter to leave removes the qdisc — whichever instance created it, and also when the creator was
/// killed and a later run cleans up. A qdisc that still holds any filter (srcip's or anyone's) stays.
/// Filter and qdisc changes of all srcip processes are serialised by an flock on `/run/srcip/clsact.lock`.
enum ClsactQdisc {
    static let runtimeDirectory = "/run/srcip"

    /// Runs `body` holding the inter-process lock (without it if `/run/srcip` cannot be written).
    static func withLock<T>(_ body: () throws -> T) rethrows -> T {
        mkdir(runtimeDirectory, 0o755)
        let fd = open(runtimeDirectory + "/clsact.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return try body() }
        defer { close(fd) } // releases the lock
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        return try body()
    }

    /// Creates the clsact qdisc of `ifindex` if it has none. Returns true if this call created it (and marked it).
    static func ensure(ifindex: UInt32) throws -> Bool {
        let rc = srcip_tc_clsact_create(Int32(ifindex))
        if rc == -EEXIST { return false }
        if rc != 0 { throw KernelError.systemCall("creating the clsact qdisc (ifindex \(ifindex))", errno: -rc) }
        if let path = markerPath(ifindex: ifindex) {
            mkdir(runtimeDirectory + "/clsact", 0o755)
            let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            if fd >= 0 { close(fd) }
        }
        return true
    }

    /// Removes the clsact qdisc of `ifindex` if srcip created it (`createdHere`, or a marker says so) and it has
    /// no filter left at ingress or egress. Returns true if it was removed. Call holding `withLock`.
    @discardableResult
    static func removeIfUnused(ifindex: UInt32, createdHere: Bool = false) -> Bool {
        let marker = markerPath(ifindex: ifindex)
        let marked = marker.map { access($0, F_OK) == 0 } ?? false
        guard createdHere || marked else { return false }
        if Interfaces.name(of: ifindex) == nil {   // the interface is gone, and its qdisc with it
            if let marker { unlink(marker) }
            return false
        }
        let inUse = Hook.allCases.contains { hook in
            ((try? ClsactFilter.list(ifindex: ifindex, hook: hook).count) ?? 1) > 0
        }
        if inUse { return false }
        let rc = srcip_tc_clsact_destroy(Int32(ifindex))
        if let marker, rc == 0 || rc == -ENOENT || rc == -EINVAL { unlink(marker) }
        return rc == 0
    }

    /// Whether a marker says srcip created the clsact qdisc of `ifindex` (this thread's network namespace).
    static func isMarked(ifindex: UInt32) -> Bool {
        markerPath(ifindex: ifindex).map { access($0, F_OK) == 0 } ?? false
    }

    /// The marker of `ifindex` in this thread's network namespace; nil if the namespace has no cookie.
    static func markerPath(ifindex: UInt32) -> String? {
        guard let cookie = netnsCookie() else { return nil }
        return "\(runtimeDirectory)/clsact/\(String(cookie, radix: 16))-\(ifindex)"
    }

    /// SO_NETNS_COOKIE (Linux 5.14+) of the calling thread's network namespace.
    static func netnsCookie() -> UInt64? {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var cookie: UInt64 = 0
        var len = socklen_t(MemoryLayout<UInt64>.size)
        let soNetnsCookie: Int32 = 71
        guard getsockopt(fd, SOL_SOCKET, soNetnsCookie, &cookie, &len) == 0 else { return nil }
        return cookie
    }
}
