import Chat
import ChatTemplates
import Testing

@Suite(.tags(.model)) struct ChatFormatTests {
    static let exchange = [
        ChatMessage(role: "system", content: "Be brief."),
        ChatMessage(role: "user", content: "Hi"),
        ChatMessage(role: "assistant", content: " Hello! "),
        ChatMessage(role: "user", content: "Bye"),
    ]

    @Test func gemmaFileWithoutTemplateFallsBackToGemmaTurns() throws {
        let loaded = try TestModels.gemma3()
        let format = try ChatFormat(metadata: loaded.file.metadata, tokenizer: loaded.tokenizer, source: "gemma3-270m")
        #expect(format.origin == .fallback(name: "gemma"))
        #expect(format.summary.contains("no chat template"))
        // Gemma 3's own format: the system text opens the first user turn; assistant is "model";
        // content is trimmed (Google's template does the same).
        #expect(
            try format.render(Self.exchange) == """
                <bos><start_of_turn>user
                Be brief.

                Hi<end_of_turn>
                <start_of_turn>model
                Hello!<end_of_turn>
                <start_of_turn>user
                Bye<end_of_turn>
                <start_of_turn>model

                """)
        // The rendered text already starts with <bos>: it must not be added twice.
        let ids = format.encode(try format.render(Self.exchange), tokenizer: loaded.tokenizer)
        #expect(ids.prefix(2) == [loaded.tokenizer.bosTokenID!, 105])  // 105 = <start_of_turn>
    }

    @Test func smolLM2UsesItsOwnTemplate() throws {
        let loaded = try TestModels.smolLM2()
        let format = try ChatFormat(metadata: loaded.file.metadata, tokenizer: loaded.tokenizer, source: "smollm2-135m")
        #expect(format.origin == .model)
        // SmolLM2's template adds its default system prompt when the conversation has none.
        #expect(
            try format.render([ChatMessage(role: "user", content: "Hi")]) == """
                <|im_start|>system
                You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
                <|im_start|>user
                Hi<|im_end|>
                <|im_start|>assistant

                """)
    }

    @Test func builtInChatML() throws {
        let tokenizer = try TestModels.smolLM2().tokenizer
        let format = try ChatFormat(builtIn: "chatml", tokenizer: tokenizer)
        #expect(format.origin == .chosen(name: "chatml"))
        #expect(
            try format.render(Self.exchange, addGenerationPrompt: false) == """
                <|im_start|>system
                Be brief.<|im_end|>
                <|im_start|>user
                Hi<|im_end|>
                <|im_start|>assistant
                 Hello! <|im_end|>
                <|im_start|>user
                Bye<|im_end|>

                """)
        // <|im_start|> and <|im_end|> are single special tokens (ids 1 and 2) in SmolLM2.
        let ids = format.encode(try format.render([ChatMessage(role: "user", content: "Hi")]), tokenizer: tokenizer)
        #expect(ids.first == 1 && ids.filter { $0 == 2 }.count == 1)
    }

    @Test func unknownFormatNameListsTheBuiltIns() throws {
        let tokenizer = try TestModels.smolLM2().tokenizer
        #expect { _ = try ChatFormat(builtIn: "vicuna", tokenizer: tokenizer) } throws: { error in
            "\(error)".contains("vicuna") && "\(error)".contains("chatml, gemma")
        }
    }

    @Test func unsupportedTemplateFeatureIsNamed() throws {
        let tokenizer = try TestModels.smolLM2().tokenizer
        let source = "{% macro turn(m) %}{{ m.content }}{% endmacro %}{% for m in messages %}{{ turn(m) }}{% endfor %}"
        #expect { _ = try ChatFormat(templateSource: source, name: "custom.jinja", tokenizer: tokenizer) } throws: { error in
            "\(error)".contains("custom.jinja") && "\(error)".contains("macro")
        }
    }
}
