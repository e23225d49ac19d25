/// The pieces of a progress line, as pure functions so they can be checked by hand.
/// Binary units throughout (1 MiB = 1,048,576 bytes), one decimal.
public enum ProgressFormat {
    /// "512 B", "1.5 KiB", "241.4 MiB", "3.2 GiB".
    public static func bytes(_ count: Int64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard count >= 1024 else { return "\(count) B" }
        var value = Double(count) / 1024
        var unit = 0
        // Round first, so 1023.96 KiB reads "1.0 MiB" rather than "1024.0 KiB".
        while (value * 10).rounded() >= 10240 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return oneDecimal(value) + " " + units[unit]
    }

    /// "12.3 MiB/s"; "-- B/s" before a rate can be measured.
    public static func rate(bytesPerSecond: Double?) -> String {
        guard let bytesPerSecond, bytesPerSecond.isFinite, bytesPerSecond >= 0 else { return "-- B/s" }
        return bytes(Int64(bytesPerSecond.rounded())) + "/s"
    }

    /// Whole seconds as "0:07", "12:34" or "1:02:03"; "--:--" when unknown or over 99 hours.
    public static func duration(seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0, seconds < 100 * 3600 else { return "--:--" }
        let total = Int(seconds.rounded())
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        let ss = s < 10 ? "0\(s)" : "\(s)"
        if h == 0 { return "\(m):\(ss)" }
        return "\(h):\(m < 10 ? "0\(m)" : "\(m)"):\(ss)"
    }

    /// Seconds left at `bytesPerSecond` for the bytes still missing; nil when it cannot be known.
    public static func eta(done: Int64, total: Int64?, bytesPerSecond: Double?) -> Double? {
        guard let total, let bytesPerSecond, bytesPerSecond > 0, total >= done else { return nil }
        return Double(total - done) / bytesPerSecond
    }

    /// "[=========>          ]": `width` cells between the brackets, `fraction` of them filled.
    public static func bar(fraction: Double, width: Int) -> String {
        let clamped = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let filled = Int((clamped * Double(width)).rounded(.down))
        if filled >= width { return "[" + String(repeating: "=", count: width) + "]" }
        return "[" + String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: width - filled - 1) + "]"
    }

    /// " 42%": the percentage rounded down, so 100% appears only when every byte is there.
    public static func percent(done: Int64, total: Int64) -> String {
        guard total > 0 else { return "  ?%" }
        let value = Int(min(max(done, 0), total) * 100 / total)
        let text = "\(value)%"
        return String(repeating: " ", count: max(0, 4 - text.count)) + text
    }

    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
