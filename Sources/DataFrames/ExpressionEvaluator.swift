import Columns

/// Evaluates bound expressions over a batch, a column at a time. Arithmetic, comparisons and
/// boolean logic run as typed loops over whole columns; comparisons of a dictionary-encoded
/// string column with a constant compare each distinct value once and then map the codes. Rarer
/// operations (CASE, string functions) go row by row through `Value`.
enum ExpressionEvaluator {
    static func evaluate(_ expression: Expression, _ batch: RecordBatch) throws -> Column {
        let count = batch.rowCount
        switch expression {
        case .column(let index, _, _):
            return batch.columns[index]
        case .literal(let value, let type):
            return broadcast(value, type: type, count: count)
        case .unary(.not, let operand):
            let input = try evaluate(operand, batch)
            return Column(.boolean(input.booleanValues().map { !$0 }), validity: input.validity)
        case .unary(.negate, let operand):
            let input = try evaluate(operand, batch)
            if operand.type.isInteger { return Column(.int64(input.int64Values().map { 0 &- $0 }), validity: input.validity) }
            return Column(.float64(input.doubleValues().map { -$0 }), validity: input.validity)
        case .binary(let op, let left, let right):
            if op == .and || op == .or { return try logical(op, evaluate(left, batch), evaluate(right, batch)) }
            if op.isComparison {
                if let fast = try compareWithConstant(op, left, right, batch) { return fast }
                return try compare(op, evaluate(left, batch), evaluate(right, batch), left.type, right.type)
            }
            if op == .concatenate { return try rowWise(expression, batch) }
            return try arithmetic(op, evaluate(left, batch), evaluate(right, batch), left.type, right.type, result: expression.type)
        case .isNull(let operand, let negated):
            let input = try evaluate(operand, batch)
            guard let validity = input.validity else { return Column(.boolean([Bool](repeating: negated, count: count))) }
            return Column(.boolean((0..<count).map { validity.isValid($0) == negated }))
        case .cast(let operand, let type):
            return try Casts.cast(evaluate(operand, batch), to: type)
        case .inList(let operand, let values, let negated):
            return try membership(evaluate(operand, batch), values, negated: negated)
        case .like(let operand, let pattern, let insensitive, let negated):
            let matcher = LikePattern(pattern, caseInsensitive: insensitive)
            return StringPredicates.evaluate(try evaluate(operand, batch)) { matcher.matches($0) != negated }
        case .caseWhen, .function:
            return try rowWise(expression, batch)
        }
    }

    // MARK: boolean logic (SQL's three-valued AND/OR)

    static func logical(_ op: BinaryOperator, _ left: Column, _ right: Column) -> Column {
        let a = left.booleanValues(), b = right.booleanValues()
        let count = a.count
        if left.validity == nil && right.validity == nil {
            return Column(.boolean(op == .and ? zip(a, b).map { $0 && $1 } : zip(a, b).map { $0 || $1 }))
        }
        var values = [Bool](repeating: false, count: count)
        var validity = Validity(count: count, allValid: true)
        for row in 0..<count {
            let aKnown = !left.isNull(row), bKnown = !right.isNull(row)
            if op == .and {
                if (aKnown && !a[row]) || (bKnown && !b[row]) {
                    values[row] = false
                } else if aKnown && bKnown {
                    values[row] = true
                } else {
                    validity.set(row, valid: false)
                }
            } else {
                if (aKnown && a[row]) || (bKnown && b[row]) {
                    values[row] = true
                } else if aKnown && bKnown {
                    values[row] = false
                } else {
                    validity.set(row, valid: false)
                }
            }
        }
        return Column(.boolean(values), validity: validity)
    }

    // MARK: arithmetic

    static func arithmetic(
        _ op: BinaryOperator, _ left: Column, _ right: Column, _ leftType: DataType, _ rightType: DataType, result: DataType
    ) throws -> Column {
        let count = left.count
        var validity = combinedValidity([left, right], count: count)
        if result == .int64 || result == .date || result == .timestamp {
            let a = left.int64Values(), b = right.int64Values()
            var out = [Int64](repeating: 0, count: count)
            var overflowRow: Int?
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { out in
                        switch op {
                        case .add:
                            for row in 0..<count {
                                let (sum, overflow) = a[row].addingReportingOverflow(b[row])
                                out[row] = sum
                                if overflow && overflowRow == nil && !(validity.map { !$0.isValid(row) } ?? false) { overflowRow = row }
                            }
                        case .subtract:
                            for row in 0..<count {
                                let (difference, overflow) = a[row].subtractingReportingOverflow(b[row])
                                out[row] = difference
                                if overflow && overflowRow == nil && !(validity.map { !$0.isValid(row) } ?? false) { overflowRow = row }
                            }
                        case .multiply:
                            for row in 0..<count {
                                let (product, overflow) = a[row].multipliedReportingOverflow(by: b[row])
                                out[row] = product
                                if overflow && overflowRow == nil && !(validity.map { !$0.isValid(row) } ?? false) { overflowRow = row }
                            }
                        case .modulo:
                            for row in 0..<count where b[row] != 0 { out[row] = a[row] % b[row] }
                        default: break
                        }
                    }
                }
            }
            if let overflowRow {
                throw QueryError("integer overflow in \(a[overflowRow]) \(op.symbol) \(b[overflowRow]) (BIGINT); CAST an operand to DOUBLE")
            }
            if op == .modulo && b.contains(0) {
                var flags = validity ?? Validity(count: count, allValid: true)
                for row in 0..<count where b[row] == 0 { flags.set(row, valid: false) }
                validity = flags
            }
            let storage: ColumnStorage =
                switch result {
                case .date: .date(out.map { Int32(truncatingIfNeeded: $0) })
                case .timestamp: .timestamp(out)
                default: .int64(out)
                }
            return Column(storage, validity: validity)
        }
        let a = left.doubleValues(), b = right.doubleValues()
        var out = [Double](repeating: 0, count: count)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { out in
                    switch op {
                    case .add: for row in 0..<count { out[row] = a[row] + b[row] }
                    case .subtract: for row in 0..<count { out[row] = a[row] - b[row] }
                    case .multiply: for row in 0..<count { out[row] = a[row] * b[row] }
                    case .divide: for row in 0..<count { out[row] = a[row] / b[row] }
                    case .modulo: for row in 0..<count { out[row] = a[row].truncatingRemainder(dividingBy: b[row]) }
                    default: break
                    }
                }
            }
        }
        // Division by zero is NULL, as in DuckDB (not ±inf).
        if op == .divide || op == .modulo, b.contains(0) {
            var flags = validity ?? Validity(count: count, allValid: true)
            for row in 0..<count where b[row] == 0 { flags.set(row, valid: false) }
            validity = flags
        }
        return Column(.float64(out), validity: validity)
    }

    // MARK: comparisons

    static func compare(_ op: BinaryOperator, _ left: Column, _ right: Column, _ leftType: DataType, _ rightType: DataType)
        throws -> Column
    {
        let count = left.count
        var out = [Bool](repeating: false, count: count)
        if leftType == .string || rightType == .string {
            let a = left.decodedStrings(), b = right.decodedStrings()
            for row in 0..<count { out[row] = op.holds(StringArray.compare(a.views[row], a.buffers, b.views[row], b.buffers)) }
        } else if (leftType.isInteger || leftType == .date || leftType == .timestamp || leftType == .boolean)
            && (rightType.isInteger || rightType == .date || rightType == .timestamp || rightType == .boolean)
        {
            let a = left.int64Values(), b = right.int64Values()
            a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in for row in 0..<count { out[row] = op.holds(a[row], b[row]) } }
            }
        } else {
            let a = left.doubleValues(), b = right.doubleValues()
            a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in for row in 0..<count { out[row] = op.holds(a[row], b[row]) } }
            }
        }
        if op == .notDistinct || op == .distinct {
            // NULL is not distinct from NULL, and distinct from any value: never NULL itself.
            for row in 0..<count {
                let aNull = left.isNull(row), bNull = right.isNull(row)
                if aNull || bNull { out[row] = (aNull == bNull) == (op == .notDistinct) }
            }
            return Column(.boolean(out))
        }
        return Column(.boolean(out), validity: combinedValidity([left, right], count: count))
    }

    /// `column op constant` (either order) without materialising the constant; dictionary strings
    /// compare each distinct value once.
    static func compareWithConstant(_ op: BinaryOperator, _ left: Expression, _ right: Expression, _ batch: RecordBatch)
        throws -> Column?
    {
        guard op != .notDistinct && op != .distinct else { return nil }
        var op = op
        let columnSide: Expression, constant: Value
        if case .literal(let value, _) = right {
            columnSide = left
            constant = value
        } else if case .literal(let value, _) = left {
            columnSide = right
            constant = value
            op = op.mirrored
        } else {
            return nil
        }
        let column = try evaluate(columnSide, batch)
        let count = column.count
        if constant.isNull { return Column.nulls(.boolean, count: count) }
        var out = [Bool](repeating: false, count: count)
        switch (column.storage, constant) {
        case (.dictionary(let codes, let values), .string(let text)):
            let probe = StringArray([text])
            let matches = values.views.map { op.holds(StringArray.compare($0, values.buffers, probe.views[0], probe.buffers)) }
            codes.withUnsafeBufferPointer { codes in for row in 0..<count { out[row] = matches[Int(codes[row])] } }
        case (.string(let values), .string(let text)):
            let probe = StringArray([text])
            for row in 0..<count {
                out[row] = op.holds(StringArray.compare(values.views[row], values.buffers, probe.views[0], probe.buffers))
            }
        case (.float64(let values), _):
            guard let threshold = constant.numeric else { return nil }
            values.withUnsafeBufferPointer { values in for row in 0..<count { out[row] = op.holds(values[row], threshold) } }
        case (.int64(let values), .integer(let threshold)):
            values.withUnsafeBufferPointer { values in for row in 0..<count { out[row] = op.holds(values[row], threshold) } }
        case (.int64(let values), .double(let threshold)):
            values.withUnsafeBufferPointer { values in for row in 0..<count { out[row] = op.holds(Double(values[row]), threshold) } }
        case (.date(let values), .date(let threshold)):
            values.withUnsafeBufferPointer { values in for row in 0..<count { out[row] = op.holds(Int64(values[row]), Int64(threshold)) } }
        default:
            return nil
        }
        return Column(.boolean(out), validity: column.validity)
    }

    // MARK: IN

    static func membership(_ column: Column, _ values: [Value], negated: Bool) throws -> Column {
        let nonNull = values.filter { !$0.isNull }
        let hasNull = nonNull.count != values.count
        let count = column.count
        var out = [Bool](repeating: false, count: count)
        switch column.dataType {
        case .string:
            let wanted = Set(nonNull.compactMap { if case .string(let text) = $0 { text } else { nil } })
            let strings = column.decodedStrings()
            if case .dictionary(let codes, let dictionary) = column.storage {
                let hits = (0..<dictionary.count).map { wanted.contains(dictionary.string(at: $0)) }
                for row in 0..<count { out[row] = hits[Int(codes[row])] }
            } else {
                for row in 0..<count { out[row] = wanted.contains(strings.string(at: row)) }
            }
        case let type where type.isFloatingPoint:
            let wanted = Set(nonNull.compactMap(\.numeric))
            let numbers = column.doubleValues()
            for row in 0..<count { out[row] = wanted.contains(numbers[row]) }
        default:
            let wanted = Set(
                nonNull.compactMap { value -> Int64? in
                    switch value {
                    case .integer(let integer): integer
                    case .date(let days): Int64(days)
                    case .timestamp(let micros): micros
                    case .boolean(let flag): flag ? 1 : 0
                    case .double(let double) where double == double.rounded(): Int64(double)
                    default: nil
                    }
                })
            let numbers = column.int64Values()
            for row in 0..<count { out[row] = wanted.contains(numbers[row]) }
        }
        // x IN (…, NULL) is NULL when x matches nothing; NOT IN likewise.
        var validity = column.validity
        if hasNull {
            var flags = validity ?? Validity(count: count, allValid: true)
            for row in 0..<count where !out[row] { flags.set(row, valid: false) }
            validity = flags
        }
        if negated { out = out.map { !$0 } }
        return Column(.boolean(out), validity: validity)
    }

    // MARK: row-wise fallback

    static func rowWise(_ expression: Expression, _ batch: RecordBatch) throws -> Column {
        var values = [Value]()
        values.reserveCapacity(batch.rowCount)
        for row in 0..<batch.rowCount { values.append(try RowEvaluator.evaluate(expression, batch, row)) }
        return Column.from(values, type: expression.type)
    }
}

extension BinaryOperator {
    /// The same comparison with its operands swapped (`3 < x` is `x > 3`).
    var mirrored: BinaryOperator {
        switch self {
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        default: self
        }
    }

    @inline(__always)
    func holds<T: Comparable>(_ a: T, _ b: T) -> Bool {
        switch self {
        case .equal, .notDistinct: a == b
        case .notEqual, .distinct: a != b
        case .less: a < b
        case .lessOrEqual: a <= b
        case .greater: a > b
        case .greaterOrEqual: a >= b
        default: false
        }
    }

    @inline(__always)
    func holds(_ order: Int) -> Bool { holds(order, 0) }
}

extension Value {
    var numeric: Double? {
        switch self {
        case .integer(let integer): Double(integer)
        case .double(let double): double
        default: nil
        }
    }
}
