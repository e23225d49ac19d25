import ArgumentParser
import Chat
import ChatTemplates
import LineEditing
import ModelStore
import Sampling

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The interactive side of `atelier chat`: reads messages (with line editing and history on a
/// terminal), runs the /commands, streams answers. Settings changed with /set last for the session.
final class ChatREPL {
    let conversation: Conversation
    let modelName: String
    var parameters: SamplingParameters
    var sampler: Sampler
    /// Tokens per answer at most (`Int.max`: no limit).
    var limit: Int
    private let editor: LineEditor?
    private var plainInput = LineReader()

    init(conversation: Conversation, modelName: String, parameters: SamplingParameters, limit: Int) {
        self.conversation = conversation
        self.modelName = modelName
        self.parameters = parameters
        self.sampler = Sampler(parameters)
        self.limit = limit
        editor = LineEditor.isAvailable() ? LineEditor(historyPath: Self.historyPath) : nil
    }

    /// `$ATELIER_CHAT_HISTORY`, else `chat_history` in the store's folder; set to "" to keep none.
    static var historyPath: String? {
        if let path = getenv("ATELIER_CHAT_HISTORY").map({ String(cString: $0) }) { return path.isEmpty ? nil : path }
        return ModelStore.defaultRoot() + "/chat_history"
    }

    static let help = """
        /set                     show the settings
        /set NAME VALUE          change one: temp, top-k, top-p, min-p, repeat-penalty, repeat-last-n,
                                 frequency-penalty, presence-penalty, seed, n (tokens per answer, -1: no limit)
        /system TEXT             set the system prompt; /system alone removes it
        /clear                   forget the conversation (the system prompt stays)
        /save FILE               write the conversation as JSON (OpenAI-style messages)
        /load FILE               continue a saved conversation
        /exit                    quit (also /quit, /bye, Ctrl-D)
        Ctrl-C stops an answer; a line ending in \\ continues on the next line; Up/Down recall earlier messages
        """

    func loop() {
        defer { editor?.close() }
        while let message = readMessage() {
            if message.hasPrefix("/") {
                guard handleCommand(message) else { return }
                continue
            }
            respond(to: message)
        }
    }

    // MARK: - Input

    private enum Line {
        case text(String)
        case interrupted, end
    }

    private func nextLine(prompt: String) -> Line {
        if let editor {
            switch editor.readLine(prompt: prompt) {
            case .line(let text): return .text(text)
            case .interrupted: return .interrupted
            case .endOfInput: return .end
            }
        }
        Terminal.write(prompt)
        switch plainInput.nextLine() {
        case .line(let text): return .text(text)
        case .interrupted: return .interrupted
        case .endOfInput: return .end
        }
    }

    /// The next message (lines ending in `\` continue), or nil at end of input.
    private func readMessage() -> String? {
        var parts: [String] = []
        while true {
            switch nextLine(prompt: parts.isEmpty ? "> " : ". ") {
            case .end:
                Terminal.write("\n")
                return nil
            case .interrupted:
                Terminal.write("\n")
                Terminal.status("(Ctrl-C stops an answer; /exit or Ctrl-D quits)")
                parts.removeAll()
            case .text(let line):
                if line.hasSuffix("\\") {
                    parts.append(String(line.dropLast()))
                    continue
                }
                parts.append(line)
                let message = parts.joined(separator: "\n").trimmingWhitespace
                parts.removeAll()
                if message.isEmpty { continue }
                editor?.remember(message)
                return message
            }
        }
    }

    // MARK: - Commands

    /// Runs a /command; false means quit.
    func handleCommand(_ line: String) -> Bool {
        let name = String(line.prefix { $0 != " " && $0 != "\n" })
        let argument = String(line.dropFirst(name.count)).trimmingWhitespace
        do {
            switch name {
            case "/exit", "/quit", "/bye":
                return false
            case "/clear":
                conversation.clear()
                Terminal.status("(conversation cleared)")
            case "/system":
                conversation.systemPrompt = argument.isEmpty ? nil : argument
                Terminal.status(argument.isEmpty ? "(system prompt removed)" : "(system prompt set)")
            case "/set":
                try set(argument)
            case "/save":
                try save(to: argument)
            case "/load":
                try load(from: argument)
            case "/help", "/?":
                Terminal.status(Self.help)
            default:
                Terminal.status("unknown command \(name); /help lists the commands")
            }
        } catch {
            Terminal.status("error: \(error)")
        }
        return true
    }

    /// `/set NAME VALUE` (Ollama's `/set parameter NAME VALUE` too); `/set` alone lists the values.
    private func set(_ argument: String) throws {
        var words = argument.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if words.first == "parameter" { words.removeFirst() }
        guard !words.isEmpty else {
            let p = parameters
            Terminal.status(
                "temp \(p.temperature), top-k \(p.topK), top-p \(p.topP), min-p \(p.minP), repeat-penalty \(p.repetitionPenalty), "
                    + "repeat-last-n \(p.penaltyWindow), frequency-penalty \(p.frequencyPenalty), presence-penalty \(p.presencePenalty), "
                    + "seed \(p.seed), n \(limit == Int.max ? -1 : limit)")
            return
        }
        guard words.count == 2 else { throw ChatError("usage: /set NAME VALUE, for example /set temp 0.7") }
        let (name, text) = (words[0], words[1])
        var p = parameters
        func number<T: LosslessStringConvertible>(_: T.Type) throws -> T {
            guard let value = T(text) else { throw ChatError("/set \(name) \(text): expected a number") }
            return value
        }
        switch name {
        case "temp", "temperature": p.temperature = max(0, try number(Float.self))
        case "top-k", "top_k": p.topK = max(0, try number(Int.self))
        case "top-p", "top_p": p.topP = try number(Float.self)
        case "min-p", "min_p": p.minP = try number(Float.self)
        case "repeat-penalty", "repeat_penalty": p.repetitionPenalty = try number(Float.self)
        case "repeat-last-n", "repeat_last_n": p.penaltyWindow = try number(Int.self)
        case "frequency-penalty", "frequency_penalty": p.frequencyPenalty = try number(Float.self)
        case "presence-penalty", "presence_penalty": p.presencePenalty = try number(Float.self)
        case "seed": p.seed = UInt64(bitPattern: try number(Int64.self))
        case "n", "n-predict", "num_predict":
            let n = try number(Int.self)
            guard n == -1 || n >= 1 else { throw ChatError("/set n \(n): expected ≥ 1, or -1 for no limit") }
            limit = n == -1 ? Int.max : n
            Terminal.status("(n = \(n))")
            return
        default:
            throw ChatError("/set: unknown setting \"\(name)\"; /help lists them")
        }
        do {
            try p.validate()
        } catch let error as SamplingError {
            throw ChatError("/set \(name) \(text): expected \(error.expected)")
        }
        parameters = p
        sampler = Sampler(p)
        Terminal.status("(\(name) = \(text))")
    }

    /// A saved conversation: the model it was had with and OpenAI-style messages (system first).
    struct SavedConversation: Codable {
        struct Message: Codable {
            var role: String
            var content: String
        }
        var model: String
        var messages: [Message]
    }

    private func save(to path: String) throws {
        guard !path.isEmpty else { throw ChatError("usage: /save FILE") }
        let system = conversation.systemPrompt.map { [SavedConversation.Message(role: "system", content: $0)] } ?? []
        let saved = SavedConversation(
            model: modelName, messages: system + conversation.turns.map { .init(role: $0.role, content: $0.content) })
        let text = try JSONText.encode(saved) + "\n"
        try writeTextFile(path, text)
        Terminal.status("(saved \(conversation.turns.count) messages to \(path))")
    }

    private func load(from path: String) throws {
        guard !path.isEmpty else { throw ChatError("usage: /load FILE") }
        let text = try readTextFile(path)
        let saved: SavedConversation
        do {
            saved = try JSONDecoder().decode(SavedConversation.self, from: Data(text.utf8))
        } catch {
            throw ChatError("\(path): not a saved conversation (expected JSON {\"model\": …, \"messages\": [{\"role\", \"content\"}…]})")
        }
        var messages = saved.messages
        var system: String?
        if messages.first?.role == "system" { system = messages.removeFirst().content }
        try conversation.restore(turns: messages.map { ChatMessage(role: $0.role, content: $0.content) })
        conversation.systemPrompt = system
        let note = saved.model == modelName ? "" : " (saved with \(saved.model))"
        Terminal.status("(loaded \(messages.count) messages from \(path)\(note))")
    }

    // MARK: - Answers

    func respond(to message: String) {
        _ = Interrupts.take()
        do {
            let reply = try conversation.respond(
                to: message, sampler: &sampler, maxTokens: limit,
                onNotice: { Terminal.status("(\($0))") },
                onText: { piece in
                    Terminal.write(piece)
                    return !Interrupts.isRequested
                })
            Terminal.write("\n")
            Self.report(reply.stopReason, limit: limit)
        } catch {
            Terminal.write("\n")
            Terminal.status("error: \(error)")
        }
        _ = Interrupts.take()
    }

    static func report(_ reason: Conversation.StopReason, limit: Int) {
        switch reason {
        case .endOfTurn: break
        case .interrupted: Terminal.status("(answer stopped)")
        case .tokenLimit: Terminal.status("(answer cut at -n \(limit) tokens)")
        case .contextFull: Terminal.status("(context full: answer cut; the oldest exchanges will be dropped next turn)")
        }
    }
}

/// Writes `text` to `path` through a temporary file and a rename: an interrupted write never
/// leaves a half-written file in place of a good one.
func writeTextFile(_ path: String, _ text: String) throws {
    let temporary = path + ".tmp-\(getpid())"
    guard let handle = fopen(temporary, "wb") else {
        throw ValidationError("\(path): cannot write: \(String(cString: strerror(errno)))")
    }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
    let closed = fclose(handle) == 0
    guard written == bytes.count, closed, rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw ValidationError("\(path): cannot write: \(reason)")
    }
}
