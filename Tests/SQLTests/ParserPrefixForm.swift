import Columns

@testable import SQL

/// A parsed expression written as a parenthesised prefix form, so tests can state the expected tree
/// by hand in one line.
enum PrefixForm {
    static func of(_ expression: SyntaxExpression) -> String {
        switch expression.node {
        case .literal(let value): literal(value)
        case .typedLiteral(let type, let text): "\(type)'\(text)'"
        case .column(let qualifier, let name): qualifier.map { "\($0).\(name)" } ?? name
        case .star: "*"
        case .unary(let op, let operand): "(\(op) \(of(operand)))"
        case .binary(let op, let left, let right): "(\(op) \(of(left)) \(of(right)))"
        case .isNull(let operand, let negated): "(\(negated ? "is-not-null" : "is-null") \(of(operand)))"
        case .isDistinct(let left, let right, let negated): "(\(negated ? "is-not-distinct" : "is-distinct") \(of(left)) \(of(right)))"
        case .inList(let operand, let items, let negated):
            "(\(negated ? "not-in" : "in") \(of(operand)) \(items.map(of).joined(separator: " ")))"
        case .inQuery(let operand, _, let negated): "(\(negated ? "not-in" : "in") \(of(operand)) <query>)"
        case .between(let operand, let low, let high, let negated):
            "(\(negated ? "not-between" : "between") \(of(operand)) \(of(low)) \(of(high)))"
        case .like(let operand, let pattern, let insensitive, let negated):
            "(\(negated ? "not-" : "")\(insensitive ? "ilike" : "like") \(of(operand)) \(of(pattern)))"
        case .caseWhen(let operand, let branches, let otherwise):
            "(case"
                + (operand.map { " " + of($0) } ?? "")
                + branches.map { " (when \(of($0.0)) \(of($0.1)))" }.joined()
                + (otherwise.map { " (else \(of($0)))" } ?? "") + ")"
        case .cast(let operand, let type): "(cast \(of(operand)) \(type))"
        case .call(let name, let arguments, let distinct, let window):
            "(\(name)"
                + (distinct ? " distinct" : "")
                + arguments.map { " " + of($0) }.joined()
                + (window.map(over) ?? "") + ")"
        case .subquery: "<subquery>"
        case .exists(_, let negated): negated ? "<not-exists>" : "<exists>"
        }
    }

    static func literal(_ value: Value) -> String {
        switch value {
        case .null: "null"
        case .boolean(let flag): flag ? "true" : "false"
        case .integer(let number): String(number)
        case .double(let number): String(number)
        case .string(let text): "'\(text)'"
        default: "\(value)"
        }
    }

    static func over(_ window: WindowSpecification) -> String {
        var text = " over"
        if !window.partitionBy.isEmpty { text += " (partition \(window.partitionBy.map(of).joined(separator: " ")))" }
        if !window.orderBy.isEmpty {
            text += " (order " + window.orderBy.map { of($0.expression) + ($0.descending ? " desc" : " asc") }.joined(separator: " ") + ")"
        }
        return text
    }
}
