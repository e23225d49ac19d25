/// Something a `MergeQueue` can order: `before` is true when `self` should be merged first.
protocol MergeCandidate {
    func before(_ other: Self) -> Bool
}

/// The binary min-heap both BPE variants merge from (lowest rank or highest score first, ties by
/// position). Storage is kept between words so encoding allocates only when a word is longer
/// than any seen before.
struct MergeQueue<Element: MergeCandidate> {
    private var heap: [Element] = []

    var isEmpty: Bool { heap.isEmpty }

    mutating func removeAll() { heap.removeAll(keepingCapacity: true) }

    mutating func push(_ element: Element) {
        heap.append(element)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].before(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns the first element; the queue must not be empty.
    mutating func pop() -> Element {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < heap.count && heap[l].before(heap[best]) { best = l }
                if r < heap.count && heap[r].before(heap[best]) { best = r }
                if best == i { break }
                heap.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
