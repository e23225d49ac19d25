/// Finds special-token texts in input before ordinary tokenization, as llama.cpp's
/// tokenizer_st_partition does: tokens are tried longest text first (ties by id), each one
/// splitting every stretch of still-plain text at its leftmost non-overlapping occurrences.
/// Occurrences are found in one pass with a byte trie and then accepted in that priority order,
/// which gives the same result without rescanning the text once per special token.
struct SpecialTokenMatcher: Sendable {
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Node: Sendable {
        var children: [UInt8: Int32] = [:]
        /// Index into `candidates` of the token ending here, or -1.
        var candidate: Int32 = -1
    }

    private struct Candidate: Sendable {
        let id: Int32
        let length: Int
        /// Control and unknown tokens only split text when the caller asks for special tokens;
        /// user-defined ones always do.
        let alwaysMatched: Bool
    }

    private var nodes: [Node] = [Node()]
    /// In priority order: longer texts first, then lower ids.
    private var candidates: [Candidate] = []

    init(vocabulary: Vocabulary) {
        var ids: [Int32] = []
        for id in 0..<Int32(vocabulary.count) {
            switch vocabulary.types[Int(id)] {
            case .control, .unknown, .userDefined: ids.append(id)
            default: break
            }
        }
        ids.sort { a, b in
            let la = vocabulary.texts[Int(a)].utf8.count, lb = vocabulary.texts[Int(b)].utf8.count
            return la != lb ? la > lb : a < b
        }
        for id in ids {
            let bytes = Array(vocabulary.texts[Int(id)].utf8)
            var node = 0
            for byte in bytes {
                if let child = nodes[node].children[byte] {
                    node = Int(child)
                } else {
                    nodes.append(Node())
                    nodes[node].children[byte] = Int32(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
            guard nodes[node].candidate < 0 else { continue }
            nodes[node].candidate = Int32(candidates.count)
            candidates.append(
                Candidate(
                    id: id, length: bytes.count,
                    alwaysMatched: vocabulary.types[Int(id)] == .userDefined))
        }
    }

    var isEmpty: Bool { candidates.isEmpty }

    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        if bytes.isEmpty { return [] }
        guard !candidates.isEmpty else { return [.text(0..<bytes.count)] }
        // Every occurrence of every eligible text, grouped by candidate.
        var occurrences: [[Int]] = Array(repeating: [], count: candidates.count)
        var any = false
        for start in bytes.indices {
            var node = 0
            var i = start
            while i < bytes.count, let child = nodes[node].children[bytes[i]] {
                node = Int(child)
                i += 1
                let c = nodes[node].candidate
                if c >= 0 && (parseSpecial || candidates[Int(c)].alwaysMatched) {
                    occurrences[Int(c)].append(start)
                    any = true
                }
            }
        }
        guard any else { return [.text(0..<bytes.count)] }

        // Accept in priority order; an occurrence must lie wholly in text no earlier token took,
        // and not overlap an earlier accepted occurrence of the same token.
        var taken = [Bool](repeating: false, count: bytes.count)
        var accepted: [(start: Int, length: Int, id: Int32)] = []
        for (c, starts) in occurrences.enumerated() where !starts.isEmpty {
            let length = candidates[c].length
            var resumeAt = 0
            for start in starts where start >= resumeAt {
                if taken[start..<(start + length)].contains(true) { continue }
                for i in start..<(start + length) { taken[i] = true }
                accepted.append((start, length, candidates[c].id))
                resumeAt = start + length
            }
        }
        accepted.sort { $0.start < $1.start }
        var fragments: [Fragment] = []
        var position = 0
        for match in accepted {
            if match.start > position { fragments.append(.text(position..<match.start)) }
            fragments.append(.token(match.id))
            position = match.start + match.length
        }
        if position < bytes.count { fragments.append(.text(position..<bytes.count)) }
        return fragments
    }
}
