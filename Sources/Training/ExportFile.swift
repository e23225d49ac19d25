import GGUF
import HuggingFaceFormats

/// Writes export files atomically: to a temporary file beside the target, flushed, then renamed,
/// so a reader never sees half a model.
enum ExportFile {
    static func write(_ bytes: [UInt8], to path: String) throws {
        do throws(AtomicFile.Failure) {
            try AtomicFile.write(bytes, to: path)
        } catch {
            switch error {
            case .create(let temporary, let reason): throw ExportError("cannot create \(temporary): \(reason)")
            case .write(let reason): throw ExportError("cannot write \(path): \(reason)")
            case .rename(let temporary, let reason): throw ExportError("cannot rename \(temporary) to \(path): \(reason)")
            }
        }
    }

    static func write(_ text: String, to path: String) throws { try write(Array(text.utf8), to: path) }

    /// Creates `path` as a directory unless it already is one.
    static func makeDirectory(_ path: String) throws {
        if let reason = ExportDirectory.make(path) { throw ExportError(reason) }
    }
}
