import ArgumentParser

/// Range checks of numeric command-line options, with messages that name the option, the value and the valid range.
/// They run in `validate()`, before anything is loaded or attached.
enum OptionValidation {
    /// The longest duration any time option accepts: one year, far inside what `UInt64` nanoseconds and `Duration` hold.
    static let maxSeconds: Double = 365 * 24 * 3600

    /// A number of seconds: finite and within `min...maxSeconds`.
    static func seconds(_ value: Double, option: String, min: Double) throws {
        guard value.isFinite, value >= min, value <= maxSeconds else {
            throw ValidationError("\(option) \(value): must be a number of seconds from \(format(min)) to \(Int(maxSeconds)) (one year)")
        }
    }

    /// An integer within `range`.
    static func integer(_ value: Int, option: String, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            let upper = range.upperBound == Int.max ? "" : " to \(range.upperBound)"
            let text = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "from \(range.lowerBound)\(upper)"
            throw ValidationError("\(option) \(value): must be an integer \(text)")
        }
    }

    private static func format(_ d: Double) -> String {
        d == d.rounded() ? String(Int(d)) : String(d)
    }
}
