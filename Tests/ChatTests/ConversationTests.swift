import Chat
import ChatTemplates
import Foundation
import Models
import Sampling
import Testing

/// Multi-turn chat on SmolLM2-135M-Instruct, greedy, against llama.cpp and against evaluating
/// every turn from scratch.
@Suite(.serialized, .tags(.model)) struct ConversationTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            let system: String?
            let question: String
            let rendered_prompt: String
            let answer: String
            let ended_turn: Bool
            let ids: [Int32]
            /// Best minus second-best logprob at each step, in llama.cpp.
            let margins: [Double]
        }
        let cases: [Case]
    }

    func conversation(context: Int = 1024, system: String? = nil) throws -> Conversation {
        let loaded = try TestModels.smolLM2()
        let session = try InferenceSession(model: loaded.model, contextLength: context, logitRows: 1)
        let format = try ChatFormat(metadata: loaded.file.metadata, tokenizer: loaded.tokenizer, source: "smollm2-135m")
        return Conversation(session: session, tokenizer: loaded.tokenizer, format: format, systemPrompt: system)
    }

    /// The answers llama.cpp gives to the same rendered prompts (scripts/make-chat-fixtures.py),
    /// compared token by token up to the first step where llama.cpp's own choice is fragile
    /// (margin under 0.1 nats, as in the greedy tests of ModelsTests), whole when there is none.
    @Test func firstAnswersMatchLlamaCpp() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: TestModels.fixture("smollm2-chat.json"))
        let endOfTurn = try #require(try TestModels.smolLM2().tokenizer.eosTokenID)
        for case_ in reference.cases {
            let chat = try conversation(system: case_.system)
            #expect(try chat.format.render(chat.messages + [ChatMessage(role: "user", content: case_.question)]) == case_.rendered_prompt)
            var sampler = Sampler(.greedy)
            let reply = try chat.respond(to: case_.question, sampler: &sampler, maxTokens: 64) { _ in true }
            let ours = reply.tokens + (reply.stopReason == .endOfTurn ? [endOfTurn] : [])
            if let fragile = case_.margins.firstIndex(where: { $0 < 0.1 }) {
                #expect(Array(ours.prefix(fragile)) == Array(case_.ids.prefix(fragile)), "\(case_.question)")
            } else {
                #expect(ours == case_.ids, "\(case_.question)")
                #expect(reply.text == case_.answer, "\(case_.question)")
                #expect((reply.stopReason == .endOfTurn) == case_.ended_turn)
            }
            #expect(reply.reusedTokens == 0)
        }
    }

    /// Turn two evaluates only what turn one did not leave in the cache, and answers exactly as
    /// a fresh session given the whole conversation at once does.
    @Test func secondTurnReusesTheCacheAndMatchesAFreshEvaluation() throws {
        let chat = try conversation(system: "You are a helpful assistant.")
        var sampler = Sampler(.greedy)
        let first = try chat.respond(to: "What is the capital of France?", sampler: &sampler, maxTokens: 64) { _ in true }
        #expect(first.text == "The capital of France is Paris.")
        let cachedAfterFirst = chat.cachedTokens.count
        let second = try chat.respond(to: "And what about Japan?", sampler: &sampler, maxTokens: 64) { _ in true }
        // Everything of turn one is reused: its prompt and its answer (the end-of-turn token the
        // template writes after the answer was sampled but never evaluated).
        #expect(second.reusedTokens == cachedAfterFirst)
        #expect(second.stats.promptTokens <= 16)

        let fresh = try conversation(system: "You are a helpful assistant.")
        let history = Array(chat.messages.dropLast())
        let prompt = fresh.format.encode(try fresh.format.render(history), tokenizer: fresh.tokenizer)
        var freshSampler = Sampler(.greedy)
        var ids: [Int32] = []
        _ = try fresh.session.generate(prompt: prompt, maxTokens: 64, sampler: &freshSampler, tokenizer: fresh.tokenizer) {
            ids.append($0); return true
        }
        #expect(second.tokens == ids)
        #expect(!second.text.isEmpty)
    }

    @Test func overflowDropsTheOldestExchangesAndKeepsTheSystemPrompt() throws {
        let chat = try conversation(context: 160, system: "You are a helpful assistant.")
        var sampler = Sampler(.greedy)
        var notices: [String] = []
        for question in [
            "What is the capital of France?", "Name three primary colors.", "What is 2 + 2?",
            "What is the capital of Japan?", "Who wrote Hamlet?", "What is water made of?",
        ] {
            let reply = try chat.respond(
                to: question, sampler: &sampler, maxTokens: 30, onNotice: { notices.append($0) }, onText: { _ in true })
            #expect(!reply.text.isEmpty)
            #expect(chat.cachedTokens.count == chat.session.position)
            #expect(chat.session.position <= 160)
        }
        #expect(!notices.isEmpty)
        #expect(notices.allSatisfy { $0.contains("dropped") && $0.contains("system prompt is kept") })
        #expect(chat.messages.first == ChatMessage(role: "system", content: "You are a helpful assistant."))
        #expect(chat.turns.count < 12)
        #expect(chat.turns.last?.role == "assistant")
    }

    @Test func aMessageLongerThanTheContextIsRefusedAndTheChatGoesOn() throws {
        let chat = try conversation(context: 64)
        var sampler = Sampler(.greedy)
        let long = String(repeating: "This sentence is far too long for the context. ", count: 20)
        #expect { _ = try chat.respond(to: long, sampler: &sampler) { _ in true } } throws: { error in
            "\(error)".contains("context holds 64")
        }
        #expect(chat.turns.isEmpty)
        let reply = try chat.respond(to: "Hi", sampler: &sampler, maxTokens: 8) { _ in true }
        #expect(!reply.tokens.isEmpty)
    }

    @Test func stoppingMidAnswerKeepsThePartialAnswerAsTheTurn() throws {
        let chat = try conversation()
        var sampler = Sampler(.greedy)
        var pieces = 0
        let reply = try chat.respond(to: "Write a long story about a dragon.", sampler: &sampler) { _ in
            pieces += 1
            return pieces < 5
        }
        #expect(reply.stopReason == .interrupted)
        #expect(reply.tokens.count == 5)
        #expect(chat.turns.last == ChatMessage(role: "assistant", content: reply.text))
        #expect(chat.cachedTokens.count == chat.session.position)
        chat.clear()
        #expect(chat.turns.isEmpty)
        // After /clear the same question gives the same answer as in a new conversation.
        let again = try chat.respond(to: "What is the capital of Japan?", sampler: &sampler, maxTokens: 64) { _ in true }
        #expect(again.text == "The capital of Japan is Tokyo.")
        #expect(again.reusedTokens > 10)  // the default system prompt's tokens were still cached
    }
}
