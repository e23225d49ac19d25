import ChatTemplates
import Models
import Sampling
import Tokenizers

/// A multi-turn chat with one model. The session's KV cache always holds `cachedTokens`, a
/// prefix of the rendered conversation: each turn renders the whole conversation through the
/// chat template, keeps the cached tokens it shares with that rendering and evaluates only the
/// rest, so history is not re-evaluated turn after turn. Rendering the whole conversation (instead
/// of appending text) keeps the model's template in charge of the format, whatever it does to
/// earlier turns.
public final class Conversation {
    public let session: InferenceSession
    public let tokenizer: any Tokenizer
    public let format: ChatFormat
    /// Kept through `clear()` and through dropping old turns.
    public var systemPrompt: String?
    /// User and assistant messages, alternating, oldest first.
    public private(set) var turns: [ChatMessage] = []
    /// The tokens whose keys and values are in the session's cache, in order.
    public var cachedTokens: [Int32] { session.sequence.tokens }
    /// Room kept free for an answer: when a new message would leave less than this, the oldest
    /// turns are dropped first.
    public var answerReserve: Int

    public enum StopReason: Sendable, Equatable {
        /// The model ended its turn.
        case endOfTurn
        /// `onText` asked to stop (Ctrl-C).
        case interrupted
        /// `maxTokens` were generated.
        case tokenLimit
        /// The context filled up mid-answer; older turns are dropped next time.
        case contextFull
    }

    public struct Reply: Sendable {
        public var text: String
        public var tokens: [Int32]
        public var stopReason: StopReason
        /// Prompt tokens reused from the cache and evaluated this turn.
        public var reusedTokens: Int
        public var stats: GenerationStats
        /// User/assistant exchanges dropped to make room.
        public var droppedExchanges: Int
    }

    public init(
        session: InferenceSession, tokenizer: any Tokenizer, format: ChatFormat, systemPrompt: String? = nil, answerReserve: Int? = nil
    ) {
        self.session = session
        self.tokenizer = tokenizer
        self.format = format
        self.systemPrompt = systemPrompt
        self.answerReserve = answerReserve ?? max(1, session.contextLength / 4)
        session.reset()
    }

    /// Forgets the turns (not the system prompt). The cache keeps what the next turn can still
    /// share, such as the system prompt's tokens.
    public func clear() { turns.removeAll() }

    /// Replaces the turns with saved ones (`/load`): user and assistant messages, alternating,
    /// starting with the user. The cache keeps whatever prefix the next rendering still shares.
    public func restore(turns saved: [ChatMessage]) throws {
        for (index, message) in saved.enumerated() where message.role != (index.isMultiple(of: 2) ? "user" : "assistant") {
            throw ChatError(
                "message \(index + 1) has role \"\(message.role)\"; expected user and assistant messages, alternating, user first")
        }
        turns = saved
    }

    /// The messages the template sees: the system prompt, then the turns.
    public var messages: [ChatMessage] {
        (systemPrompt.map { [ChatMessage(role: "system", content: $0)] } ?? []) + turns
    }

    /// Adds `text` as the user's message and streams the answer through `onText` (return false
    /// to stop it). `onNotice` hears about dropped turns before the answer starts. The answer,
    /// finished or not, becomes the assistant's message.
    public func respond(
        to text: String, sampler: inout Sampler, maxTokens: Int = .max,
        onNotice: (String) -> Void = { _ in }, onText: (String) -> Bool
    ) throws -> Reply {
        turns.append(ChatMessage(role: "user", content: text))
        let (tokens, dropped) = try promptMakingRoom()
        if dropped > 0 {
            onNotice(
                "context full: dropped the \(dropped == 1 ? "oldest exchange" : "\(dropped) oldest exchanges") to make room"
                    + (systemPrompt == nil ? "" : " (the system prompt is kept)"))
        }

        let shared = session.keepReusablePrefix(of: tokens)

        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        var answer = "", generated: [Int32] = []
        var interrupted = false
        let stats: GenerationStats
        do {
            stats = try session.generate(prompt: Array(tokens[shared...]), maxTokens: maxTokens, sampler: &sampler, tokenizer: tokenizer) {
                token in
                generated.append(token)
                let piece = decoder.push(token)
                answer += piece
                if !onText(piece) { interrupted = true }
                return !interrupted
            }
        } catch {
            turns.removeLast()
            throw error
        }
        let tail = decoder.flush()
        answer += tail
        if !tail.isEmpty { _ = onText(tail) }
        turns.append(ChatMessage(role: "assistant", content: answer))

        let reason: StopReason =
            stats.stoppedAtEndOfGeneration
            ? .endOfTurn
            : interrupted
                ? .interrupted
                : generated.count >= maxTokens ? .tokenLimit : .contextFull
        return Reply(text: answer, tokens: generated, stopReason: reason, reusedTokens: shared, stats: stats, droppedExchanges: dropped)
    }

    /// The rendered prompt's tokens, after dropping the oldest exchanges until the prompt
    /// leaves `answerReserve` free (or only the new message is left).
    private func promptMakingRoom() throws -> (tokens: [Int32], dropped: Int) {
        var dropped = 0
        while true {
            let tokens = format.encode(try format.render(messages), messages: messages, tokenizer: tokenizer)
            let fits = tokens.count + min(answerReserve, session.contextLength / 2) <= session.contextLength
            if fits || turns.count <= 1 {
                guard tokens.count < session.contextLength else {
                    turns.removeLast()
                    throw ChatError(
                        "the message needs \(tokens.count) tokens with the chat format but the context holds \(session.contextLength); use a larger --ctx or a shorter message"
                    )
                }
                return (tokens, dropped)
            }
            turns.removeFirst(min(2, turns.count - 1))
            dropped += 1
        }
    }
}
