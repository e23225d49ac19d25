import FineTuning
import Foundation
import Testing

@Suite(.tags(.model)) struct BadDataTests {
    static let smol = Result { try RealTokenizers.load("smollm2-135m") }

    func problem(_ text: String, format: FineTuningDataFormat = .auto) throws -> String {
        let model = try Self.smol.get()
        let file = try ScratchFile(text)
        do {
            _ = try FineTuningDataset.load(path: file.path, format: format, tokenizer: model.tokenizer, chatFormat: model.chat, context: 64)
            return "no error"
        } catch let error as FineTuningDataError {
            #expect(error.path == file.path)
            return (error.line.map { "\($0): " } ?? "") + error.problem
        }
    }

    @Test func eachFaultNamesItsLineAndWhatWasExpected() throws {
        let good = #"{"text": "fine"}"#
        #expect(try problem("") == "the file is empty; expected one JSON object per line")
        #expect(try problem("\n  \n") == "no example to train on (only blank lines)")
        #expect(
            try problem(good + "\n{\"text\": \"a\",}") == "2: not valid JSON: unexpected '}'; expected a key in double quotes at column 14")
        #expect(
            try problem(good + "\n[1]")
                == "2: expected a JSON object with \"text\", \"messages\" or \"prompt\" and \"completion\"; got an array of 1")
        #expect(try problem(#"{"text": 5}"#) == "1: text: expected a string; got 5")
        #expect(try problem(#"{"prompt": "a"}"#) == "1: field \"completion\" is missing; expected a string")
        #expect(try problem(#"{"id": 3}"#) == "1: expected a \"text\", \"messages\" or \"prompt\"/\"completion\" key; found keys \"id\"")
        #expect(
            try problem(#"{"text": "a", "prompt": "b", "completion": "c"}"#)
                == "1: the keys of more than one format: prompt-completion and text; expected one")
        #expect(
            try problem(good + "\n" + #"{"prompt": "a", "completion": "b"}"#)
                == "2: a prompt-completion record; expected text records like the first line's")
        #expect(
            try problem(#"{"messages": [{"role": "robot", "content": "x"}]}"#)
                == "1: messages[0].role: \"robot\" is not a role; expected system, user, assistant")
        #expect(try problem(#"{"messages": [{"role": "user"}]}"#) == "1: field \"messages[0].content\" is missing; expected a string")
        #expect(
            try problem(#"{"messages": [{"role": "user", "content": [1]}]}"#)
                == "1: messages[0].content: expected a string; got an array of 1")
        #expect(
            try problem(#"{"messages": "hi"}"#)
                == "1: \"messages\": expected an array of {\"role\", \"content\"} objects; got the string \"hi\"")
        #expect(try problem(#"{"messages": []}"#) == "1: \"messages\": expected at least one message; got an empty array")
        #expect(try problem(#"{"text": "fine"}"#, format: .messages) == "1: a text record; expected messages records like the first line's")
    }

    @Test func invalidUTF8AndLongLines() throws {
        let model = try Self.smol.get()
        let file = try ScratchFile(
            bytes: Array(#"{"text": "ok"}"#.utf8) + [0x0A] + Array(#"{"text": "b"#.utf8) + [0xFF] + Array(#""}"#.utf8))
        #expect(throws: FineTuningDataError(path: file.path, line: 2, "not valid UTF-8: byte 0xFF at column 12")) {
            try FineTuningDataset.load(path: file.path, tokenizer: model.tokenizer, chatFormat: model.chat, context: 64)
        }
        let long = try ScratchFile(#"{"text": "ok"}"# + "\n" + #"{"text": ""# + String(repeating: "a", count: 200) + "\"}\n")
        #expect(throws: FineTuningDataError(path: long.path, line: 2, "the line is 212 bytes, more than the 100-byte limit")) {
            try FineTuningDataset.load(path: long.path, tokenizer: model.tokenizer, chatFormat: model.chat, context: 64, maxLineBytes: 100)
        }
        #expect(throws: FineTuningDataError(path: long.path, "the file is 228 bytes, more than the 100-byte limit for a data file")) {
            try FineTuningDataset.load(path: long.path, tokenizer: model.tokenizer, chatFormat: model.chat, context: 64, maxFileBytes: 100)
        }
        #expect(throws: FineTuningDataError(path: "/nonexistent/x.jsonl", "no such file")) {
            try FineTuningDataset.load(path: "/nonexistent/x.jsonl", tokenizer: model.tokenizer, chatFormat: model.chat, context: 64)
        }
    }

    @Test func skipBadLinesCountsThem() throws {
        let model = try Self.smol.get()
        let file = try ScratchFile(
            [#"{"text": "one"}"#, "not json", #"{"text": 1}"#, "", #"{"text": "two"}"#, #"{"prompt": "p", "completion": "c"}"#].joined(
                separator: "\r\n"))
        let dataset = try FineTuningDataset.load(
            path: file.path, tokenizer: model.tokenizer, chatFormat: model.chat, context: 64, skipBadLines: true)
        #expect(dataset.examples.map(\.line) == [1, 5])
        #expect(dataset.skipped == 3)
        #expect(dataset.skippedLines.map(\.line) == [2, 3, 6])
        #expect(dataset.format == .text)
    }
}
