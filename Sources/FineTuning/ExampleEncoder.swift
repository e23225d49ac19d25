import Chat
import ChatTemplates
import Tokenizers

/// One training sequence: its tokens and which of them are trained. `trained[i]` says whether
/// the loss counts the prediction of `tokens[i]` from the tokens before it, so `trained[0]` is
/// always false.
public struct FineTuningExample: Sendable, Equatable {
    public var tokens: [Int32]
    public var trained: [Bool]
    /// The jsonl line it came from (from 1).
    public var line: Int

    public init(tokens: [Int32], trained: [Bool], line: Int) {
        precondition(tokens.count == trained.count, "one mask entry per token")
        self.tokens = tokens
        self.trained = trained
        self.line = line
    }

    public var trainedCount: Int { trained.lazy.filter { $0 }.count }
}

/// Records to tokens and masks, the way inference will see the same text.
///
/// - `text`: BOS when the model adds one (`tokenizer.ggml.add_bos_token`, as `atelier run`
///   does), the text with special-token texts parsed (as `atelier run` and Hugging Face
///   tokenizers do), EOS appended; every token trained.
/// - `prompt`/`completion`: the plain concatenation `prompt + completion`, tokenized as one text
///   like `text` — TRL's non-conversational format: no template and no separator is added, so the
///   data decides where the completion starts (a prompt usually ends with a space or newline).
///   Tokenized in one piece, the tokens are those the model sees at inference when given the
///   prompt and then producing the completion; a token that straddles the boundary belongs to
///   the completion. The completion and the EOS are trained.
/// - `messages`: rendered by the model's chat template and tokenized exactly as `atelier chat`
///   tokenizes a conversation (`ChatFormat.renderedPrompt`: contents are text, special tokens are
///   parsed in the template's text only). Trained: the tokens of every assistant message's content
///   and the template's text after it up to and including its first control token (the
///   end-of-turn: `<|im_end|>`, `<end_of_turn>`), which is what generation must produce to stop.
///   System and user turns and the template's role headers are not trained.
///
/// `trainOnPrompt` trains every token (but the first) in all three formats.
struct ExampleEncoder {
    let tokenizer: any Tokenizer
    let chatFormat: ChatFormat?
    let trainOnPrompt: Bool

    func encode(_ record: DataRecord, line: Int) throws(RecordError) -> FineTuningExample {
        var example: FineTuningExample
        switch record {
        case .text(let text):
            example = try plain(text, trainedFrom: 0, line: line)
        case .promptCompletion(let prompt, let completion):
            example = try plain(prompt + completion, trainedFrom: prompt.utf8.count, line: line)
        case .messages(let messages):
            example = try conversation(messages, line: line).example
        }
        if trainOnPrompt { example.trained = example.tokens.indices.map { $0 > 0 } }
        if !example.trained.isEmpty { example.trained[0] = false }
        return example
    }

    /// `text`'s tokens and EOS; trained: the tokens that reach past byte `trainedFrom`, and EOS.
    private func plain(_ text: String, trainedFrom: Int, line: Int) throws(RecordError) -> FineTuningExample {
        var tokens = tokenizer.encode(text, addBOS: tokenizer.addsBOS, parseSpecialTokens: true)
        guard let ranges = TokenAlignment.byteRanges(of: tokens, in: Array(text.utf8), tokenizer: tokenizer) else {
            throw RecordError("the tokenizer's tokens do not spell the text back, so the trained part cannot be located")
        }
        var trained = ranges.map { $0.upperBound > trainedFrom && !$0.isEmpty }
        if let eos = tokenizer.eosTokenID, tokens.last != eos {
            tokens.append(eos)
            trained.append(true)
        }
        return FineTuningExample(tokens: tokens, trained: trained, line: line)
    }

    /// A conversation's tokens, mask, and each assistant message's trained token range.
    func conversation(_ messages: [ChatMessage], line: Int) throws(RecordError) -> (example: FineTuningExample, answers: [Range<Int>]) {
        guard let chatFormat else { throw RecordError("a messages record needs the model's chat format") }
        let prompt: RenderedPrompt
        let addBOS: Bool
        do {
            (prompt, addBOS) = try chatFormat.renderedPrompt(messages, addGenerationPrompt: false, tokenizer: tokenizer)
        } catch {
            throw RecordError("\(error)")
        }
        let tokens = prompt.tokens(tokenizer: tokenizer, addBOS: addBOS)
        let text = Array(prompt.text.utf8)
        guard prompt.contentRanges.count == messages.count else {
            throw RecordError(
                "the chat template does not show every message's content as written (\(prompt.contentRanges.count) of \(messages.count) found), so the assistant's tokens cannot be located"
            )
        }
        guard let ranges = TokenAlignment.byteRanges(of: tokens, in: text, tokenizer: tokenizer) else {
            throw RecordError(
                "the tokenizer's tokens do not spell the rendered conversation back, so the assistant's tokens cannot be located")
        }
        var trained = [Bool](repeating: false, count: tokens.count)
        var answers: [Range<Int>] = []
        for (k, message) in messages.enumerated() where message.role == "assistant" {
            let content = prompt.contentRanges[k]
            let turnEnd = k + 1 < messages.count ? prompt.contentRanges[k + 1].lowerBound : text.count
            guard let first = ranges.firstIndex(where: { $0.overlaps(content) }) else { continue }
            var end = first
            while end < tokens.count && ranges[end].overlaps(content) { end += 1 }
            // The template's text after the content, through the first control token: the end of turn.
            var next = end
            while next < tokens.count && ranges[next].lowerBound < turnEnd {
                next += 1
                if tokenizer.isControl(tokens[next - 1]) {
                    end = next
                    break
                }
            }
            for i in first..<end { trained[i] = true }
            answers.append(first..<end)
        }
        return (FineTuningExample(tokens: tokens, trained: trained, line: line), answers)
    }
}
