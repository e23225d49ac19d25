import ModelStore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A two-class sentiment task for fine-tuning: Rotten Tomatoes review sentences with human
/// sentiment ratings, from the ground truth of Hutto & Gilbert's VADER paper (ICWSM 2014), as
/// shipped in the `vaderSentiment` 3.3.2 source distribution on PyPI (MIT licence):
/// `additional_resources/hutto_ICWSM_2014.tar.gz`, file `movieReviewSnippets_GroundTruth.txt`
/// (10,605 lines `id<TAB>mean rating<TAB>sentence`; ratings are the mean of 20 raters on −4…4).
///
/// Kept: sentences rated at least 1 (positive, 4,597) or at most −1 (negative, 4,574) — clearly
/// one or the other; the 1,432 in between and the second copies of 2 repeated sentences are left
/// out. Split: the kept sentences shuffled with a fixed seed (Fisher–Yates over SplitMix64), the
/// first 1,000 for test, the rest (8,171) for training. Written as jsonl in the `messages`
/// format: the user asks `instruction` about the review, the assistant answers "positive" or
/// "negative".
public enum SentimentDataset {
    public static let name = "sentiment"
    public static let labels = ["positive", "negative"]
    public static let threshold = 1.0
    public static let testCount = 1000
    public static let splitSeed: UInt64 = 20_140_601
    public static let instruction = "Is the sentiment of this movie review positive or negative? Answer with one word."

    public struct Prepared: Sendable, Equatable {
        public var train: String
        public var test: String
        public var trainCount: Int
        public var testCount: Int
        public var positives: Int
        public var negatives: Int
        /// Sentences rated between the thresholds, left out.
        public var neutral: Int
        /// Repeated sentences, left out.
        public var duplicates: Int
    }

    /// Fetches the ratings on first use (cached under `home/datasets/vader-movie-reviews/`) and
    /// writes `home/datasets/sentiment/{train,test}.jsonl`.
    public static func prepare(home: String? = nil, progress: (any PullProgress)? = nil) throws -> Prepared {
        let root = home ?? ModelStore.defaultRoot()
        let files = try DatasetCache(home: root, source: source).files(progress: progress)
        let bytes = try FileSystem.readFile(files[0], limit: 16 << 20)
        // Two sentences appear twice; the first rating is kept so that none is in both splits.
        var seen: Set<String> = []
        let all = try ratings(bytes, file: files[0])
        let rated = all.filter { seen.insert($0.sentence).inserted }
        let positives = rated.filter { $0.score >= threshold }.map { ($0.sentence, "positive") }
        let negatives = rated.filter { $0.score <= -threshold }.map { ($0.sentence, "negative") }
        var kept = positives + negatives
        var state = splitSeed
        // Fisher–Yates with SplitMix64: a fixed, documented order that any language can reproduce.
        for i in stride(from: kept.count - 1, to: 0, by: -1) {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            kept.swapAt(i, Int(z % UInt64(i + 1)))
        }
        let directory = root + "/datasets/" + name
        try FileSystem.mkdirs(directory)
        let test = directory + "/test.jsonl", train = directory + "/train.jsonl"
        try write(kept[..<testCount], to: test)
        try write(kept[testCount...], to: train)
        return Prepared(
            train: train, test: test, trainCount: kept.count - testCount, testCount: testCount, positives: positives.count,
            negatives: negatives.count, neutral: rated.count - kept.count, duplicates: all.count - rated.count)
    }

    /// The user's message for a review.
    public static func question(_ review: String) -> String { instruction + "\n\nReview: " + review }

    static func ratings(_ bytes: [UInt8], file: String) throws -> [(score: Double, sentence: String)] {
        var rated: [(score: Double, sentence: String)] = []
        for (i, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let text = trimmed(String(decoding: line, as: UTF8.self))
            if text.isEmpty { continue }
            let fields = text.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, let score = Double(fields[1]), (-4...4).contains(score), !fields[2].isEmpty else {
                throw DatasetError.badCache(path: file, detail: "line \(i + 1): expected id<TAB>rating in −4…4<TAB>sentence")
            }
            rated.append((score, trimmed(String(fields[2]))))
        }
        return rated
    }

    private static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }

    private struct Record: Encodable {
        struct Message: Encodable {
            var role: String
            var content: String
        }
        var messages: [Message]
    }

    private static func write(_ items: ArraySlice<(String, String)>, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes: [UInt8] = []
        for (review, label) in items {
            let record = Record(messages: [.init(role: "user", content: question(review)), .init(role: "assistant", content: label)])
            bytes += try encoder.encode(record)
            bytes.append(UInt8(ascii: "\n"))
        }
        let temporary = path + ".tmp"
        try FileSystem.writeFile(temporary, bytes)
        try FileSystem.rename(temporary, path)
    }

    static let source = ArchiveSource(
        dataset: "vader-movie-reviews",
        archiveName: "vaderSentiment-3.3.2.tar.gz",
        // From https://pypi.org/simple/vadersentiment/, release 3.3.2, the sdist.
        download: PinnedDownload(
            url:
                "https://files.pythonhosted.org/packages/77/8c/4a48c10a50f750ae565e341e697d74a38075a3e43ff0df6f1ab72e186902/vaderSentiment-3.3.2.tar.gz",
            sizeBytes: 2_466_783,
            sha256: "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"),
        expectedFileCount: 1,
        expectedTotalBytes: 1_383_098,
        cachedName: { $0 == "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt" ? "movieReviewSnippets_GroundTruth.txt" : nil },
        innerArchive: "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz")
}
