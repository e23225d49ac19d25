import ChatTemplates
import GGUF
import ModelStore
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Fixtures are found from this file's location (no resource bundle).
enum Fixture {
    static let directory: String = {
        let here = "\(#filePath)"
        return String(here[..<here.lastIndex(of: "/")!]) + "/Fixtures"
    }()
    static func path(_ name: String) -> String { directory + "/" + name }
}

struct FixtureFile: Decodable {
    struct Message: Decodable { var role: String; var content: String }
    struct Case: Decodable {
        var name: String
        var messages: [Message]
        var add_generation_prompt: Bool
        var bos_token: String
        var eos_token: String
        var expected: String?
        var error: String?
    }
    var name: String
    var imitates: String
    var template: String
    var cases: [Case]

    static func load(_ name: String) throws -> FixtureFile {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixture.path(name + ".json")))
        return try JSONDecoder().decode(FixtureFile.self, from: data)
    }
}

/// Visible difference for failure messages.
func firstDifference(_ a: String, _ b: String) -> String {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    var i = 0
    while i < x.count && i < y.count && x[i] == y[i] { i += 1 }
    func ctx(_ s: [Unicode.Scalar]) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s[max(0, i - 30)..<min(s.count, i + 30)])
        return String(v).debugDescription
    }
    return "first difference at scalar \(i): got \(ctx(x)) expected \(ctx(y))"
}

let fixtureNames = [
    "smollm2", "qwen25_chatml", "llama3_instruct", "mistral_instruct", "gemma3_instruct",
    "feature_loops", "feature_slicing", "feature_namespace", "feature_whitespace", "feature_expressions",
]

@Suite struct ChatTemplateFixtureTests {
    @Test(arguments: fixtureNames)
    func matchesJinja2(_ name: String) throws {
        let fixture = try FixtureFile.load(name)
        #expect(!fixture.cases.isEmpty)
        let template = try ChatTemplate(source: fixture.template)
        for c in fixture.cases {
            let messages = c.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            if let expected = c.expected {
                let got: String
                do {
                    got = try template.render(
                        messages: messages, addGenerationPrompt: c.add_generation_prompt, bosToken: c.bos_token, eosToken: c.eos_token)
                } catch {
                    Issue.record("\(name)/\(c.name): unexpected error \(error)")
                    continue
                }
                #expect(got == expected, "\(name)/\(c.name): \(firstDifference(got, expected))")
            } else if let message = c.error {
                do {
                    let got = try template.render(
                        messages: messages, addGenerationPrompt: c.add_generation_prompt, bosToken: c.bos_token, eosToken: c.eos_token)
                    Issue.record("\(name)/\(c.name): expected error '\(message)', rendered \(got.debugDescription)")
                } catch let e as ChatTemplateError {
                    #expect(e.kind == .raised, "\(name)/\(c.name)")
                    #expect(e.message == message, "\(name)/\(c.name)")
                    #expect(e.description.contains(message))
                }
            }
        }
    }

    /// The fixture stores SmolLM2's template text; the template read from the model's GGUF
    /// metadata must be that text and render the same (the model is pulled if the store lacks it).
    @Test(.tags(.model)) func smolLM2TemplateFromModelFile() throws {
        let path = try ModelStore().resolve("smollm2-135m")
        let file = try GGUFFile(path: path)
        let source = try #require(file.metadata.string("tokenizer.chat_template"))
        let fixture = try FixtureFile.load("smollm2")
        #expect(source == fixture.template)
        let template = try ChatTemplate(source: source)
        let out = try template.render(
            messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true, bosToken: "", eosToken: "")
        #expect(
            out
                == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        )
    }
}
