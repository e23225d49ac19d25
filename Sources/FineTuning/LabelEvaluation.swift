import ChatTemplates

/// Accuracy of a model on labelled conversations (`atelier evaluate`): each `messages` record
/// ends with the assistant's gold label; the model's prediction is the label `LabelScorer` finds
/// most probable after the conversation without it.
public struct LabelEvaluation: Sendable, Codable, Equatable {
    public var labels: [String]
    public var examples: Int
    public var correct: Int
    /// confusion[gold][predicted], in `labels` order.
    public var confusion: [[Int]]
    public var seconds: Double

    public var accuracy: Double { examples == 0 ? 0 : Double(correct) / Double(examples) }

    /// Evaluates the first `limit` records of the jsonl file at `path` (all when nil).
    /// `progress(done, total)` is called after each example.
    public static func run(
        path: String, scorer: LabelScorer, limit: Int? = nil, maxFileBytes: Int64 = FineTuningDataset.defaultMaxFileBytes,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> LabelEvaluation {
        let items = try labelledConversations(path: path, labels: scorer.labels, limit: limit, maxFileBytes: maxFileBytes)
        let clock = ContinuousClock()
        let start = clock.now
        var result = LabelEvaluation(
            labels: scorer.labels, examples: 0, correct: 0,
            confusion: Array(repeating: Array(repeating: 0, count: scorer.labels.count), count: scorer.labels.count), seconds: 0)
        for item in items {
            let scores = try scorer.scores(item.conversation)
            let predicted = scores.indices.max { scores[$0] < scores[$1] }!
            result.examples += 1
            result.confusion[item.gold][predicted] += 1
            if predicted == item.gold { result.correct += 1 }
            progress(result.examples, items.count)
        }
        let elapsed = clock.now - start
        result.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return result
    }

    /// The conversations without their last message, and that message's label index.
    static func labelledConversations(path: String, labels: [String], limit: Int?, maxFileBytes: Int64) throws -> [(
        conversation: [ChatMessage], gold: Int
    )] {
        var items: [(conversation: [ChatMessage], gold: Int)] = []
        try DataLines.forEach(in: path, maxFileBytes: maxFileBytes, maxLineBytes: FineTuningDataset.defaultMaxLineBytes) {
            number, bytes, length in
            if let limit, items.count >= limit { return }
            do throws(RecordError) {
                guard let bytes else { throw RecordError("the line is \(length) bytes, more than the limit") }
                if bytes.allSatisfy({ [0x20, 0x09, 0x0D].contains($0) }) { return }
                guard case .messages(var messages) = try DataRecord.parse(try parseJSON(bytes), format: .messages) else { return }
                let last = messages.removeLast()
                guard last.role == "assistant" else {
                    throw RecordError("the last message is the \(last.role)'s; expected the assistant's label")
                }
                guard let gold = labels.firstIndex(of: last.content) else {
                    throw RecordError(
                        "the assistant's answer \"\(last.content.prefix(40))\" is not one of the labels \(labels.joined(separator: ", "))")
                }
                guard !messages.isEmpty else { throw RecordError("the conversation holds only the label") }
                items.append((messages, gold))
            } catch {
                throw FineTuningDataError(path: path, line: number, error.problem)
            }
        }
        guard !items.isEmpty else { throw FineTuningDataError(path: path, "no labelled conversation") }
        return items
    }
}
