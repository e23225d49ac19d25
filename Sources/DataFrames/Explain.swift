import Columns

/// EXPLAIN's text: one operator per line, children indented under their parent.
public enum Explain {
    public static func text(_ plan: LogicalPlan) -> String {
        var lines: [String] = []
        render(plan, depth: 0, into: &lines)
        return lines.joined(separator: "\n")
    }

    static func render(_ plan: LogicalPlan, depth: Int, into lines: inout [String]) {
        let indent = String(repeating: "  ", count: depth)
        lines.append(indent + describe(plan))
        for child in plan.children { render(child, depth: depth + 1, into: &lines) }
    }

    static func describe(_ plan: LogicalPlan) -> String {
        switch plan {
        case .scan(let source, let columns, let filter):
            let names = columns.map { source.schema.fields[$0].name }.joined(separator: ", ")
            return "SCAN \(source.label) [\(names)]" + (filter.map { " FILTER \($0)" } ?? "")
        case .values(let table): return "VALUES (\(table.rowCount) row\(table.rowCount == 1 ? "" : "s"))"
        case .filter(_, let predicate): return "FILTER \(predicate)"
        case .project(_, let expressions):
            return "PROJECT "
                + expressions.map { $0.expression.description == $0.name ? $0.name : "\($0.expression) AS \($0.name)" }.joined(
                    separator: ", ")
        case .aggregate(_, let keys, let aggregates):
            let groups = keys.isEmpty ? "" : " BY " + keys.map(\.expression.description).joined(separator: ", ")
            return "HASH AGGREGATE " + aggregates.map { "\($0.call) AS \($0.name)" }.joined(separator: ", ") + groups
        case .join(_, _, let kind, let keys, let residual):
            let on = keys.map { "\($0.left) = right.\($0.right)" }.joined(separator: " AND ")
            let name = keys.isEmpty ? "NESTED LOOP \(kind.rawValue.uppercased()) JOIN" : "HASH \(kind.rawValue.uppercased()) JOIN ON \(on)"
            return name + (residual.map { " WHERE \($0)" } ?? "")
        case .sort(_, let keys, let limit):
            let order = keys.map { "\($0.expression)\($0.descending ? " DESC" : "")\($0.nullsFirst ? " NULLS FIRST" : "")" }.joined(
                separator: ", ")
            return (limit.map { "TOP \($0) BY " } ?? "SORT BY ") + order
        case .limit(_, let offset, let count): return "LIMIT \(count.map(String.init) ?? "ALL")" + (offset > 0 ? " OFFSET \(offset)" : "")
        case .distinct: return "DISTINCT"
        case .union(_, let all): return all ? "UNION ALL" : "UNION"
        case .rowNumber(_, let partition, let order, let name):
            return "ROW_NUMBER AS \(name) PARTITION BY \(partition.map(\.description).joined(separator: ", ")) ORDER BY "
                + order.map { "\($0.expression)\($0.descending ? " DESC" : "")" }.joined(separator: ", ")
        }
    }
}
