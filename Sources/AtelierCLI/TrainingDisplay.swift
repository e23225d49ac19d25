import FoundationEssentials
import ModelInspection
import ModelStore
import Training

#if canImport(Glibc)
import Glibc
#endif

/// What `train gpt` shows while it runs: one line redrawn in place on a terminal (step, losses,
/// learning rate, tokens/s, ETA), plain lines every few seconds otherwise; and the metrics log, one
/// JSON object per step (plus one per evaluation) in NAME.metrics.jsonl.
final class TrainingDisplay: TrainingObserver {
    private let isTerminal = isatty(2) == 1
    private let quiet: Bool
    private let metrics: MetricsLog
    private var records: [LossCurve.Point] = []
    private var lastDraw = 0.0
    private var lastValidation: Double?
    private(set) var lastLoss = Double.nan
    private var rates: [Double] = []
    private var drewInPlace = false

    init(metricsPath: String, appending: Bool, quiet: Bool) {
        self.quiet = quiet
        metrics = MetricsLog(path: metricsPath, appending: appending)
    }

    func stepFinished(_ record: StepRecord) {
        lastLoss = record.loss
        rates.append(record.tokensPerSecond)
        records.append(LossCurve.Point(step: record.step, trainLoss: record.loss, validationLoss: nil))
        metrics.record(
            step: record.step,
            [
                "train_loss": record.loss, "lr": record.learningRate, "grad_norm": record.gradientNorm,
                "tokens_per_second": record.tokensPerSecond, "elapsed_seconds": record.elapsedSeconds,
            ])
        let now = TerminalProgress.monotonicClock()
        let interval = isTerminal ? 0.1 : 5
        guard !quiet, now - lastDraw >= interval || record.step == record.totalSteps || record.step == 1 else { return }
        lastDraw = now
        let remaining = Double(record.totalSteps - record.step) * record.elapsedSeconds / Double(max(record.step, 1))
        var line = "step \(record.step)/\(record.totalSteps)  loss \(Format.fixed(record.loss, 4))"
        if let lastValidation { line += "  val \(Format.fixed(lastValidation, 4))" }
        line +=
            "  lr \(scientific(record.learningRate))  \(Format.grouped(Int64(record.tokensPerSecond))) tok/s  "
            + "elapsed \(TrainingDisplay.duration(record.elapsedSeconds))  ETA \(TrainingDisplay.duration(remaining))"
        if isTerminal {
            Terminal.raw("\r\u{1B}[K" + line)
            drewInPlace = true
        } else {
            Terminal.status(line)
        }
    }

    func evaluated(step: Int, validationLoss: Double) {
        lastValidation = validationLoss
        if let last = records.indices.last { records[last].validationLoss = validationLoss }
        metrics.record(step: step, ["val_loss": validationLoss])
        guard !quiet else { return }
        endLine()
        Terminal.status("step \(step): validation loss \(Format.fixed(validationLoss, 4))")
    }

    func checkpointSaved(path: String, step: Int) {}

    func checkpointFailed(path: String, error: Error) {
        endLine()
        Terminal.warn("checkpoint not saved (\(error)); the previous checkpoint, if any, is intact")
    }

    func finish() {
        endLine()
        metrics.flush()
    }

    func history() -> [LossCurve.Point] { records }

    /// Mean of the reported rates after the first 10% of steps (warm-up excluded).
    func meanTokensPerSecond() -> Double {
        let tail = rates.dropFirst(rates.count / 10)
        return tail.isEmpty ? 0 : tail.reduce(0, +) / Double(tail.count)
    }

    private func endLine() {
        if drewInPlace {
            Terminal.raw("\n")
            drewInPlace = false
        }
    }

    private func scientific(_ value: Double) -> String {
        guard value > 0 else { return "0" }
        var exponent = 0
        var mantissa = value
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        return "\(Format.fixed(mantissa, 2))e\(exponent)"
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format2(total % 60)))s" }
        return "\(total / 3600)h\(String(format2(total / 60 % 60)))m"
    }

    private static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// The end-of-run numbers, as `--json` prints them.
struct TrainingSummary: Encodable {
    var steps: Int
    var trainLoss: Double
    var validationLoss: Double
    var validationPerplexity: Double
    var tokensPerSecond: Double
    var seconds: Double
    var peakResidentBytes: Int64?
    var model: String
    var sample: String

    enum CodingKeys: String, CodingKey {
        case steps, model, sample, seconds
        case trainLoss = "train_loss"
        case validationLoss = "val_loss"
        case validationPerplexity = "val_perplexity_llamacpp_rule"
        case tokensPerSecond = "tokens_per_second"
        case peakResidentBytes = "peak_rss_bytes"
    }

    func jsonLine() throws -> String { String(decoding: try JSONEncoder().encode(self), as: UTF8.self) }
}
