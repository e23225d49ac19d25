import Chat
import ChatTemplates
import FineTuning
import Foundation
import GGUF
import ModelStore
import Testing
import Tokenizers

/// The real models' tokenizers and chat formats (no weights loaded).
enum RealTokenizers {
    static func load(_ name: String) throws -> (tokenizer: any Tokenizer, chat: ChatFormat) {
        let file = try GGUFFile(path: try ModelStore().resolve(name))
        let tokenizer = try TokenizerLoader.load(from: file.metadata)
        return (tokenizer, try ChatFormat(metadata: file.metadata, tokenizer: tokenizer, source: name))
    }
}

/// A scratch jsonl file, removed when the test ends.
final class ScratchFile {
    let path: String
    init(_ text: String) throws {
        path = NSTemporaryDirectory() + "ft-data-\(UUID().uuidString).jsonl"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
    init(bytes: [UInt8]) throws {
        path = NSTemporaryDirectory() + "ft-data-\(UUID().uuidString).jsonl"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func load(_ text: String, _ model: (tokenizer: any Tokenizer, chat: ChatFormat), context: Int = 512, trainOnPrompt: Bool = false)
    throws -> FineTuningDataset
{
    let file = try ScratchFile(text)
    return try FineTuningDataset.load(
        path: file.path, tokenizer: model.tokenizer, chatFormat: model.chat, context: context, trainOnPrompt: trainOnPrompt)
}

/// The trained tokens' text, and the untrained tokens' text, with special tokens shown.
func split(_ example: FineTuningExample, _ tokenizer: any Tokenizer) -> (trained: String, untrained: String) {
    let trained = example.tokens.indices.filter { example.trained[$0] }.map { example.tokens[$0] }
    let untrained = example.tokens.indices.filter { !example.trained[$0] }.map { example.tokens[$0] }
    return (tokenizer.decode(trained, special: true), tokenizer.decode(untrained, special: true))
}

@Suite(.tags(.model)) struct ConversationMaskTests {
    static let smol = Result { try RealTokenizers.load("smollm2-135m") }
    static let gemma = Result { try RealTokenizers.load("gemma3-270m") }

    /// The mask must be the assistant's tokens exactly: they start right after the tokens of the
    /// conversation so far with the generation prompt (what `atelier chat` feeds before the model
    /// answers) and run through the end-of-turn token.
    func checkSpans(_ model: (tokenizer: any Tokenizer, chat: ChatFormat), _ messages: [ChatMessage], endOfTurn: String) throws {
        let line = try JSONSerialization.data(withJSONObject: ["messages": messages.map { ["role": $0.role, "content": $0.content] }])
        let dataset = try load(String(decoding: line, as: UTF8.self) + "\n", model)
        let example = try #require(dataset.examples.first)
        // Exactly the tokens `atelier chat` feeds for this conversation.
        let full = model.chat.encode(
            try model.chat.render(messages, addGenerationPrompt: false), messages: messages, addGenerationPrompt: false,
            tokenizer: model.tokenizer)
        #expect(example.tokens == full)
        var expected = [Bool](repeating: false, count: full.count)
        for (k, message) in messages.enumerated() where message.role == "assistant" {
            let before = Array(messages[..<k])
            let prompt = model.chat.encode(try model.chat.render(before), messages: before, tokenizer: model.tokenizer)
            #expect(Array(full.prefix(prompt.count)) == prompt)
            let answer = model.tokenizer.encode(message.content, addBOS: false, parseSpecialTokens: false)
            let endID = try #require(model.tokenizer.encode(endOfTurn, addBOS: false, parseSpecialTokens: true).first)
            #expect(Array(full[prompt.count..<(prompt.count + answer.count)]) == answer)
            #expect(full[prompt.count + answer.count] == endID)
            for i in prompt.count...(prompt.count + answer.count) { expected[i] = true }
        }
        #expect(example.trained == expected)
    }

    @Test func smolLM2SingleTurn() throws {
        let model = try Self.smol.get()
        try checkSpans(
            model, [.init(role: "user", content: "Hi"), .init(role: "assistant", content: "Hello there")], endOfTurn: "<|im_end|>")
        let example = try load(
            #"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"}]}"#, model
        ).examples[0]
        let (trained, untrained) = split(example, model.tokenizer)
        #expect(trained == "Hello there<|im_end|>")
        // SmolLM2's template adds its default system prompt; it and the role headers stay untrained.
        #expect(
            untrained
                == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n\n"
        )
    }

    @Test func smolLM2MultiTurnWithSystem() throws {
        try checkSpans(
            try Self.smol.get(),
            [
                .init(role: "system", content: "Be brief."), .init(role: "user", content: "2+2?"), .init(role: "assistant", content: "4"),
                .init(role: "user", content: "And 3+3?"), .init(role: "assistant", content: "6, of course."),
            ], endOfTurn: "<|im_end|>")
    }

    @Test func gemma3() throws {
        let model = try Self.gemma.get()
        let messages: [ChatMessage] = [
            .init(role: "system", content: "Answer in one word."), .init(role: "user", content: "Colour of the sky?"),
            .init(role: "assistant", content: "Blue"), .init(role: "user", content: "And grass?"),
            .init(role: "assistant", content: "Green"),
        ]
        try checkSpans(model, messages, endOfTurn: "<end_of_turn>")
        let line = try JSONSerialization.data(withJSONObject: ["messages": messages.map { ["role": $0.role, "content": $0.content] }])
        let (trained, untrained) = split(try load(String(decoding: line, as: UTF8.self), model).examples[0], model.tokenizer)
        #expect(trained == "Blue<end_of_turn>Green<end_of_turn>")
        #expect(
            untrained
                == "<bos><start_of_turn>user\nAnswer in one word.\n\nColour of the sky?<end_of_turn>\n<start_of_turn>model\n\n<start_of_turn>user\nAnd grass?<end_of_turn>\n<start_of_turn>model\n\n"
        )
    }

    @Test func contentsAreTextNotTurns() throws {
        let model = try Self.smol.get()
        let example = try load(
            #"{"messages": [{"role": "user", "content": "say <|im_end|>"}, {"role": "assistant", "content": "<|im_start|>ok"}]}"#, model
        ).examples[0]
        let imStart = try #require(model.tokenizer.encode("<|im_start|>", addBOS: false, parseSpecialTokens: true).first)
        // Three turn openers from the template (system, user, assistant); the one in the answer is text.
        #expect(example.tokens.filter { $0 == imStart }.count == 3)
        #expect(split(example, model.tokenizer).trained == "<|im_start|>ok<|im_end|>")
    }

    @Test func textAndPromptCompletion() throws {
        for model in [try Self.smol.get(), try Self.gemma.get()] {
            let tokenizer = model.tokenizer
            let eos = try #require(tokenizer.eosTokenID)
            let text = try load(#"{"text": "The cat sat."}"#, model).examples[0]
            let body = tokenizer.encode("The cat sat.", addBOS: tokenizer.addsBOS, parseSpecialTokens: true)
            #expect(text.tokens == body + [eos])
            #expect(text.trained == text.tokens.indices.map { $0 > 0 })

            let pc = try load(#"{"prompt": "Q: 2+2?\nA:", "completion": " 4"}"#, model).examples[0]
            #expect(pc.tokens == tokenizer.encode("Q: 2+2?\nA: 4", addBOS: tokenizer.addsBOS, parseSpecialTokens: true) + [eos])
            #expect(split(pc, tokenizer).trained == " 4" + tokenizer.tokenText(eos))
            let all = try load(#"{"prompt": "Q: 2+2?\nA:", "completion": " 4"}"#, model, trainOnPrompt: true).examples[0]
            #expect(all.trained == all.tokens.indices.map { $0 > 0 })
        }
    }

    @Test func truncationAndDroppedExamples() throws {
        let model = try Self.smol.get()
        let long = String(repeating: "word ", count: 100)
        let lines = [
            #"{"prompt": "Say it:", "completion": "\#(long)"}"#,
            // The prompt fills the context: nothing of the completion is left, so it is dropped.
            #"{"prompt": "\#(long)", "completion": "end"}"#,
            #"{"prompt": "a", "completion": "short"}"#,
        ]
        let dataset = try load(lines.joined(separator: "\n"), model, context: 32)
        #expect(dataset.truncated == 2)
        #expect(dataset.dropped == 1)
        #expect(dataset.examples.map(\.line) == [1, 3])
        #expect(dataset.examples[0].tokens.count == 32)
        #expect(dataset.tokenCount == dataset.examples.reduce(0) { $0 + $1.tokens.count })
        let promptTokens = model.tokenizer.encode("Say it:", addBOS: model.tokenizer.addsBOS, parseSpecialTokens: true).count
        let shortPrompt = model.tokenizer.encode("a", addBOS: model.tokenizer.addsBOS, parseSpecialTokens: true).count
        #expect(dataset.trainedTokenCount == (32 - promptTokens) + (dataset.examples[1].tokens.count - shortPrompt))
    }
}
