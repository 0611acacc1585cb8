import Foundation

/// Bounds on what srcip reads from a `--services` file and quotes back in messages, so that a huge or garbage
/// input fails fast and an error never echoes more than a short excerpt of it.
enum InputLimits {
    /// Largest rules or kubectl dump read (a 5,000-Service node's dumps are a few tens of MiB).
    static let maxFileBytes = 256 << 20
    /// Longest iptables-save line (real rules are well under 4 KiB; comments are at most 256 characters).
    static let maxLineBytes = 64 << 10
    /// Most characters of input an error message quotes.
    static let quoteCharacters = 80

    static let tooLarge = "larger than \(maxFileBytes >> 20) MiB; not a rules or kubectl dump"

    /// `s` itself when short, else its first `limit` characters and `… (N bytes)`.
    static func excerpt(_ s: some StringProtocol, limit: Int = quoteCharacters) -> String {
        var out = ""
        var n = 0
        for c in s {
            if n == limit { return out + "… (\(s.utf8.count) bytes)" }
            out.append(c)
            n += 1
        }
        return out
    }

    /// Reads a whole input file: a directory, a non-regular file over the limit or an unreadable path is a typed error.
    static func readFile(_ path: String) throws(ServiceSourceError) -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadable(file: path, reason: "no such file")
        }
        if isDirectory.boolValue { throw .unreadable(file: path, reason: "is a directory") }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maxFileBytes {
            throw .unreadable(file: path, reason: tooLarge)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadable(file: path, reason: "permission denied or not a readable file")
        }
        defer { try? handle.close() }
        do {
            // One byte over the limit tells "too large" without reading (or trusting the size of) the rest.
            let data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
            if data.count > maxFileBytes {
                throw ServiceSourceError.unreadable(file: path, reason: tooLarge)
            }
            return data
        } catch let e as ServiceSourceError {
            throw e
        } catch {
            throw .unreadable(file: path, reason: (error as NSError).localizedDescription)
        }
    }
}
