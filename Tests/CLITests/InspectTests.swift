import Foundation
import GGUF
import Testing

/// `atelier inspect` on a hand-made file whose text fields carry terminal escape sequences: they are
/// shown escaped; --metadata lists every key; --template prints the template alone.
@Suite(.tags(.process)) struct InspectTests {
    /// A GGUF with metadata only (no tensors) — enough for inspect.
    static func writeFile(_ metadata: [(String, GGUFValue)]) throws -> String {
        let writer = GGUFWriter(metadata: GGUFMetadata(metadata))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("inspect-\(UUID().uuidString).gguf").path
        try Data(writer.serialize().bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let hostileName = "evil\u{1B}]0;owned\u{07}\u{1B}[2J name"
    static let template = "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\n{% endfor %}"

    static func sample() throws -> String {
        try writeFile([
            ("general.architecture", .string("llama")),
            ("general.name", .string(hostileName)),
            ("llama.context_length", .uint32(2048)),
            ("tokenizer.chat_template", .string(template)),
            ("tokenizer.ggml.scores", .array(.float32([0.5, -1, 2, 3, 4, 5, 6, 7, 8, 9]))),
        ])
    }

    @Test func escapeSequencesInFileTextAreShownEscaped() throws {
        let path = try Self.sample()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try AtelierProcess.run(["inspect", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("\u{1B}"))
        #expect(!result.stdout.contains("\u{07}"))
        #expect(result.stdout.contains(#"evil\u{1B}]0;owned\u{7}\u{1B}[2J name"#), "\(result.stdout)")
    }

    @Test func metadataListsEveryKeyWithTypeAndValue() throws {
        let path = try Self.sample()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try AtelierProcess.run(["inspect", "--metadata", path])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 1 + 5, "\(result.stdout)")  // header + one line per key
        #expect(!result.stdout.contains("\u{1B}"))
        #expect(lines.contains { $0.hasPrefix("llama.context_length") && $0.contains("UINT32") && $0.hasSuffix("2048") })
        // 10 scores, 8 shown, the rest counted.
        #expect(lines.contains { $0.contains("FLOAT32[10]") && $0.hasSuffix("[0.5, -1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, … 2 more]") })
        #expect(lines.contains { $0.hasPrefix("tokenizer.chat_template") && $0.contains(#"\n{{ m.content }}\n"#) })

        let json = try AtelierProcess.run(["inspect", "--metadata", "--json", path])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(
            entries.map { $0["key"] as? String } == [
                "general.architecture", "general.name", "llama.context_length", "tokenizer.chat_template", "tokenizer.ggml.scores",
            ])
        #expect(entries[1]["value"] as? String == Self.hostileName)
        #expect(entries[2]["value"] as? Int == 2048)
        #expect((entries[4]["value"] as? [String: Any])?["count"] as? Int == 10)
    }

    @Test func templatePrintsTheTemplateAlone() throws {
        let path = try Self.sample()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try AtelierProcess.run(["inspect", "--template", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == Self.template + "\n")

        let bare = try Self.writeFile([("general.architecture", .string("llama"))])
        defer { try? FileManager.default.removeItem(atPath: bare) }
        let missing = try AtelierProcess.run(["inspect", "--template", bare])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("has no chat template (tokenizer.chat_template)"), "\(missing.stderr)")
    }
}
