import ChatTemplates
import JSON

/// The jsonl layouts mlx-lm and Hugging Face use for supervised fine-tuning.
public enum FineTuningDataFormat: String, Sendable, CaseIterable, Codable {
    /// Decided by the first record: `messages`, `prompt`/`completion`, or `text`.
    case auto
    /// `{"text": "…"}`: every token trained.
    case text
    /// `{"messages": [{"role": "system"|"user"|"assistant", "content": "…"}, …]}`, rendered with the
    /// model's chat template: the assistant's answers trained.
    case messages
    /// `{"prompt": "…", "completion": "…"}`: the completion trained.
    case promptCompletion = "prompt-completion"
}

/// One jsonl line's content, checked field by field. Keys other than the format's own are
/// ignored (data sets often carry ids or metadata beside them).
enum DataRecord: Equatable, Sendable {
    case text(String)
    case messages([ChatMessage])
    case promptCompletion(prompt: String, completion: String)

    static let roles = ["system", "user", "assistant"]

    var format: FineTuningDataFormat {
        switch self {
        case .text: .text
        case .messages: .messages
        case .promptCompletion: .promptCompletion
        }
    }

    /// The record in `value`, which must be of `format` (`.auto`: whichever the keys say).
    static func parse(_ value: JSONValue, format: FineTuningDataFormat) throws(RecordError) -> DataRecord {
        guard case .object(let members) = value else {
            throw RecordError("expected a JSON object with \"text\", \"messages\" or \"prompt\" and \"completion\"; got \(value.described)")
        }
        let found = Self.format(of: members)
        guard let found else {
            throw RecordError(
                "expected a \"text\", \"messages\" or \"prompt\"/\"completion\" key; found "
                    + (members.isEmpty ? "an empty object" : "keys " + members.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")))
        }
        if found.count > 1 {
            throw RecordError("the keys of more than one format: \(found.map(\.rawValue).joined(separator: " and ")); expected one")
        }
        let kind = found[0]
        if format != .auto && kind != format {
            throw RecordError("a \(kind.rawValue) record; expected \(format.rawValue) records like the first line's")
        }
        switch kind {
        case .text:
            return .text(try string(members, "text"))
        case .promptCompletion:
            return .promptCompletion(prompt: try string(members, "prompt"), completion: try string(members, "completion"))
        case .messages:
            guard case .array(let list) = members["messages"]! else {
                throw RecordError(
                    "\"messages\": expected an array of {\"role\", \"content\"} objects; got \(members["messages"]!.described)")
            }
            guard !list.isEmpty else { throw RecordError("\"messages\": expected at least one message; got an empty array") }
            var messages: [ChatMessage] = []
            for (i, item) in list.enumerated() {
                guard case .object(let fields) = item else {
                    throw RecordError("messages[\(i)]: expected an object with \"role\" and \"content\"; got \(item.described)")
                }
                let role = try string(fields, "role", path: "messages[\(i)].")
                guard roles.contains(role) else {
                    throw RecordError("messages[\(i)].role: \"\(role)\" is not a role; expected \(roles.joined(separator: ", "))")
                }
                let content = try string(fields, "content", path: "messages[\(i)].")
                guard !content.isEmpty else { throw RecordError("messages[\(i)].content: expected text; got an empty string") }
                messages.append(ChatMessage(role: role, content: content))
            }
            return .messages(messages)
        case .auto:
            fatalError("format(of:) never answers .auto")
        }
    }

    private static func format(of members: [String: JSONValue]) -> [FineTuningDataFormat]? {
        var kinds: [FineTuningDataFormat] = []
        if members["messages"] != nil { kinds.append(.messages) }
        if members["prompt"] != nil || members["completion"] != nil { kinds.append(.promptCompletion) }
        if members["text"] != nil { kinds.append(.text) }
        return kinds.isEmpty ? nil : kinds
    }

    private static func string(_ members: [String: JSONValue], _ key: String, path: String = "") throws(RecordError) -> String {
        guard let value = members[key] else { throw RecordError("field \"\(path)\(key)\" is missing; expected a string") }
        guard case .string(let text) = value else { throw RecordError("\(path)\(key): expected a string; got \(value.described)") }
        return text
    }
}

/// What is wrong with one record, before the file and line are known.
struct RecordError: Error {
    let problem: String
    init(_ problem: String) { self.problem = problem }
}
