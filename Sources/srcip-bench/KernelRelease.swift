import Glibc

/// The running kernel's release (`uname -r`), for the benchmark's header and bench.json.
func kernelRelease() -> String {
    var u = utsname()
    guard uname(&u) == 0 else { return "unknown" }
    return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}
