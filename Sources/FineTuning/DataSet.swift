import Chat
import JSON
import Tokenizers

/// A jsonl fine-tuning data file as token sequences with training masks (`ExampleEncoder` says
/// how each format is tokenized and masked).
///
/// Examples longer than `context` tokens are cut to their first `context` tokens (`truncated`);
/// examples with no trained token left are dropped (`dropped`). Blank lines are ignored. A line
/// that is not a JSON object of the file's format — invalid UTF-8 or JSON, missing or wrongly typed
/// fields, an unknown role, a line over the length limit — stops the load with an error naming the
/// file and line, or with `skipBadLines` is skipped and counted (`skipped`, the first few kept in
/// `skippedLines`).
public struct FineTuningDataset: Sendable {
    public static let defaultMaxFileBytes: Int64 = 1 << 30
    public static let defaultMaxLineBytes = 8 << 20
    /// How many skipped lines' errors are kept for the user to see.
    public static let skippedLinesKept = 5

    public let path: String
    /// The format the records have (`.auto` resolved by the first record).
    public let format: FineTuningDataFormat
    public let context: Int
    public let examples: [FineTuningExample]
    public let truncated: Int
    public let dropped: Int
    public let skipped: Int
    public let skippedLines: [FineTuningDataError]

    public var tokenCount: Int { examples.reduce(0) { $0 + $1.tokens.count } }
    public var trainedTokenCount: Int { examples.reduce(0) { $0 + $1.trainedCount } }

    /// `chatFormat` is needed for `messages` records only (`ChatFormat(metadata:tokenizer:source:)`
    /// of the model being tuned).
    public static func load(
        path: String, format: FineTuningDataFormat = .auto, tokenizer: any Tokenizer, chatFormat: ChatFormat?, context: Int,
        trainOnPrompt: Bool = false, skipBadLines: Bool = false, maxFileBytes: Int64 = defaultMaxFileBytes,
        maxLineBytes: Int = defaultMaxLineBytes
    ) throws -> FineTuningDataset {
        guard context >= 2 else { throw FineTuningDataError(path: path, "context \(context): expected at least 2 tokens") }
        let encoder = ExampleEncoder(tokenizer: tokenizer, chatFormat: chatFormat, trainOnPrompt: trainOnPrompt)
        var resolved = format
        var examples: [FineTuningExample] = []
        var truncated = 0, dropped = 0, skipped = 0
        var skippedLines: [FineTuningDataError] = []
        try DataLines.forEach(in: path, maxFileBytes: maxFileBytes, maxLineBytes: maxLineBytes) { number, bytes, length in
            do throws(RecordError) {
                guard let bytes else { throw RecordError("the line is \(length) bytes, more than the \(maxLineBytes)-byte limit") }
                if bytes.allSatisfy({ [0x20, 0x09, 0x0D].contains($0) }) { return }
                let record = try DataRecord.parse(try parseJSON(bytes), format: resolved)
                if resolved == .auto { resolved = record.format }
                if record.format == .messages && chatFormat == nil {
                    throw RecordError("a messages record, but the model's chat format was not given")
                }
                var example = try encoder.encode(record, line: number)
                if example.tokens.count > context {
                    truncated += 1
                    example.tokens.removeLast(example.tokens.count - context)
                    example.trained.removeLast(example.trained.count - context)
                }
                if example.trainedCount == 0 {
                    dropped += 1
                } else {
                    examples.append(example)
                }
            } catch {
                let problem = FineTuningDataError(path: path, line: number, error.problem)
                guard skipBadLines else { throw problem }
                skipped += 1
                if skippedLines.count < skippedLinesKept { skippedLines.append(problem) }
            }
        }
        guard !examples.isEmpty else {
            var counts: [String] = []
            if dropped > 0 { counts.append("\(dropped) without a trained token") }
            if skipped > 0 { counts.append("\(skipped) bad lines skipped") }
            throw FineTuningDataError(
                path: path,
                "no example to train on" + (counts.isEmpty ? " (only blank lines)" : " (" + counts.joined(separator: ", ") + ")"))
        }
        return FineTuningDataset(
            path: path, format: resolved, context: context, examples: examples, truncated: truncated, dropped: dropped, skipped: skipped,
            skippedLines: skippedLines)
    }

    public init(
        path: String, format: FineTuningDataFormat, context: Int, examples: [FineTuningExample], truncated: Int = 0, dropped: Int = 0,
        skipped: Int = 0, skippedLines: [FineTuningDataError] = []
    ) {
        self.path = path
        self.format = format
        self.context = context
        self.examples = examples
        self.truncated = truncated
        self.dropped = dropped
        self.skipped = skipped
        self.skippedLines = skippedLines
    }
}

/// One line as a JSON value, after checking it is UTF-8 (the parser itself would substitute).
func parseJSON(_ bytes: ArraySlice<UInt8>) throws(RecordError) -> JSONValue {
    if let bad = firstInvalidUTF8(bytes) {
        throw RecordError(
            "not valid UTF-8: byte 0x\(String(bytes[bytes.startIndex + bad], radix: 16, uppercase: true)) at column \(bad + 1)")
    }
    do { return try JSONParser.parse(Array(bytes)) } catch {
        throw RecordError("not valid JSON: \(error.problem) at column \(error.column)")
    }
}

/// The offset of the first byte that is not part of valid UTF-8, or nil.
func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int? {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
        switch parser.parseScalar(from: &iterator) {
        case .valid(let encoded): offset += encoded.count
        case .emptyInput: return nil
        case .error: return offset
        }
    }
}
