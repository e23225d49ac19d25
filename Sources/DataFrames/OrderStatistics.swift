/// The k-th smallest of a run of doubles without sorting it, for exact quantiles. Order: numbers
/// ascending, NaN after every number (DuckDB's and numpy's order for quantiles).
enum OrderStatistics {
    @inline(__always)
    static func less(_ a: Double, _ b: Double) -> Bool { a < b || (b.isNaN && !a.isNaN) }

    /// Rearranges `run` so `run[k]` holds the k-th smallest value, with nothing larger before it
    /// and nothing smaller after it (Hoare's quickselect with median-of-three pivots). Ranges that
    /// stop shrinking fast enough — an adversarial order — are sorted instead, so the worst case
    /// stays n log n.
    static func select(_ run: UnsafeMutableBufferPointer<Double>, _ k: Int) {
        precondition(k >= 0 && k < run.count, "rank \(k) outside a run of \(run.count)")
        var (low, high) = (0, run.count - 1)
        var budget = 2 * (Int.bitWidth - run.count.leadingZeroBitCount) + 8
        while high - low > 16 && budget > 0 {
            budget -= 1
            let middle = low + (high - low) / 2
            if less(run[middle], run[low]) { run.swapAt(middle, low) }
            if less(run[high], run[low]) { run.swapAt(high, low) }
            if less(run[high], run[middle]) { run.swapAt(high, middle) }
            let pivot = run[middle]
            var (i, j) = (low, high)
            while i <= j {
                while less(run[i], pivot) { i += 1 }
                while less(pivot, run[j]) { j -= 1 }
                if i <= j {
                    run.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            // [low, j] ≤ pivot ≤ [i, high]; anything strictly between equals the pivot.
            if k <= j {
                high = j
            } else if k >= i {
                low = i
            } else {
                return
            }
        }
        var rest = UnsafeMutableBufferPointer(rebasing: run[low...high])
        rest.sort(by: less)
    }

    /// The smallest value of a non-empty run, in the same order.
    static func minimum(_ run: UnsafeMutableBufferPointer<Double>) -> Double {
        var best = run[0]
        for value in run.dropFirst() where less(value, best) { best = value }
        return best
    }
}
