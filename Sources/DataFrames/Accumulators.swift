import Columns

/// Per-group state of one aggregate, in arrays indexed by group number. A worker updates its own
/// accumulators from whole batches (a group number per row); partitions then merge workers'
/// accumulators (`mapping[g]`: the final group of the other's group g, or `skip`).
protocol Accumulator: AnyObject {
    func grow(to groups: Int)
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64)
    func merge(_ other: any Accumulator, _ mapping: GroupMapping)
    func finish(_ groups: Int) throws -> Column
    func empty() -> any Accumulator
}

let skip = UInt32.max

/// Which of another accumulator's groups merge into which of this one's: `sources[i]` → `targets[i]`
/// (a partition's share of a worker's groups). Iterating it visits only those groups, so merging
/// a worker's groups into p partitions costs its groups once, not p times.
struct GroupMapping: Sequence {
    let sources: UnsafeBufferPointer<UInt32>
    let targets: UnsafeBufferPointer<UInt32>

    struct Iterator: IteratorProtocol {
        let mapping: GroupMapping
        var index = 0
        @inline(__always)
        mutating func next() -> (Int, Int)? {
            guard index < mapping.sources.count else { return nil }
            defer { index += 1 }
            return (Int(mapping.sources[index]), Int(mapping.targets[index]))
        }
    }
    func makeIterator() -> Iterator { Iterator(mapping: self) }

    /// The target of each of the other's first `count` groups, `skip` where it has none (for
    /// accumulators that keep values, not one state a group).
    func dense(count: Int) -> [UInt32] {
        var result = [UInt32](repeating: skip, count: count)
        for (group, target) in self where group < count { result[group] = UInt32(target) }
        return result
    }
}

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
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let other = other as! CountAccumulator
        for (group, target) in mapping { counts[target] += other.counts[group] }
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
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let other = other as! IntegerSumAccumulator
        overflowed = overflowed || other.overflowed
        for (group, target) in mapping {
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
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let other = other as! DoubleSumAccumulator
        for (group, target) in mapping {
            sums[target] += other.sums[group]
            counts[target] += other.counts[group]
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
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let other = other as! IntegerExtremeAccumulator
        for (group, target) in mapping where other.seen[group] {
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
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let other = other as! DoubleExtremeAccumulator
        for (group, target) in mapping where other.seen[group] {
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
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let other = other as! ValueAccumulator
        for (group, target) in mapping where other.ordinals[group] >= 0 { offer(target, other.values[group], other.ordinals[group]) }
    }
    func finish(_ groups: Int) -> Column { Column.from(Array(values.prefix(groups)).map { $0.normalized(type) }, type: type) }
    func empty() -> any Accumulator { ValueAccumulator(rule: rule, type: type) }
}

/// Exact quantiles (quantile_cont: linear interpolation between the two nearest ranks, as DuckDB
/// and numpy's default): every value is kept with its group, then each group's values are
/// selected in place (quickselect: linear, where sorting each group would be n log n).
final class QuantileAccumulator: Accumulator {
    let fraction: Double
    var groupsOf: [UInt32] = []
    var values: [Double] = []
    init(fraction: Double) { self.fraction = fraction }
    func grow(to groups: Int) {}
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let column = arguments[0]
        let input = column.doubleValues()
        guard let validity = column.validity else {
            groupsOf.append(contentsOf: groups)
            values.append(contentsOf: input.prefix(groups.count))
            return
        }
        var keptGroups: [UInt32] = [], keptValues: [Double] = []
        keptGroups.reserveCapacity(groups.count)
        keptValues.reserveCapacity(groups.count)
        for row in 0..<groups.count where validity.isValid(row) {
            keptGroups.append(groups[row])
            keptValues.append(input[row])
        }
        groupsOf.append(contentsOf: keptGroups)
        values.append(contentsOf: keptValues)
    }
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let other = other as! QuantileAccumulator
        var keptGroups: [UInt32] = [], keptValues: [Double] = []
        keptGroups.reserveCapacity(other.values.count)
        keptValues.reserveCapacity(other.values.count)
        let dense = mapping.dense(count: other.groupsOf.isEmpty ? 0 : Int(other.groupsOf.max()!) + 1)
        other.groupsOf.withUnsafeBufferPointer { groupsOf in
            other.values.withUnsafeBufferPointer { values in
                for index in 0..<values.count {
                    let target = dense[Int(groupsOf[index])]
                    if target != skip {
                        keptGroups.append(target)
                        keptValues.append(values[index])
                    }
                }
            }
        }
        groupsOf.append(contentsOf: keptGroups)
        values.append(contentsOf: keptValues)
    }
    func finish(_ groups: Int) -> Column {
        // Counting sort of the values by group, then select within each group's run.
        var starts = [Int](repeating: 0, count: groups + 1)
        for group in groupsOf { starts[Int(group) + 1] += 1 }
        for group in 0..<groups { starts[group + 1] += starts[group] }
        var cursor = starts
        var ordered = [Double](repeating: 0, count: values.count)
        ordered.withUnsafeMutableBufferPointer { ordered in
            cursor.withUnsafeMutableBufferPointer { cursor in
                groupsOf.withUnsafeBufferPointer { groupsOf in
                    values.withUnsafeBufferPointer { values in
                        for index in 0..<values.count {
                            let group = Int(groupsOf[index])
                            ordered[cursor[group]] = values[index]
                            cursor[group] += 1
                        }
                    }
                }
            }
        }
        var result = [Double](repeating: 0, count: groups)
        var valid = [Bool](repeating: false, count: groups)
        ordered.withUnsafeMutableBufferPointer { ordered in
            for group in 0..<groups where starts[group + 1] > starts[group] {
                let run = UnsafeMutableBufferPointer(rebasing: ordered[starts[group]..<starts[group + 1]])
                let position = fraction * Double(run.count - 1)
                let low = Int(position.rounded(.down))
                OrderStatistics.select(run, low)
                var value = run[low]
                if position > Double(low) {
                    // Everything after rank `low` is at least run[low]; the next rank is their minimum.
                    let next = OrderStatistics.minimum(UnsafeMutableBufferPointer(rebasing: run[(low + 1)...]))
                    value += (position - Double(low)) * (next - value)
                }
                result[group] = value
                valid[group] = true
            }
        }
        return Column(.float64(result), validity: Validity(valid))
    }
    func empty() -> any Accumulator { QuantileAccumulator(fraction: fraction) }
}

/// Variance and standard deviation: Welford's running mean and M2 per group, merged with Chan et
/// al.'s formula, so large offsets do not cancel as sum-of-squares does. State per group,
/// interleaved: count, mean, M2.
final class MomentAccumulator: Accumulator {
    let function: AggregateFunction
    var state: [Double] = []
    static let stride = 3
    init(function: AggregateFunction) { self.function = function }
    func grow(to groups: Int) {
        if state.count < groups * Self.stride { state.append(contentsOf: repeatElement(0, count: groups * Self.stride - state.count)) }
    }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let column = arguments[0]
        let input = column.doubleValues()
        let validity = column.validity
        input.withUnsafeBufferPointer { input in
            state.withUnsafeMutableBufferPointer { state in
                for row in 0..<groups.count where validity?.isValid(row) ?? true {
                    let g = Int(groups[row]) * Self.stride
                    let count = state[g] + 1
                    let delta = input[row] - state[g + 1]
                    let mean = state[g + 1] + delta / count
                    state[g] = count
                    state[g + 1] = mean
                    state[g + 2] += delta * (input[row] - mean)
                }
            }
        }
    }
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let other = other as! MomentAccumulator
        for (group, target) in mapping where other.state[group * Self.stride] > 0 {
            let (t, o) = (target * Self.stride, group * Self.stride)
            let (countT, countO) = (state[t], other.state[o])
            let n = countT + countO
            let delta = other.state[o + 1] - state[t + 1]
            state[t + 2] += other.state[o + 2] + delta * delta * countT * countO / n
            state[t + 1] += delta * countO / n
            state[t] = n
        }
    }
    func finish(_ groups: Int) -> Column {
        let sample = function == .stddev || function == .variance
        let root = function == .stddev || function == .stddevPop
        var result = [Double](repeating: 0, count: groups)
        var valid = [Bool](repeating: false, count: groups)
        for group in 0..<groups {
            let n = state[group * Self.stride]
            guard n > (sample ? 1 : 0) else { continue }
            let variance = state[group * Self.stride + 2] / (sample ? n - 1 : n)
            result[group] = root ? variance.squareRoot() : variance
            valid[group] = true
        }
        return Column(.float64(result), validity: Validity(valid))
    }
    func empty() -> any Accumulator { MomentAccumulator(function: function) }
}

/// corr(y, x) and regr_r2(y, x): running means, M2 of both and their co-moment (Welford/Chan).
/// Rows where either argument is NULL are skipped, as in DuckDB. State per group, interleaved:
/// n, mean x, mean y, M2 x, M2 y, co-moment.
final class CoMomentAccumulator: Accumulator {
    let function: AggregateFunction
    var state: [Double] = []
    static let stride = 6
    init(function: AggregateFunction) { self.function = function }
    func grow(to groups: Int) {
        if state.count < groups * Self.stride { state.append(contentsOf: repeatElement(0, count: groups * Self.stride - state.count)) }
    }
    func update(_ groups: UnsafeBufferPointer<UInt32>, _ arguments: [Column], ordinals: Int64) {
        let ys = arguments[0].doubleValues(), xs = arguments[1].doubleValues()
        let validY = arguments[0].validity, validX = arguments[1].validity
        ys.withUnsafeBufferPointer { ys in
            xs.withUnsafeBufferPointer { xs in
                state.withUnsafeMutableBufferPointer { s in
                    for row in 0..<groups.count where (validY?.isValid(row) ?? true) && (validX?.isValid(row) ?? true) {
                        let g = Int(groups[row]) * Self.stride
                        let n = s[g] + 1
                        let (x, y) = (xs[row], ys[row])
                        let dx = x - s[g + 1], dy = y - s[g + 2]
                        let meanX = s[g + 1] + dx / n, meanY = s[g + 2] + dy / n
                        s[g] = n
                        s[g + 1] = meanX
                        s[g + 2] = meanY
                        s[g + 3] += dx * (x - meanX)
                        s[g + 4] += dy * (y - meanY)
                        s[g + 5] += dx * (y - meanY)
                    }
                }
            }
        }
    }
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let o = other as! CoMomentAccumulator
        for (group, target) in mapping where o.state[group * Self.stride] > 0 {
            let (t, g) = (target * Self.stride, group * Self.stride)
            let (nT, nO) = (state[t], o.state[g])
            let total = nT + nO
            let dx = o.state[g + 1] - state[t + 1], dy = o.state[g + 2] - state[t + 2]
            let weight = nT * nO / total
            state[t + 3] += o.state[g + 3] + dx * dx * weight
            state[t + 4] += o.state[g + 4] + dy * dy * weight
            state[t + 5] += o.state[g + 5] + dx * dy * weight
            state[t + 1] += dx * nO / total
            state[t + 2] += dy * nO / total
            state[t] = total
        }
    }
    func finish(_ groups: Int) -> Column {
        var result = [Double](repeating: 0, count: groups)
        var valid = [Bool](repeating: false, count: groups)
        for group in 0..<groups where state[group * Self.stride] > 0 {
            let g = group * Self.stride
            let (m2x, m2y, c) = (state[g + 3], state[g + 4], state[g + 5])
            if function == .corr {
                // DuckDB's formula as is: a constant argument gives 0/0 = NaN, not NULL.
                result[group] = c / (m2x * m2y).squareRoot()
            } else {
                // regr_r2: NULL when x is constant, 1 when y is (the SQL standard's rule).
                guard m2x > 0 else { continue }
                result[group] = m2y == 0 ? 1 : (c * c) / (m2x * m2y)
            }
            valid[group] = true
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
    func merge(_ other: any Accumulator, _ mapping: GroupMapping) {
        let other = other as! DistinctCountAccumulator
        let dense = mapping.dense(count: other.pairs.reduce(0) { max($0, Int($1.0) + 1) })
        for (group, word) in other.pairs where dense[Int(group)] != skip { pairs.append((dense[Int(group)], word)) }
    }
    func finish(_ groups: Int) -> Column {
        pairs.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var counts = [Int64](repeating: 0, count: groups)
        for index in pairs.indices where index == 0 || pairs[index] != pairs[index - 1] { counts[Int(pairs[index].0)] += 1 }
        return Column(.int64(counts))
    }
    func empty() -> any Accumulator { DistinctCountAccumulator() }
}
