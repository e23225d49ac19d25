/// Learns a byte-level BPE vocabulary from a UTF-8 corpus.
///
/// The corpus is split with the pre-tokenizer the exported GGUF names (`BytePairVocabulary.
/// preTokenizerName`, the same `PreTokenizer` that encodes), so merges never cross a word boundary
/// the tokenizer will draw. Distinct words are counted once; each step merges the most frequent
/// adjacent pair over all words weighted by their counts — ties go to the smaller (left id, right id),
/// so the result depends only on the corpus and the size. Pair counts are updated incrementally
/// from the words that held the merged pair, and the next pair comes from a max-heap whose stale
/// entries are skipped, so a step costs what it changes rather than a pass over the corpus.
///
/// A pair whose bytes already form a token (reachable by two merge paths, e.g. "ab"+"c" and
/// "a"+"bc") is never merged: every merge makes a new token, which keeps lowest-rank-first encoding
/// equal to the segmentation training saw (`BytePairVocabulary.encodeByReplayingMerges`).
public struct BytePairTrainer: Sendable {
    /// Tokens wanted, the 256 bytes included.
    public let vocabularySize: Int
    /// A pair must occur at least this often (weighted by word counts) to be merged.
    public let minimumPairCount: Int

    /// The largest vocabulary this trainer makes: token ids stay far inside Int32 and the merge
    /// table small enough to write into any GGUF.
    public static let maximumVocabularySize = 1 << 20

    public init(vocabularySize: Int, minimumPairCount: Int = 2) {
        self.vocabularySize = vocabularySize
        self.minimumPairCount = max(1, minimumPairCount)
    }

    /// The vocabulary, with fewer than `vocabularySize` tokens when the corpus runs out of pairs
    /// occurring `minimumPairCount` times.
    public func train(on corpus: [UInt8]) throws -> BytePairVocabulary {
        guard (256...Self.maximumVocabularySize).contains(vocabularySize) else {
            throw TokenizerError(
                .invalidValue, key: "vocabulary size",
                "\(vocabularySize) is outside 256…\(Self.maximumVocabularySize) (the 256 byte tokens plus the merged ones)")
        }
        try Self.checkUTF8(corpus)
        var state = MergeState(words: Self.countWords(corpus))
        var merges: [BytePairVocabulary.Merge] = []
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var known = Set(tokens)
        while tokens.count < vocabularySize, let (left, right) = state.nextPair(minimumCount: minimumPairCount) {
            let joined = tokens[Int(left)] + tokens[Int(right)]
            guard known.insert(joined).inserted else {
                state.forbid(left, right)
                continue
            }
            let id = Int32(tokens.count)
            tokens.append(joined)
            merges.append(.init(left: left, right: right, result: id))
            state.merge(left, right, into: id)
        }
        return try BytePairVocabulary(merges: merges)
    }

    /// Distinct pre-tokens (as byte ids) and how often each occurs, in byte order.
    static func countWords(_ corpus: [UInt8]) -> [(symbols: [Int32], count: Int)] {
        guard let pre = PreTokenizer(name: BytePairVocabulary.preTokenizerName) else {
            preconditionFailure("the pre-tokenizer \(BytePairVocabulary.preTokenizerName) is one this module implements")
        }
        let text = ScalarText(corpus[...])
        var counts: [ArraySlice<UInt8>: Int] = [:]
        var start = 0
        for end in pre.split(text) {
            counts[corpus[text.utf8Offsets[start]..<text.utf8Offsets[end]], default: 0] += 1
            start = end
        }
        return counts.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { (symbols: $0.key.map { Int32($0) }, count: $0.value) }
    }

    /// The pre-tokenizer works on scalars; invalid UTF-8 would be replaced and shift every offset.
    static func checkUTF8(_ corpus: [UInt8]) throws {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = corpus.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return
            case .error(let length):
                throw TokenizerError(
                    .invalidValue, key: "corpus",
                    "invalid UTF-8 at byte \(offset) (\(length) byte(s)); BPE training needs UTF-8 text")
            }
        }
    }
}

/// The words being merged and the counts of every adjacent pair in them.
private struct MergeState {
    private struct Ranked: MergeCandidate {
        let count: Int
        let key: UInt64
        @inline(__always) func before(_ other: Ranked) -> Bool { count != other.count ? count > other.count : key < other.key }
    }

    private var words: [[Int32]]
    private let wordCounts: [Int]
    private var pairCounts: [UInt64: Int] = [:]
    /// Words that held the pair when it was counted (may hold it no longer).
    private var pairWords: [UInt64: [Int32]] = [:]
    private var queue = MergeQueue<Ranked>()
    private var forbidden: Set<UInt64> = []
    /// The step that last visited each word, so a word listed twice is merged once.
    private var visited: [Int]
    private var step = 0

    init(words counted: [(symbols: [Int32], count: Int)]) {
        words = counted.map(\.symbols)
        wordCounts = counted.map(\.count)
        visited = Array(repeating: -1, count: counted.count)
        for (index, word) in words.enumerated() where word.count > 1 {
            for i in 0..<(word.count - 1) {
                let key = Self.key(word[i], word[i + 1])
                pairCounts[key, default: 0] += wordCounts[index]
                if pairWords[key]?.last != Int32(index) { pairWords[key, default: []].append(Int32(index)) }
            }
        }
        for (key, count) in pairCounts { queue.push(Ranked(count: count, key: key)) }
    }

    @inline(__always) static func key(_ left: Int32, _ right: Int32) -> UInt64 { UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)) }

    /// The most frequent pair not forbidden, if it occurs at least `minimumCount` times.
    mutating func nextPair(minimumCount: Int) -> (Int32, Int32)? {
        while !queue.isEmpty {
            let top = queue.pop()
            guard pairCounts[top.key] == top.count, !forbidden.contains(top.key) else { continue }
            // Put it back: the caller may forbid it instead of merging.
            queue.push(top)
            guard top.count >= minimumCount else { return nil }
            return (Int32(truncatingIfNeeded: top.key >> 32), Int32(truncatingIfNeeded: top.key))
        }
        return nil
    }

    mutating func forbid(_ left: Int32, _ right: Int32) { forbidden.insert(Self.key(left, right)) }

    /// Replaces every occurrence of (left, right), left to right, by `id` and updates the counts.
    mutating func merge(_ left: Int32, _ right: Int32, into id: Int32) {
        step += 1
        let mergedKey = Self.key(left, right)
        var deltas: [UInt64: Int] = [:]
        for index in pairWords.removeValue(forKey: mergedKey) ?? [] where visited[Int(index)] != step {
            visited[Int(index)] = step
            let w = Int(index)
            let old = words[w]
            guard old.count > 1 else { continue }
            var merged: [Int32] = []
            merged.reserveCapacity(old.count)
            var i = 0
            while i < old.count {
                if i + 1 < old.count && old[i] == left && old[i + 1] == right {
                    merged.append(id)
                    i += 2
                } else {
                    merged.append(old[i])
                    i += 1
                }
            }
            guard merged.count != old.count else { continue }
            let count = wordCounts[w]
            for i in 0..<(old.count - 1) { deltas[Self.key(old[i], old[i + 1]), default: 0] -= count }
            for i in 0..<max(merged.count - 1, 0) {
                let key = Self.key(merged[i], merged[i + 1])
                deltas[key, default: 0] += count
                if merged[i] == id || merged[i + 1] == id, pairWords[key]?.last != index { pairWords[key, default: []].append(index) }
            }
            words[w] = merged
        }
        for (key, delta) in deltas where delta != 0 {
            let count = pairCounts[key, default: 0] + delta
            if count > 0 {
                pairCounts[key] = count
                queue.push(Ranked(count: count, key: key))
            } else {
                pairCounts[key] = nil
                pairWords[key] = nil
            }
        }
    }
}
