import Columns

/// Per-group state of one aggregate, in arrays indexed by group number. A worker updates its own
/// accumulators from whole batches (a group number per row); partitions then merge workers'
/// accumulators (`mapping[g]`: the final group of the other's group g, or `skip`).
protocol Accumulator: AnyObject {
    func grow(to groups: Int)
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64)
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>)
    func finish(_ groups: Int) throws -> Column
    func empty() -> any Accumulator
}

let skip = UInt32.max

enum Accumulators {
    static func make(_ call: AggregateCall) -> any Accumulator {
        let input = call.arguments.first?.type ?? .int64
        switch call.function {
        case .countStar: return CountAccumulator(countsRows: true)
        case .count: return CountAccumulator(countsRows: false)
        case .countDistinct: return DistinctCountAccumulator()
        case .sum where input.isInteger: return IntegerSumAccumulator(mean: false)
        case .avg where input.isInteger: return IntegerSumAccumulator(mean: true)
        case .sum: return DoubleSumAccumulator(mean: false)
        case .avg: return DoubleSumAccumulator(mean: true)
        case .min, .max:
            if input.isFloatingPoint { return DoubleExtremeAccumulator(maximum: call.function == .max) }
            if input.isInteger || input == .date || input == .timestamp || input == .boolean {
                return IntegerExtremeAccumulator(maximum: call.function == .max, type: input)
            }
            return ValueAccumulator(rule: call.function == .max ? .maximum : .minimum, type: input)
        case .first, .anyValue: return ValueAccumulator(rule: .first, type: input)
        case .last: return ValueAccumulator(rule: .last, type: input)
        case .median, .quantile: return QuantileAccumulator(fraction: call.fraction)
        case .stddev, .stddevPop, .variance, .varPop: return MomentAccumulator(function: call.function)
        case .corr, .regrR2: return CoMomentAccumulator(function: call.function)
        }
    }
}

final class CountAccumulator: Accumulator {
    let countsRows: Bool
    var counts: [Int64] = []
    init(countsRows: Bool) { self.countsRows = countsRows }
    func grow(to groups: Int) { if counts.count < groups { counts.append(contentsOf: repeatElement(0, count: groups - counts.count)) } }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let validity = countsRows ? nil : arguments[0].validity
        counts.withUnsafeMutableBufferPointer { counts in
            if let validity {
                for row in 0..<groups.count where validity.isValid(row) { counts[Int(groups[row])] += 1 }
            } else {
                for row in 0..<groups.count { counts[Int(groups[row])] += 1 }
            }
        }
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let other = other as! CountAccumulator
        for (group, count) in other.counts.enumerated() where mapping[group] != skip { counts[Int(mapping[group])] += count }
    }
    func finish(_ groups: Int) -> Column { Column(.int64(Array(counts.prefix(groups)))) }
    func empty() -> any Accumulator { CountAccumulator(countsRows: countsRows) }
}

/// sum/avg of integers: exact 64-bit sums; a sum that leaves BIGINT is an error, never a wrap.
final class IntegerSumAccumulator: Accumulator {
    let mean: Bool
    var sums: [Int64] = []
    var counts: [Int64] = []
    var overflowed = false
    init(mean: Bool) { self.mean = mean }
    func grow(to groups: Int) {
        if sums.count < groups {
            sums.append(contentsOf: repeatElement(0, count: groups - sums.count))
            counts.append(contentsOf: repeatElement(0, count: groups - counts.count))
        }
    }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let column = arguments[0]
        let values = column.int64Values()
        var overflow = false
        values.withUnsafeBufferPointer { values in
            sums.withUnsafeMutableBufferPointer { sums in
                counts.withUnsafeMutableBufferPointer { counts in
                    if let validity = column.validity {
                        for row in 0..<groups.count where validity.isValid(row) {
                            let group = Int(groups[row])
                            let (sum, o) = sums[group].addingReportingOverflow(values[row])
                            sums[group] = sum
                            overflow = overflow || o
                            counts[group] += 1
                        }
                    } else {
                        for row in 0..<groups.count {
                            let group = Int(groups[row])
                            let (sum, o) = sums[group].addingReportingOverflow(values[row])
                            sums[group] = sum
                            overflow = overflow || o
                            counts[group] += 1
                        }
                    }
                }
            }
        }
        overflowed = overflowed || overflow
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let other = other as! IntegerSumAccumulator
        overflowed = overflowed || other.overflowed
        for group in 0..<other.sums.count where mapping[group] != skip {
            let target = Int(mapping[group])
            let (sum, o) = sums[target].addingReportingOverflow(other.sums[group])
            sums[target] = sum
            overflowed = overflowed || o
            counts[target] += other.counts[group]
        }
    }
    func finish(_ groups: Int) throws -> Column {
        if overflowed { throw QueryError("sum() overflows BIGINT (±9.2e18); CAST the argument to DOUBLE") }
        let validity = Validity((0..<groups).map { counts[$0] > 0 })
        if mean { return Column(.float64((0..<groups).map { Double(sums[$0]) / Double(counts[$0]) }), validity: validity) }
        return Column(.int64(Array(sums.prefix(groups))), validity: validity)
    }
    func empty() -> any Accumulator { IntegerSumAccumulator(mean: mean) }
}

final class DoubleSumAccumulator: Accumulator {
    let mean: Bool
    var sums: [Double] = []
    var counts: [Int64] = []
    init(mean: Bool) { self.mean = mean }
    func grow(to groups: Int) {
        if sums.count < groups {
            sums.append(contentsOf: repeatElement(0, count: groups - sums.count))
            counts.append(contentsOf: repeatElement(0, count: groups - counts.count))
        }
    }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let column = arguments[0]
        let values = column.doubleValues()
        values.withUnsafeBufferPointer { values in
            sums.withUnsafeMutableBufferPointer { sums in
                counts.withUnsafeMutableBufferPointer { counts in
                    if let validity = column.validity {
                        for row in 0..<groups.count where validity.isValid(row) {
                            sums[Int(groups[row])] += values[row]
                            counts[Int(groups[row])] += 1
                        }
                    } else {
                        for row in 0..<groups.count {
                            sums[Int(groups[row])] += values[row]
                            counts[Int(groups[row])] += 1
                        }
                    }
                }
            }
        }
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let other = other as! DoubleSumAccumulator
        for group in 0..<other.sums.count where mapping[group] != skip {
            sums[Int(mapping[group])] += other.sums[group]
            counts[Int(mapping[group])] += other.counts[group]
        }
    }
    func finish(_ groups: Int) -> Column {
        let validity = Validity((0..<groups).map { counts[$0] > 0 })
        if mean { return Column(.float64((0..<groups).map { sums[$0] / Double(counts[$0]) }), validity: validity) }
        return Column(.float64(Array(sums.prefix(groups))), validity: validity)
    }
    func empty() -> any Accumulator { DoubleSumAccumulator(mean: mean) }
}

final class IntegerExtremeAccumulator: Accumulator {
    let maximum: Bool
    let type: DataType
    var values: [Int64] = []
    var seen: [Bool] = []
    init(maximum: Bool, type: DataType) {
        self.maximum = maximum
        self.type = type
    }
    func grow(to groups: Int) {
        if values.count < groups {
            values.append(contentsOf: repeatElement(maximum ? .min : .max, count: groups - values.count))
            seen.append(contentsOf: repeatElement(false, count: groups - seen.count))
        }
    }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let column = arguments[0]
        let input = column.int64Values()
        let maximum = self.maximum
        input.withUnsafeBufferPointer { input in
            values.withUnsafeMutableBufferPointer { values in
                seen.withUnsafeMutableBufferPointer { seen in
                    for row in 0..<groups.count where !column.isNull(row) {
                        let group = Int(groups[row])
                        let value = input[row]
                        if maximum ? value > values[group] : value < values[group] { values[group] = value }
                        seen[group] = true
                    }
                }
            }
        }
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let other = other as! IntegerExtremeAccumulator
        for group in 0..<other.values.count where mapping[group] != skip && other.seen[group] {
            let target = Int(mapping[group])
            let value = other.values[group]
            if !seen[target] || (maximum ? value > values[target] : value < values[target]) { values[target] = value }
            seen[target] = true
        }
    }
    func finish(_ groups: Int) -> Column {
        KeyEncoding.integerColumn(Array(values.prefix(groups)), type: type, validity: Validity(seen.prefix(groups)))
    }
    func empty() -> any Accumulator { IntegerExtremeAccumulator(maximum: maximum, type: type) }
}

final class DoubleExtremeAccumulator: Accumulator {
    let maximum: Bool
    var values: [Double] = []
    var seen: [Bool] = []
    init(maximum: Bool) { self.maximum = maximum }
    func grow(to groups: Int) {
        if values.count < groups {
            values.append(contentsOf: repeatElement(maximum ? -.infinity : .infinity, count: groups - values.count))
            seen.append(contentsOf: repeatElement(false, count: groups - seen.count))
        }
    }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let column = arguments[0]
        let input = column.doubleValues()
        let maximum = self.maximum
        input.withUnsafeBufferPointer { input in
            values.withUnsafeMutableBufferPointer { values in
                seen.withUnsafeMutableBufferPointer { seen in
                    for row in 0..<groups.count where !column.isNull(row) {
                        let group = Int(groups[row])
                        let value = input[row]
                        if maximum ? value > values[group] : value < values[group] { values[group] = value }
                        seen[group] = true
                    }
                }
            }
        }
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let other = other as! DoubleExtremeAccumulator
        for group in 0..<other.values.count where mapping[group] != skip && other.seen[group] {
            let target = Int(mapping[group])
            let value = other.values[group]
            if !seen[target] || (maximum ? value > values[target] : value < values[target]) { values[target] = value }
            seen[target] = true
        }
    }
    func finish(_ groups: Int) -> Column { Column(.float64(Array(values.prefix(groups))), validity: Validity(seen.prefix(groups))) }
    func empty() -> any Accumulator { DoubleExtremeAccumulator(maximum: maximum) }
}

/// min/max of strings, first/last/any_value of anything: row by row through `Value` (not on the
/// benchmark's hot path). first/last follow row order through each row's ordinal.
final class ValueAccumulator: Accumulator {
    enum Rule { case minimum, maximum, first, last }
    let rule: Rule
    let type: DataType
    var values: [Value] = []
    var ordinals: [Int64] = []
    init(rule: Rule, type: DataType) {
        self.rule = rule
        self.type = type
    }
    func grow(to groups: Int) {
        if values.count < groups {
            values.append(contentsOf: repeatElement(.null, count: groups - values.count))
            ordinals.append(contentsOf: repeatElement(-1, count: groups - ordinals.count))
        }
    }
    private func offer(_ group: Int, _ value: Value, _ ordinal: Int64) {
        if value.isNull && rule != .first && rule != .last { return }
        let current = ordinals[group]
        let better: Bool
        switch rule {
        case .first: better = current < 0 || ordinal < current
        case .last: better = current < 0 || ordinal > current
        case .minimum: better = current < 0 || ValueOrder.compare(value, values[group]) < 0
        case .maximum: better = current < 0 || ValueOrder.compare(value, values[group]) > 0
        }
        if better {
            values[group] = value
            ordinals[group] = ordinal
        }
    }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals base: Int64) {
        let column = arguments[0]
        for row in 0..<groups.count { offer(Int(groups[row]), column.value(at: row), base + Int64(row)) }
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let other = other as! ValueAccumulator
        for group in 0..<other.values.count where mapping[group] != skip && other.ordinals[group] >= 0 {
            offer(Int(mapping[group]), other.values[group], other.ordinals[group])
        }
    }
    func finish(_ groups: Int) -> Column { Column.from(Array(values.prefix(groups)).map { $0.normalized(type) }, type: type) }
    func empty() -> any Accumulator { ValueAccumulator(rule: rule, type: type) }
}

/// Exact quantiles (quantile_cont: linear interpolation between the two nearest ranks, as DuckDB
/// and numpy's default): every value is kept with its group, then each group's values are
/// selected in place.
final class QuantileAccumulator: Accumulator {
    let fraction: Double
    var groupsOf: [UInt32] = []
    var values: [Double] = []
    init(fraction: Double) { self.fraction = fraction }
    func grow(to groups: Int) {}
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let column = arguments[0]
        let input = column.doubleValues()
        groupsOf.reserveCapacity(groupsOf.count + groups.count)
        values.reserveCapacity(values.count + groups.count)
        for row in 0..<groups.count where !column.isNull(row) {
            groupsOf.append(groups[row])
            values.append(input[row])
        }
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let other = other as! QuantileAccumulator
        for index in 0..<other.values.count where mapping[Int(other.groupsOf[index])] != skip {
            groupsOf.append(mapping[Int(other.groupsOf[index])])
            values.append(other.values[index])
        }
    }
    func finish(_ groups: Int) -> Column {
        // Counting sort of the values by group, then sort each group's run.
        var starts = [Int](repeating: 0, count: groups + 1)
        for group in groupsOf { starts[Int(group) + 1] += 1 }
        for group in 0..<groups { starts[group + 1] += starts[group] }
        var cursor = starts
        var ordered = [Double](repeating: 0, count: values.count)
        for index in 0..<values.count {
            let group = Int(groupsOf[index])
            ordered[cursor[group]] = values[index]
            cursor[group] += 1
        }
        var result = [Double](repeating: 0, count: groups)
        var valid = [Bool](repeating: false, count: groups)
        ordered.withUnsafeMutableBufferPointer { ordered in
            for group in 0..<groups where starts[group + 1] > starts[group] {
                var run = UnsafeMutableBufferPointer(rebasing: ordered[starts[group]..<starts[group + 1]])
                run.sort()
                let position = fraction * Double(run.count - 1)
                let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
                result[group] = run[low] + (position - Double(low)) * (run[high] - run[low])
                valid[group] = true
            }
        }
        return Column(.float64(result), validity: Validity(valid))
    }
    func empty() -> any Accumulator { QuantileAccumulator(fraction: fraction) }
}

/// Variance and standard deviation: Welford's running mean and M2 per group, merged with Chan et
/// al.'s formula, so large offsets do not cancel as sum-of-squares does.
final class MomentAccumulator: Accumulator {
    let function: AggregateFunction
    var counts: [Double] = []
    var means: [Double] = []
    var m2: [Double] = []
    init(function: AggregateFunction) { self.function = function }
    func grow(to groups: Int) {
        if counts.count < groups {
            let extra = groups - counts.count
            counts.append(contentsOf: repeatElement(0, count: extra))
            means.append(contentsOf: repeatElement(0, count: extra))
            m2.append(contentsOf: repeatElement(0, count: extra))
        }
    }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let column = arguments[0]
        let input = column.doubleValues()
        for row in 0..<groups.count where !column.isNull(row) {
            let group = Int(groups[row])
            counts[group] += 1
            let delta = input[row] - means[group]
            means[group] += delta / counts[group]
            m2[group] += delta * (input[row] - means[group])
        }
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let other = other as! MomentAccumulator
        for group in 0..<other.counts.count where mapping[group] != skip && other.counts[group] > 0 {
            let target = Int(mapping[group])
            let n = counts[target] + other.counts[group]
            let delta = other.means[group] - means[target]
            m2[target] += other.m2[group] + delta * delta * counts[target] * other.counts[group] / n
            means[target] += delta * other.counts[group] / n
            counts[target] = n
        }
    }
    func finish(_ groups: Int) -> Column {
        let sample = function == .stddev || function == .variance
        let root = function == .stddev || function == .stddevPop
        var result = [Double](repeating: 0, count: groups)
        var valid = [Bool](repeating: false, count: groups)
        for group in 0..<groups {
            let n = counts[group]
            guard n > (sample ? 1 : 0) else { continue }
            let variance = m2[group] / (sample ? n - 1 : n)
            result[group] = root ? variance.squareRoot() : variance
            valid[group] = true
        }
        return Column(.float64(result), validity: Validity(valid))
    }
    func empty() -> any Accumulator { MomentAccumulator(function: function) }
}

/// corr(y, x) and regr_r2(y, x): running means, M2 of both and their co-moment (Welford/Chan).
/// Rows where either argument is NULL are skipped, as in DuckDB.
final class CoMomentAccumulator: Accumulator {
    let function: AggregateFunction
    var n: [Double] = [], meanX: [Double] = [], meanY: [Double] = [], m2x: [Double] = [], m2y: [Double] = [], c: [Double] = []
    init(function: AggregateFunction) { self.function = function }
    func grow(to groups: Int) {
        if n.count < groups {
            let extra = groups - n.count
            for index in 0..<6 {
                switch index {
                case 0: n.append(contentsOf: repeatElement(0, count: extra))
                case 1: meanX.append(contentsOf: repeatElement(0, count: extra))
                case 2: meanY.append(contentsOf: repeatElement(0, count: extra))
                case 3: m2x.append(contentsOf: repeatElement(0, count: extra))
                case 4: m2y.append(contentsOf: repeatElement(0, count: extra))
                default: c.append(contentsOf: repeatElement(0, count: extra))
                }
            }
        }
    }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let ys = arguments[0].doubleValues(), xs = arguments[1].doubleValues()
        for row in 0..<groups.count where !arguments[0].isNull(row) && !arguments[1].isNull(row) {
            let g = Int(groups[row])
            n[g] += 1
            let dx = xs[row] - meanX[g]
            let dy = ys[row] - meanY[g]
            meanX[g] += dx / n[g]
            meanY[g] += dy / n[g]
            m2x[g] += dx * (xs[row] - meanX[g])
            m2y[g] += dy * (ys[row] - meanY[g])
            c[g] += dx * (ys[row] - meanY[g])
        }
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let o = other as! CoMomentAccumulator
        for g in 0..<o.n.count where mapping[g] != skip && o.n[g] > 0 {
            let t = Int(mapping[g])
            let total = n[t] + o.n[g]
            let dx = o.meanX[g] - meanX[t], dy = o.meanY[g] - meanY[t]
            let weight = n[t] * o.n[g] / total
            m2x[t] += o.m2x[g] + dx * dx * weight
            m2y[t] += o.m2y[g] + dy * dy * weight
            c[t] += o.c[g] + dx * dy * weight
            meanX[t] += dx * o.n[g] / total
            meanY[t] += dy * o.n[g] / total
            n[t] = total
        }
    }
    func finish(_ groups: Int) -> Column {
        var result = [Double](repeating: 0, count: groups)
        var valid = [Bool](repeating: false, count: groups)
        for g in 0..<groups where n[g] > 0 {
            if function == .corr {
                // DuckDB's formula as is: a constant argument gives 0/0 = NaN, not NULL.
                result[g] = c[g] / (m2x[g] * m2y[g]).squareRoot()
            } else {
                // regr_r2: NULL when x is constant, 1 when y is (the SQL standard's rule).
                guard m2x[g] > 0 else { continue }
                result[g] = m2y[g] == 0 ? 1 : (c[g] * c[g]) / (m2x[g] * m2y[g])
            }
            valid[g] = true
        }
        return Column(.float64(result), validity: Validity(valid))
    }
    func empty() -> any Accumulator { CoMomentAccumulator(function: function) }
}

/// count(DISTINCT x): the argument arrives as key words (equal values ⇔ equal words, strings
/// included, from `KeyEncoding`); (group, word) pairs are sorted and counted once each.
final class DistinctCountAccumulator: Accumulator {
    var pairs: [(UInt32, UInt64)] = []
    func grow(to groups: Int) {}
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let column = arguments[0]
        let words = column.int64Values()
        for row in 0..<groups.count where !column.isNull(row) { pairs.append((groups[row], UInt64(bitPattern: words[row]))) }
    }
    func merge(_ other: any Accumulator, _ mapping: UnsafeBufferPointer<UInt32>) {
        let other = other as! DistinctCountAccumulator
        for (group, word) in other.pairs where mapping[Int(group)] != skip { pairs.append((mapping[Int(group)], word)) }
    }
    func finish(_ groups: Int) -> Column {
        pairs.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var counts = [Int64](repeating: 0, count: groups)
        for index in pairs.indices where index == 0 || pairs[index] != pairs[index - 1] { counts[Int(pairs[index].0)] += 1 }
        return Column(.int64(counts))
    }
    func empty() -> any Accumulator { DistinctCountAccumulator() }
}
