import Columns
import Threading

/// ORDER BY: the permutation of rows that sorts them by the keys, and top-k for ORDER BY … LIMIT.
/// Keys are turned into arrays that compare cheaply first — numbers as they are, dictionary
/// strings as the rank of their value in the sorted dictionary (one string sort per distinct
/// value, then integer compares), other strings as views compared by prefix, then bytes.
enum SortOrder {
    enum KeyData {
        case integer([Int64])
        case double([Double])
        case strings(StringArray)
    }

    struct PreparedKey {
        let data: KeyData
        let validity: Validity?
        let descending: Bool
        let nullsFirst: Bool

        /// −1, 0 or 1 for rows a and b under this key's direction and NULL placement.
        @inline(__always)
        func compare(_ a: Int, _ b: Int) -> Int {
            if let validity {
                let aNull = !validity.isValid(a), bNull = !validity.isValid(b)
                if aNull || bNull {
                    if aNull && bNull { return 0 }
                    return aNull == nullsFirst ? -1 : 1
                }
            }
            var order: Int
            switch data {
            case .integer(let values): order = values[a] == values[b] ? 0 : (values[a] < values[b] ? -1 : 1)
            case .double(let values):
                // NaN sorts after every number, as in DuckDB.
                let x = values[a], y = values[b]
                if x.isNaN || y.isNaN {
                    order = x.isNaN && y.isNaN ? 0 : (x.isNaN ? 1 : -1)
                } else {
                    order = x == y ? 0 : (x < y ? -1 : 1)
                }
            case .strings(let strings): order = StringArray.compare(strings.views[a], strings.buffers, strings.views[b], strings.buffers)
            }
            return descending ? -order : order
        }
    }

    static func prepare(_ column: Column, descending: Bool, nullsFirst: Bool) -> PreparedKey {
        let data: KeyData
        switch column.storage {
        case .float32, .float64: data = .double(column.doubleValues())
        case .string(let strings): data = .strings(strings)
        case .dictionary(let codes, let values):
            var order = Array(0..<values.count)
            order.sort { StringArray.compare(values.views[$0], values.buffers, values.views[$1], values.buffers) < 0 }
            var rank = [Int64](repeating: 0, count: values.count)
            for (position, code) in order.enumerated() { rank[code] = Int64(position) }
            data = .integer(codes.map { rank[Int($0)] })
        default: data = .integer(column.int64Values())
        }
        return PreparedKey(data: data, validity: column.validity, descending: descending, nullsFirst: nullsFirst)
    }

    /// The sorted order of `count` rows (stable: equal rows keep their input order), or the first
    /// `limit` of it.
    static func permutation(_ keys: [PreparedKey], count: Int, limit: Int?, pool: ThreadPool) -> [Int32] {
        func less(_ a: Int32, _ b: Int32) -> Bool {
            for key in keys {
                let order = key.compare(Int(a), Int(b))
                if order != 0 { return order < 0 }
            }
            return a < b
        }
        if let limit, limit < count / 8 {
            return topK(limit, count: count, less)
        }
        // Sorted runs in parallel, then pairwise merges.
        let workers = count < 65_536 ? 1 : pool.threadCount
        var runs: [[Int32]] = (0..<workers).map { worker in ThreadPool.chunk(count, worker, workers).map { Int32($0) } }
        runs.withUnsafeMutableBufferPointer { runs in
            pool.run { worker, _ in
                if worker < runs.count { runs[worker].sort(by: less) }
            }
        }
        while runs.count > 1 {
            var merged: [[Int32]] = []
            var index = 0
            while index < runs.count {
                if index + 1 < runs.count { merged.append(merge(runs[index], runs[index + 1], less)) } else { merged.append(runs[index]) }
                index += 2
            }
            runs = merged
        }
        let sorted = runs.first ?? []
        if let limit, limit < sorted.count { return Array(sorted.prefix(limit)) }
        return sorted
    }

    static func merge(_ a: [Int32], _ b: [Int32], _ less: (Int32, Int32) -> Bool) -> [Int32] {
        var result = [Int32]()
        result.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if less(b[j], a[i]) {
                result.append(b[j])
                j += 1
            } else {
                result.append(a[i])
                i += 1
            }
        }
        result.append(contentsOf: a[i...])
        result.append(contentsOf: b[j...])
        return result
    }

    /// The `k` smallest rows in order, with a bounded max-heap (O(n log k), k rows of memory).
    static func topK(_ k: Int, count: Int, _ less: (Int32, Int32) -> Bool) -> [Int32] {
        guard k > 0 else { return [] }
        var heap: [Int32] = []
        heap.reserveCapacity(k)
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1, right = left + 1
                var largest = parent
                if left < heap.count && less(heap[largest], heap[left]) { largest = left }
                if right < heap.count && less(heap[largest], heap[right]) { largest = right }
                if largest == parent { return }
                heap.swapAt(parent, largest)
                parent = largest
            }
        }
        for row in 0..<Int32(count) {
            if heap.count < k {
                heap.append(row)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard less(heap[parent], heap[child]) else { break }
                    heap.swapAt(parent, child)
                    child = parent
                }
            } else if less(row, heap[0]) {
                heap[0] = row
                siftDown(0)
            }
        }
        heap.sort(by: less)
        return heap
    }
}
