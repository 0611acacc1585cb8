import Glibc

/// The clock of the BPF programs' timestamps (`bpf_ktime_get_ns`, CLOCK_MONOTONIC), and its offset to Unix time.
/// The one place srcip reads a clock; SrcipCore stays clock-free and takes times as arguments.
public enum KernelClock {
    /// Current CLOCK_MONOTONIC in nanoseconds.
    public static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Current CLOCK_MONOTONIC in seconds (for measuring intervals).
    public static func nowSeconds() -> Double { Double(nowNs()) / 1e9 }

    /// Nanoseconds to add to a CLOCK_MONOTONIC time to get Unix-epoch nanoseconds (`NodeContext.monotonicToUnixNs`).
    public static func unixOffsetNs() -> Int64 {
        var mono = timespec(), real = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        clock_gettime(CLOCK_REALTIME, &real)
        return (Int64(real.tv_sec) - Int64(mono.tv_sec)) * 1_000_000_000 + Int64(real.tv_nsec) - Int64(mono.tv_nsec)
    }
}
