import Chat
import ChatTemplates
import Compute
import Datasets
import FineTuning
import Foundation
import ModelStore
import Models
import Testing

@Suite(.tags(.model)) struct LabelScoringTests {
    /// The scorer's log-probabilities against a direct computation: the whole conversation with
    /// each answer evaluated from scratch, every position's logits turned into log-probabilities
    /// in float64 here, summed over the answer's tokens (its text and `<|im_end|>`, located from
    /// the generation prompt's tokens).
    @Test func scoresEqualLogProbabilitiesFromTheLogits() throws {
        let loaded = try ModelLoader.load(path: try ModelStore().resolve("smollm2-135m"), backend: CPUBackend(threads: 2))
        let chat = try ChatFormat(metadata: loaded.file.metadata, tokenizer: loaded.tokenizer, source: "smollm2")
        let session = try InferenceSession(model: loaded.model, contextLength: 256, batchCapacity: 64, logitRows: 8)
        let labels = ["positive", "negative"]
        let scorer = try LabelScorer(session: session, tokenizer: loaded.tokenizer, chatFormat: chat, labels: labels)
        let conversation = [ChatMessage(role: "user", content: SentimentDataset.question("A gorgeous, moving film."))]
        let scores = try scorer.scores(conversation)

        let prompt = chat.encode(try chat.render(conversation), messages: conversation, tokenizer: loaded.tokenizer)
        let imEnd = loaded.tokenizer.encode("<|im_end|>", addBOS: false, parseSpecialTokens: true)
        for (label, score) in zip(labels, scores) {
            let answer = loaded.tokenizer.encode(label, addBOS: false, parseSpecialTokens: false) + imEnd
            let tokens = prompt + answer
            let fresh = try InferenceSession(model: loaded.model, contextLength: 256, batchCapacity: 64, logitRows: 8)
            var expected = 0.0
            try fresh.evaluate(tokens, scoredIndices: (prompt.count - 1)..<(tokens.count - 1)) { index, logits in
                let maximum = Double(logits.max()!)
                let sum = logits.reduce(0.0) { $0 + exp(Double($1) - maximum) }
                expected += Double(logits[Int(tokens[index + 1])]) - maximum - log(sum)
            }
            #expect(abs(score - expected) < 1e-6, "\(label): \(score) vs \(expected)")
            #expect(score < 0)
        }
        // A second call reuses the cached prompt and must give the same numbers.
        #expect(try scorer.scores(conversation) == scores)
    }
}
