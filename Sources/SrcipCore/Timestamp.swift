/// RFC 3339 timestamps with microseconds in UTC (`2026-11-25T23:59:01.123456Z`), written and read by hand
/// so the core needs no Foundation.
public enum RFC3339 {
    /// Formats Unix-epoch nanoseconds; sub-microsecond digits are truncated.
    public static func format(unixNs: Int64) -> String {
        let micros = unixNs >= 0 ? unixNs / 1000 : (unixNs - 999) / 1000
        var secs = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let frac = micros - secs * 1_000_000
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        secs -= days * 86_400
        let (y, m, d) = civil(fromDays: days)
        if (0...9999).contains(y) {
            // `YYYY-MM-DDTHH:MM:SS.ffffffZ` written digit by digit into the string's own storage (every flow record
            // carries two: concatenating 20 pieces cost more than the rest of the timestamp).
            return String(unsafeUninitializedCapacity: 27) { b in
                var i = 0
                func put(_ v: Int64, _ width: Int) {
                    var v = v
                    for k in stride(from: i + width - 1, through: i, by: -1) {
                        b[k] = UInt8(truncatingIfNeeded: 48 + v % 10)
                        v /= 10
                    }
                    i += width
                }
                func sep(_ c: Unicode.Scalar) {
                    b[i] = UInt8(ascii: c)
                    i += 1
                }
                put(y, 4); sep("-"); put(m, 2); sep("-"); put(d, 2); sep("T")
                put(secs / 3600, 2); sep(":"); put(secs / 60 % 60, 2); sep(":"); put(secs % 60, 2)
                sep("."); put(frac, 6); sep("Z")
                return i
            }
        }
        var out = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
        out += pad(secs / 3600, 2) + ":" + pad(secs / 60 % 60, 2) + ":" + pad(secs % 60, 2)
        out += "." + pad(frac, 6) + "Z"
        return out
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into Unix-epoch nanoseconds; nil when malformed.
    public static func parse(_ text: String) -> Int64? {
        let c = Array(text.utf8)
        guard c.count >= 20 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int64? {
            guard from + len <= c.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + len) {
                guard c[i] >= 48, c[i] <= 57 else { return nil }
                v = v * 10 + Int64(c[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), c[4] == UInt8(ascii: "-"), let mo = num(5, 2), c[7] == UInt8(ascii: "-"),
              let d = num(8, 2), c[10] == UInt8(ascii: "T") || c[10] == UInt8(ascii: "t"),
              let h = num(11, 2), c[13] == UInt8(ascii: ":"), let mi = num(14, 2), c[16] == UInt8(ascii: ":"),
              let s = num(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var i = 19
        var fracNs: Int64 = 0
        if i < c.count, c[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            let start = i
            while i < c.count, c[i] >= 48, c[i] <= 57 {
                fracNs += Int64(c[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset: Int64 = 0
        guard i < c.count else { return nil }
        if c[i] == UInt8(ascii: "Z") || c[i] == UInt8(ascii: "z") {
            i += 1
        } else if c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
            guard let oh = num(i + 1, 2), i + 3 < c.count, c[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (c[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == c.count else { return nil }
        let days = daysFromCivil(y, mo, d)
        let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset
        return secs * 1_000_000_000 + fracNs
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian).
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
