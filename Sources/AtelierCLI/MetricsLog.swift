import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A training run's metrics log (NAME.metrics.jsonl): one JSON object a line, appended to when a
/// run resumes. A log that cannot be opened is a warning, not a failed run.
final class MetricsLog {
    private let file: UnsafeMutablePointer<FILE>?

    init(path: String, appending: Bool) {
        file = fopen(path, appending ? "a" : "w")
        if file == nil {
            Terminal.warn("cannot write \(path): \(String(cString: strerror(errno))); continuing without a metrics log")
        }
    }

    deinit { if let file { fclose(file) } }

    /// Writes one line: the step, then `fields` in order, each value a JSON number (null when not finite).
    func record(step: Int, _ fields: KeyValuePairs<String, Double>) {
        guard let file else { return }
        let members = fields.map { key, value in "\"\(key)\":" + (value.isFinite ? "\(value)" : "null") }
        fputs("{\"step\":\(step)," + members.joined(separator: ",") + "}\n", file)
    }

    func flush() { if let file { fflush(file) } }
}
