import Columns

/// A query result as text: a boxed table for terminals (DuckDB's layout: names and types in the
/// header, numbers right-aligned, the middle rows elided past a limit, long values cut with "…"),
/// markdown, CSV, or JSON lines.
public enum TableText {
    public enum Format: String, Sendable, CaseIterable {
        case table, markdown, csv, jsonl
    }

    public static func render(_ table: Table, format: Format, maximumRows: Int = 40, maximumWidth: Int = 40) -> String {
        switch format {
        case .table: return box(table, maximumRows: maximumRows, maximumWidth: maximumWidth)
        case .markdown: return markdown(table)
        case .csv: return csv(table)
        case .jsonl: return jsonLines(table)
        }
    }

    static func cell(_ value: Value) -> String {
        switch value {
        case .null: return "NULL"
        default: return value.description
        }
    }

    static func displayWidth(_ text: String) -> Int { text.unicodeScalars.count }

    static func cut(_ text: String, _ width: Int) -> String {
        // Control characters from data must not reach the terminal as escapes.
        let visible = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "␣" : $0 }))
        guard displayWidth(visible) > width else { return visible }
        return String(String.UnicodeScalarView(visible.unicodeScalars.prefix(width - 1))) + "…"
    }

    static func box(_ table: Table, maximumRows: Int, maximumWidth: Int) -> String {
        let fields = table.schema.fields
        let total = table.rowCount
        let shown: [Int]
        let elided = total > maximumRows
        if elided {
            let head = maximumRows / 2
            shown = Array(0..<head) + Array((total - (maximumRows - head))..<total)
        } else {
            shown = Array(0..<total)
        }
        let rows = shown.map { row in fields.indices.map { cut(cell(table.value(row: row, column: $0)), maximumWidth) } }
        let names = fields.map { cut($0.name, maximumWidth) }
        let types = fields.map { $0.type.description.lowercased() }
        var widths = fields.indices.map { max(displayWidth(names[$0]), displayWidth(types[$0]), 1) }
        for row in rows { for (index, text) in row.enumerated() { widths[index] = max(widths[index], displayWidth(text)) } }
        if elided { widths = widths.map { max($0, 1) } }
        func pad(_ text: String, _ width: Int, right: Bool) -> String {
            let space = String(repeating: " ", count: max(0, width - displayWidth(text)))
            return right ? space + text : text + space
        }
        func line(_ left: String, _ middle: String, _ right: String) -> String {
            left + widths.map { String(repeating: "─", count: $0 + 2) }.joined(separator: middle) + right
        }
        func row(_ cells: [String], rightAligned: [Bool]) -> String {
            "│"
                + cells.enumerated().map { " " + pad($0.element, widths[$0.offset], right: rightAligned[$0.offset]) + " " }.joined(
                    separator: "│") + "│"
        }
        let numeric = fields.map { $0.type.isNumeric }
        var lines = [line("┌", "┬", "┐")]
        lines.append(row(names, rightAligned: fields.map { _ in false }))
        lines.append(row(types, rightAligned: fields.map { _ in false }))
        lines.append(line("├", "┼", "┤"))
        for (position, cells) in rows.enumerated() {
            if elided && position == maximumRows / 2 { lines.append(row(fields.map { _ in "·" }, rightAligned: numeric)) }
            lines.append(row(cells, rightAligned: numeric))
        }
        lines.append(line("└", "┴", "┘"))
        let shownText = elided ? " (\(maximumRows) shown)" : ""
        lines.append("\(total) row\(total == 1 ? "" : "s")\(shownText), \(fields.count) column\(fields.count == 1 ? "" : "s")")
        return lines.joined(separator: "\n")
    }

    static func markdown(_ table: Table) -> String {
        func escape(_ text: String) -> String { text.replacingAll("|", with: "\\|").replacingAll("\n", with: " ") }
        var lines = ["| " + table.schema.names.map(escape).joined(separator: " | ") + " |"]
        lines.append("|" + table.schema.fields.map { $0.type.isNumeric ? "---:|" : "---|" }.joined())
        for row in 0..<table.rowCount {
            lines.append(
                "| " + table.schema.fields.indices.map { escape(cell(table.value(row: row, column: $0))) }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// RFC 4180: quoted only when needed, NULL as an empty field.
    public static func csv(_ table: Table, delimiter: Character = ",") -> String {
        func field(_ value: Value) -> String {
            if value.isNull { return "" }
            let text = value.description
            guard text.contains(where: { $0 == delimiter || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || text.isEmpty && value != .null
            else { return text }
            return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
        }
        var lines = [table.schema.names.map { field(.string($0)) }.joined(separator: String(delimiter))]
        for row in 0..<table.rowCount {
            lines.append(table.schema.fields.indices.map { field(table.value(row: row, column: $0)) }.joined(separator: String(delimiter)))
        }
        return lines.joined(separator: "\n")
    }

    static func jsonLines(_ table: Table) -> String {
        var lines: [String] = []
        for row in 0..<table.rowCount {
            let members = table.schema.fields.enumerated().map { index, field in
                jsonString(field.name) + ":" + jsonValue(table.value(row: row, column: index))
            }
            lines.append("{" + members.joined(separator: ",") + "}")
        }
        return lines.joined(separator: "\n")
    }

    static func jsonValue(_ value: Value) -> String {
        switch value {
        case .null: "null"
        case .boolean(let flag): flag ? "true" : "false"
        case .integer(let integer): String(integer)
        case .double(let double): double.isFinite ? String(double) : "null"
        case .string(let text): jsonString(text)
        case .date, .timestamp: jsonString(value.description)
        }
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
