import GGUF

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else { throw ExportError("\(path) exists and is not a directory") }
            return
        }
        guard mkdir(path, 0o755) == 0 else { throw ExportError("cannot create directory \(path): \(String(cString: strerror(errno)))") }
    }
}

/// JSON text for the exports' small documents.
enum ExportJSON {
    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
