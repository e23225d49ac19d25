import Columns

/// The aggregates queries can compute, with DuckDB's names and result types.
public enum AggregateFunction: String, Sendable, CaseIterable {
    case count
    case countStar = "count_star"
    case countDistinct = "count_distinct"
    case sum, avg, min, max
    case median
    case quantile = "quantile_cont"
    case stddev = "stddev_samp"
    case stddevPop = "stddev_pop"
    case variance = "var_samp"
    case varPop = "var_pop"
    case corr
    case regrR2 = "regr_r2"
    case first, last
    case anyValue = "any_value"

    static let aliases: [String: AggregateFunction] = [
        "mean": .avg, "stddev": .stddev, "std": .stddev, "variance": .variance, "var": .variance, "quantile": .quantile,
        "arbitrary": .anyValue, "sum_no_overflow": .sum,
    ]

    public static func named(_ name: String) -> AggregateFunction? {
        let folded = name.lowercased()
        return AggregateFunction(rawValue: folded) ?? aliases[folded]
    }

    public var name: String { rawValue }

    public func resultType(_ arguments: [DataType]) throws -> DataType {
        let expected = (self == .corr || self == .regrR2) ? 2 : (self == .countStar ? 0 : 1)
        guard arguments.count == expected else {
            throw QueryError("\(name)() takes \(expected) argument\(expected == 1 ? "" : "s"), got \(arguments.count)")
        }
        func numeric() throws {
            for type in arguments where !type.isNumeric {
                throw QueryError("\(name)() expects numbers, got \(type)")
            }
        }
        switch self {
        case .count, .countStar, .countDistinct: return .int64
        case .sum:
            try numeric()
            return arguments[0].isInteger ? .int64 : .float64
        case .avg, .median, .quantile, .stddev, .stddevPop, .variance, .varPop, .corr, .regrR2:
            try numeric()
            return .float64
        case .min, .max, .first, .last, .anyValue: return arguments[0]
        }
    }
}

/// One aggregate of a query, bound: its function, argument expressions over the input, and the
/// quantile fraction for quantile_cont.
public struct AggregateCall: Sendable, Equatable, CustomStringConvertible {
    public var function: AggregateFunction
    public var arguments: [Expression]
    public var fraction: Double
    public var type: DataType

    public init(_ function: AggregateFunction, _ arguments: [Expression], fraction: Double = 0.5) throws {
        self.function = function
        self.arguments = arguments
        self.fraction = function == .median ? 0.5 : fraction
        type = try function.resultType(arguments.map(\.type))
    }

    public var description: String {
        switch function {
        case .countStar: "count_star()"
        case .countDistinct: "count(DISTINCT \(arguments[0]))"
        default: "\(function.name)(\(arguments.map(\.description).joined(separator: ", ")))"
        }
    }
}
