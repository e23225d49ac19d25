import Synchronization

/// Morsel-driven parallelism: workers take the next unit of work (a batch, a partition) from a
/// shared counter until none is left, so a slow morsel or a preempted thread does not leave the
/// others idle at the end, as a static split would.
extension ThreadPool {
    /// `body(index, worker)` for every index in `0..<count`; results in index order. The first
    /// error thrown (by index) is rethrown after every worker has stopped.
    public func morsels<T>(_ count: Int, _ body: (_ index: Int, _ worker: Int) throws -> T) throws -> [T] {
        guard count > 0 else { return [] }
        let results = UnsafeMutableBufferPointer<Result<T, any Error>?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        let next = Atomic<Int>(0)
        let failed = Atomic<Bool>(false)
        activity.started(count)
        run { worker, _ in
            while !failed.load(ordering: .relaxed) {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                do {
                    results[index] = .success(try body(index, worker))
                    activity.finishedOne()
                } catch {
                    results[index] = .failure(error)
                    failed.store(true, ordering: .relaxed)
                }
            }
        }
        var values: [T] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            switch results[index] {
            case .success(let value): values.append(value)
            case .failure(let error): throw error
            case nil: break
            }
        }
        if values.count != count {
            // A later morsel failed and earlier ones were skipped: report the failure.
            for index in 0..<count { if case .failure(let error) = results[index] { throw error } }
        }
        return values
    }
}

/// How far the pool's latest `morsels` call has got (morsels finished of how many), read by a
/// progress display on another thread. Relaxed counters: a display needs no ordering.
public final class MorselActivity: Sendable {
    private let done = Atomic<Int>(0)
    private let total = Atomic<Int>(0)

    public init() {}

    public var progress: (done: Int, total: Int) { (done.load(ordering: .relaxed), total.load(ordering: .relaxed)) }

    func started(_ count: Int) {
        done.store(0, ordering: .relaxed)
        total.store(count, ordering: .relaxed)
    }

    func finishedOne() { done.add(1, ordering: .relaxed) }
}
