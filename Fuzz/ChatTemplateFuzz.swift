// libFuzzer entry point for the chat-template interpreter. Built outside SwiftPM by
// scripts/fuzz-template.sh, together with Sources/ChatTemplates, with -sanitize=fuzzer,address.
//
// The input is template text (a model file's `tokenizer.chat_template` is untrusted). It must parse
// and render a fixed conversation under the default `RenderLimits`, or throw a ChatTemplateError:
// a trap, an ASan report, a leak, a hang (-timeout) or an out-of-memory (-rss_limit_mb) is a bug,
// and so is any other error type. The corpus is seeded with the real templates of the test
// fixtures, so mutations of known templates are covered as well as arbitrary text.

private let conversation = [
    ChatMessage(role: "system", content: "You are a helpful assistant."),
    ChatMessage(role: "user", content: "Hi there! What's 2+2?"),
    ChatMessage(role: "assistant", content: "4"),
    ChatMessage(role: "user", content: "And <b>\"quotes\"</b>\nand a new line?"),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let template = try ChatTemplate(source: source)
        _ = try template.render(messages: conversation, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
        _ = try template.render(messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "")
    } catch is ChatTemplateError {
        return 0
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
