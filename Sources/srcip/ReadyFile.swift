import Foundation
import SrcipJSON

/// `--ready-file PATH`: written once srcip records (hooks attached, Service catalog read), so a supervisor (the lab)
/// knows the trace has started without reading its log. One JSON object on one line, written to `PATH.tmp` and
/// renamed into place; left behind at exit.
struct ReadyFile {
    var pid: Int32
    var node: String
    var interfaces: [String]
    /// `tcx` or `clsact`.
    var attach: String
    /// `conntrack` or `fingerprint`.
    var join: String
    /// Where the Service catalog came from, e.g. `iptables (auto)`.
    var services: String

    var jsonLine: String {
        var w = JSONObjectWriter()
        w.int("pid", Int(pid))
        w.string("node", node)
        w.strings("interfaces", interfaces)
        w.string("attach", attach)
        w.string("join", join)
        w.string("services", services)
        return w.finish()
    }

    /// Writes `path.tmp`, then renames it to `path`.
    func write(to path: String) throws {
        let tmp = path + ".tmp"
        do {
            try Data((jsonLine + "\n").utf8).write(to: URL(fileURLWithPath: tmp))
        } catch {
            throw SrcipError.cannotWrite(path: tmp, reason: error.localizedDescription)
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw SrcipError.cannotWrite(path: path, reason: "rename from \(tmp): \(reason)")
        }
    }
}
