import Foundation
import Testing

@testable import ModelStore

/// What interrupted pulls leave in partial/ goes at the next pull, list or rm, except resumable
/// downloads (kept for a week after their last write) and whatever a live pull is writing.
@Suite struct PartialCleanupTests {
    let scratch = TemporaryDirectories()

    func makeStore() throws -> ModelStore {
        let store = ModelStore(root: try scratch.make() + "/home", freeBytes: { _ in Int64.max / 2 })
        try store.ensureDirectories()
        return store
    }

    func age(_ path: String, days: Double) {
        let past = Date().addingTimeInterval(-days * 24 * 3600).timeIntervalSince1970
        var times = [timeval(tv_sec: Int(past), tv_usec: 0), timeval(tv_sec: Int(past), tv_usec: 0)]
        #expect(utimes(path, &times) == 0)
    }

    @Test func deadWritersLeftoversGoLiveOnesStay() throws {
        let store = try makeStore()
        let partial = store.partialDirectory
        for file in ["dead.copy.tmp", "dead.pypi.tmp", "dead.json.tmp", "alive.copy.tmp", "notes.txt"] {
            try writeFile(partial + "/" + file, [1, 2, 3])
        }
        try FileManager.default.createDirectory(atPath: partial + "/pip-dead", withIntermediateDirectories: false)
        try writeFile(partial + "/pip-dead/x.whl", [1])

        let fresh = String(repeating: "a", count: 64) + ".part", stale = String(repeating: "b", count: 64) + ".part"
        let busy = String(repeating: "c", count: 64) + ".part", orphanNote = String(repeating: "d", count: 64) + ".part.url"
        for file in [fresh, fresh + ".url", stale, stale + ".url", busy, orphanNote] { try writeFile(partial + "/" + file, [9]) }
        age(partial + "/" + stale, days: 8)
        age(partial + "/" + busy, days: 8)

        // A pull of "alive" in progress holds its name's lock; a download of `busy` holds the file's.
        let aliveLock = try FileLock(path: store.locksDirectory + "/alive.lock")
        defer { aliveLock.unlock() }
        let busyFD = open(partial + "/" + busy, O_RDWR)
        defer { close(busyFD) }
        #expect(flock(busyFD, LOCK_EX) == 0)

        #expect(try store.list() == [])
        #expect(files(in: partial) == ["alive.copy.tmp", fresh, fresh + ".url", busy, "notes.txt"].sorted())
    }

    /// A pull killed mid-copy (SIGKILL from its own progress callback after the first MiB): its
    /// process, and with it the name's lock, is gone; the temporary copy is not, until the next list.
    @Test func copyOfAKilledPullIsRemovedByTheNextOperation() async throws {
        let store = try makeStore()
        let root = store.root
        let source = try scratch.make() + "/big.gguf"
        try writeFile(source, makeGGUFBlob(padding: 4_000_000))
        await #expect(processExitsWith: .signal(SIGKILL)) { [root = root as String, source = source as String] in
            final class KillMidway: PullProgress {
                func update(done: Int64, total: Int64?) { if done >= 1 << 20 { kill(getpid(), SIGKILL) } }
                func message(_ s: String) {}
            }
            _ = try? ModelStore(root: root).pull(source, as: "victim", progress: KillMidway())
        }
        #expect(files(in: store.partialDirectory) == ["victim.copy.tmp"], "the killed pull's copy is left behind")
        #expect(try store.list() == [])
        #expect(files(in: store.partialDirectory) == [])
        // The store still works for that name.
        #expect(try store.pull(source, as: "victim").sizeBytes == 4_000_000 + Int64(makeGGUFBlob(padding: 0).count))
    }
}
