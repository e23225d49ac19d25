import Randomness
import Testing

@testable import DataFrames

/// Quickselect against a full sort: every rank of runs with duplicates, NaN, sorted and reversed
/// input, and an organ-pipe order that defeats median-of-three pivots.
@Suite struct OrderStatisticsTests {
    static func runs() -> [[Double]] {
        var generator = Xoshiro256(seed: 7)
        var result: [[Double]] = [[], [3], [2, 1], [1, 1, 1, 1]]
        for count in [5, 17, 33, 100, 1001] {
            result.append((0..<count).map { _ in Double(generator.next() % 1000) / 8 })
            result.append((0..<count).map { _ in Double(generator.next() % 4) })
            result.append((0..<count).map(Double.init))
            result.append((0..<count).reversed().map(Double.init))
            result.append((0..<count).map { Double(min($0, count - 1 - $0)) })
            result.append((0..<count).map { $0 % 7 == 0 ? .nan : Double(generator.next() % 50) - 25 })
        }
        return result
    }

    @Test func selectPutsEveryRankWhereASortWould() {
        for run in Self.runs() where !run.isEmpty {
            let sorted = run.sorted(by: OrderStatistics.less)
            for k in Set([0, run.count / 4, run.count / 2, run.count - 1, (run.count - 1) / 3]) {
                var copy = run
                copy.withUnsafeMutableBufferPointer { buffer in
                    OrderStatistics.select(buffer, k)
                    let value = buffer[k]
                    #expect(value.bitPattern == sorted[k].bitPattern || (value.isNaN && sorted[k].isNaN), "rank \(k) of \(run.count)")
                    for index in 0..<k { #expect(!OrderStatistics.less(value, buffer[index])) }
                    for index in (k + 1)..<buffer.count { #expect(!OrderStatistics.less(buffer[index], value)) }
                    if k + 1 < buffer.count {
                        let next = OrderStatistics.minimum(UnsafeMutableBufferPointer(rebasing: buffer[(k + 1)...]))
                        #expect(next == sorted[k + 1] || (next.isNaN && sorted[k + 1].isNaN))
                    }
                }
                #expect(copy.sorted(by: OrderStatistics.less).elementsEqual(sorted) { $0 == $1 || ($0.isNaN && $1.isNaN) })
            }
        }
    }

}
