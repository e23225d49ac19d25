import ArgumentParser
import Chat
import Datasets
import FineTuning
import ModelInspection
import ModelStore
import Models

#if canImport(Glibc)
import Glibc
#endif

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy of a model on labelled conversations (jsonl, messages format).",
        discussion: """
            Each line's last message is the assistant's gold label. The model's answer is the label whose
            tokens (the label and the end-of-turn token) it finds most probable after the conversation.
              atelier evaluate smollm2-135m --data sentiment
              atelier evaluate MODEL --data test.jsonl --labels positive,negative --limit 200 --json
            """)

    @Argument(help: "A stored or built-in model name, or a .gguf path.")
    var model: String

    @Option(help: "A jsonl file of conversations ending in a label, or \"sentiment\" (its test split).")
    var data: String

    @Option(help: "The labels, comma-separated (default with --data sentiment: positive,negative).")
    var labels: String?

    @Option(help: "Evaluate only the first N examples.")
    var limit: Int?

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit \(limit): expected at least 1") }
        if labels == nil && data != SentimentDataset.name { throw ValidationError("missing --labels A,B,… (the answers to choose from)") }
    }

    func run() throws {
        var path = data
        var choices = labels.map { $0.split(separator: ",").map { String($0) } } ?? SentimentDataset.labels
        if data == SentimentDataset.name && !isFile(data) {
            path = try SentimentDataset.prepare(progress: TerminalProgress()).test
            if labels == nil { choices = SentimentDataset.labels }
        }
        let loaded = try runtime.load(model)
        let chat = try ChatFormat(metadata: loaded.file.metadata, tokenizer: loaded.tokenizer, source: model)
        let session = try runtime.session(for: loaded, defaultContext: 1024, logitRows: 8)
        let scorer = try LabelScorer(session: session, tokenizer: loaded.tokenizer, chatFormat: chat, labels: choices)
        let result = try LabelEvaluation.run(path: path, scorer: scorer, limit: limit) { done, total in
            if !json && (done % 50 == 0 || done == total) { Terminal.status("[\(done)/\(total)]") }
        }
        if json { return print(try JSONText.encode(Report(result))) }
        print("\(result.examples) examples, \(Format.fixed(result.seconds, 1)) s")
        print("accuracy: \(Format.fixed(100 * result.accuracy, 2)) % (\(result.correct)/\(result.examples))")
        let width = max(10, choices.map(\.count).max()! + 2)
        print("gold \\ predicted".padding(width + 8) + choices.map { $0.padding(width) }.joined())
        for (g, label) in choices.enumerated() {
            let row = result.confusion[g]
            let count = row.reduce(0, +)
            print((label + " (\(count))").padding(width + 8) + row.map { String($0).padding(width) }.joined())
        }
    }

    private func isFile(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The JSON shape of a result.
    struct Report: Encodable {
        var examples: Int
        var correct: Int
        var accuracy: Double
        var seconds: Double
        var labels: [String]
        /// confusion[gold][predicted].
        var confusion: [[Int]]
        var perLabel: [String: Int]

        init(_ r: LabelEvaluation) {
            examples = r.examples
            correct = r.correct
            accuracy = r.accuracy
            seconds = r.seconds
            labels = r.labels
            confusion = r.confusion
            perLabel = Dictionary(uniqueKeysWithValues: zip(r.labels, r.confusion.map { $0.reduce(0, +) }))
        }
    }
}
