import Synchronization
import Testing
import Threading

/// The progress a display reads while `morsels` runs: the count of the call, and how many of its
/// morsels have finished.
@Suite struct MorselActivityTests {
    @Test func activityCountsFinishedMorselsOfTheLatestCall() throws {
        let pool = ThreadPool(threads: 2)
        #expect(pool.activity.progress == (0, 0))
        let seen = Mutex<[Int]>([])
        _ = try pool.morsels(7) { index, _ in
            let progress = pool.activity.progress
            #expect(progress.total == 7 && progress.done < 7)
            seen.withLock { $0.append(progress.done) }
            return index
        }
        #expect(pool.activity.progress == (7, 7))
        #expect(seen.withLock { $0.count } == 7)
        _ = try pool.morsels(3) { index, _ in index }
        #expect(pool.activity.progress == (3, 3))
    }
}
