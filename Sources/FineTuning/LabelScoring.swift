import Chat
import ChatTemplates
import Models
import Sampling
import Tokenizers

/// Scores candidate answers (class labels) to a conversation by the model's log-probability of
/// each as the assistant's reply: the reply's tokens as fine-tuning trains them (the label's
/// content and the end-of-turn token, `ExampleEncoder`), summed. The conversation's tokens are
/// evaluated once; each label then costs its own tokens plus one (the session keeps the shared
/// prefix in its KV cache).
public struct LabelScorer {
    public let session: InferenceSession
    public let tokenizer: any Tokenizer
    public let chatFormat: ChatFormat
    public let labels: [String]

    public init(session: InferenceSession, tokenizer: any Tokenizer, chatFormat: ChatFormat, labels: [String]) throws {
        guard labels.count >= 2 else { throw FineTuningError("expected at least two labels; got \(labels.count)") }
        guard Set(labels).count == labels.count else { throw FineTuningError("the labels \(labels) repeat a label") }
        if let empty = labels.firstIndex(where: { $0.isEmpty }) { throw FineTuningError("label \(empty + 1) is empty") }
        self.session = session
        self.tokenizer = tokenizer
        self.chatFormat = chatFormat
        self.labels = labels
    }

    /// The log-probability (natural log) of each label, in `labels` order, as the assistant's
    /// answer after `conversation` (which must not hold the answer).
    public func scores(_ conversation: [ChatMessage]) throws -> [Double] {
        let encoder = ExampleEncoder(tokenizer: tokenizer, chatFormat: chatFormat, trainOnPrompt: false)
        return try labels.map { label in
            let example: FineTuningExample
            let answers: [Range<Int>]
            do throws(RecordError) {
                (example, answers) = try encoder.conversation(conversation + [ChatMessage(role: "assistant", content: label)], line: 0)
            } catch {
                throw FineTuningError(error.problem)
            }
            guard let answer = answers.last, answer.lowerBound >= 1 else {
                throw FineTuningError("the chat template shows no tokens for the answer \"\(label)\"")
            }
            return try logProbability(of: Array(example.tokens[..<answer.upperBound]), from: answer.lowerBound)
        }
    }

    /// Σ log p(tokens[i] | tokens[..<i]) for i ≥ `start`, reusing what the session already holds.
    func logProbability(of tokens: [Int32], from start: Int) throws -> Double {
        let kept = session.keepReusablePrefix(of: Array(tokens[..<start]))
        var total = 0.0
        var failure: Error?
        // The logits after token i (index i − kept in what is evaluated) predict token i + 1.
        try session.evaluate(Array(tokens[kept...]), scoredIndices: (start - 1 - kept)..<(tokens.count - 1 - kept)) { index, logits in
            let target = Int(tokens[kept + index + 1])
            guard target < logits.count else {
                failure = FineTuningError("token \(target) is outside the vocabulary")
                return
            }
            total += logSoftmax(logits, at: target)
        }
        if let failure { throw failure }
        return total
    }
}
