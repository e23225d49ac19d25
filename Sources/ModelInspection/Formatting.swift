/// Number formatting without Foundation's `String(format:)` (the engine stays on
/// FoundationEssentials, which lacks it).
public enum Format {
    /// `value` rounded to `digits` decimals, e.g. `fixed(3.14159, 2) == "3.14"`.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = (scaled / scale).rounded(.towardZero)
        let fraction = Int64(scaled - whole * scale)
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard digits > 0 else { return sign + String(Int64(whole)) }
        let fractionText = String(fraction)
        return sign + String(Int64(whole)) + "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }

    /// Binary units, stated: "93.81 MiB".
    public static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : fixed(value, 2) + " " + units[unit]
    }

    /// "134.52 M", "6.74 B": parameter counts the way model cards write them.
    public static func count(_ n: Int64) -> String {
        let value = Double(n)
        if value >= 1e9 { return fixed(value / 1e9, 2) + " B" }
        if value >= 1e6 { return fixed(value / 1e6, 2) + " M" }
        if value >= 1e3 { return fixed(value / 1e3, 2) + " K" }
        return String(n)
    }

    /// Thousands separators: 98,362,432.
    public static func grouped(_ n: Int64) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// Left-aligned table with a header row; the last column is not padded.
    public static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                if rightAligned.contains(column) { return pad + cell }
                return column == row.count - 1 ? cell : cell + pad
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension Format {
    /// Text from a file made safe for a terminal: control characters (C0, DEL, C1 — escape sequences
    /// start with them) are shown as `\n`, `\t`, `\r` or `\u{…}` instead of being sent to the terminal.
    public static func printable(_ text: String, keepingNewlines: Bool = false) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A where keepingNewlines, 0x09 where keepingNewlines: out.unicodeScalars.append(scalar)
            case 0x0A: out += "\\n"
            case 0x09: out += "\\t"
            case 0x0D: out += "\\r"
            case 0x00..<0x20, 0x7F..<0xA0: out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
