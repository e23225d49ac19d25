import Sampling

#if canImport(Glibc)
import Glibc
#endif

/// llama.cpp's `--kl-divergence-base` file (tools/perplexity in llama.cpp): the tokens of a
/// perplexity run and, for every scored position, the log-probabilities of the whole vocabulary in
/// 16 bits. Reading and writing the same bytes lets users compare Atelier and llama.cpp, and any
/// quantization, against one base the way they already do.
///
/// Layout, little-endian: the 8 bytes `_logits_`; UInt32 n_ctx; Int32 n_vocab; Int32 n_chunk;
/// Int32 tokens[n_ctx × n_chunk] (before the BOS substitution); then per chunk, per scored position
/// (n_ctx/2 … n_ctx−2), a record of `recordWords` UInt16: Float32 scale, Float32 min_log_prob, then
/// one code per token, log p = scale × code + min_log_prob (code 0 for logits more than 16 below
/// the maximum), padded to an even count.
public enum LogProbabilityFile {
    static let magic: [UInt8] = Array("_logits_".utf8)
    static let headerBytes = 8 + 4 + 4 + 4
    /// The span of logits below the maximum a record can represent.
    static let range: Float = 16

    /// UInt16 words in one position's record.
    public static func recordWords(vocabularySize: Int) -> Int { 2 * ((vocabularySize + 1) / 2) + 4 }

    /// Positions scored per chunk of `contextLength` tokens.
    public static func scoredPerChunk(contextLength: Int) -> Int { contextLength - 1 - contextLength / 2 }

    /// Encodes one position's logits into `record` (`recordWords` words).
    public static func encode(_ logits: UnsafeBufferPointer<Float>, into record: UnsafeMutableBufferPointer<UInt16>) {
        var maxLogit = -Float.infinity, minLogit = Float.infinity
        for v in logits {
            maxLogit = max(maxLogit, v)
            minLogit = min(minLogit, v)
        }
        minLogit = max(minLogit, maxLogit - range)
        let logSumExp = Float(logSumExp(logits))
        let scale = (maxLogit - minLogit) / 65535
        let header = UnsafeMutableRawPointer(record.baseAddress!)
        header.storeBytes(of: scale.bitPattern.littleEndian, as: UInt32.self)
        header.storeBytes(of: (minLogit - logSumExp).bitPattern.littleEndian, toByteOffset: 4, as: UInt32.self)
        let codes = record.baseAddress! + 4
        for i in 0..<(record.count - 4) { codes[i] = 0 }
        guard scale > 0 else { return }
        let inverse = 1 / scale
        for (i, v) in logits.enumerated() where v > minLogit {
            codes[i] = UInt16((inverse * (v - minLogit)).rounded(.toNearestOrEven)).littleEndian
        }
    }

    /// Writes a file as `llama-perplexity --kl-divergence-base` (with a text) does.
    public final class Writer {
        let handle: UnsafeMutablePointer<FILE>
        let path: String
        let recordWords: Int
        private var record: UnsafeMutableBufferPointer<UInt16>

        public init(path: String, contextLength: Int, vocabularySize: Int, chunks: Int, tokens: ArraySlice<Int32>) throws {
            precondition(tokens.count == contextLength * chunks, "the file holds the tokens of whole chunks")
            guard let handle = fopen(path, "wb") else {
                throw ModelError("\(path): cannot create: \(String(cString: strerror(errno)))")
            }
            self.handle = handle
            self.path = path
            recordWords = LogProbabilityFile.recordWords(vocabularySize: vocabularySize)
            record = .allocate(capacity: recordWords)
            var header = LogProbabilityFile.magic
            for value in [UInt32(contextLength), UInt32(vocabularySize), UInt32(chunks)] {
                withUnsafeBytes(of: value.littleEndian) { header.append(contentsOf: $0) }
            }
            try write(header)
            try write(tokens.flatMap { token in withUnsafeBytes(of: token.littleEndian) { Array($0) } })
        }

        deinit {
            record.deallocate()
            fclose(handle)
        }

        /// Appends the record of the next scored position.
        public func append(_ logits: UnsafeBufferPointer<Float>) throws {
            LogProbabilityFile.encode(logits, into: record)
            try write(UnsafeRawBufferPointer(record))
        }

        /// Flushes to disk; an error (a full disk) names the file.
        public func finish() throws {
            guard fflush(handle) == 0 else { throw ModelError("\(path): write failed: \(String(cString: strerror(errno)))") }
        }

        private func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }

        private func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard bytes.count == 0 || fwrite(bytes.baseAddress!, 1, bytes.count, handle) == bytes.count else {
                throw ModelError("\(path): write failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Reads a base file for `--kl-divergence`, checking its header and size before anything is
    /// allocated from it, and its records one position at a time.
    public final class Reader {
        public let path: String
        public let contextLength: Int
        public let vocabularySize: Int
        public let chunks: Int
        public let tokens: [Int32]
        let handle: UnsafeMutablePointer<FILE>
        let recordWords: Int
        private let record: UnsafeMutableBufferPointer<UInt16>

        public init(path: String) throws {
            guard let handle = fopen(path, "rb") else {
                throw ModelError("\(path): cannot open: \(String(cString: strerror(errno)))")
            }
            var info = stat()
            guard fstat(fileno(handle), &info) == 0 else {
                fclose(handle)
                throw ModelError("\(path): cannot read its size: \(String(cString: strerror(errno)))")
            }
            let size = Int(info.st_size)
            var header = [UInt8](repeating: 0, count: LogProbabilityFile.headerBytes)
            guard fread(&header, 1, header.count, handle) == header.count, Array(header[0..<8]) == LogProbabilityFile.magic else {
                fclose(handle)
                throw ModelError(
                    "\(path): not a llama.cpp log-probability file (expected it to start with \"_logits_\", as `llama-perplexity --kl-divergence-base` writes)"
                )
            }
            func field(_ offset: Int) -> UInt32 {
                header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
            }
            let context = Int(field(8)), vocabulary = Int(Int32(bitPattern: field(12))), chunks = Int(Int32(bitPattern: field(16)))
            guard context >= 4, context <= 1 << 24, vocabulary >= 1, vocabulary <= 1 << 24, chunks >= 1, chunks <= 1 << 24 else {
                fclose(handle)
                throw ModelError(
                    "\(path): header says n_ctx \(context), n_vocab \(vocabulary), n_chunk \(chunks); expected n_ctx 4…16777216, n_vocab and n_chunk 1…16777216"
                )
            }
            let words = LogProbabilityFile.recordWords(vocabularySize: vocabulary)
            let expected =
                LogProbabilityFile.headerBytes + 4 * context * chunks
                + 2 * words * LogProbabilityFile.scoredPerChunk(contextLength: context) * chunks
            guard size == expected else {
                fclose(handle)
                throw ModelError(
                    "\(path): \(size) bytes, but n_ctx \(context), n_vocab \(vocabulary) and n_chunk \(chunks) need \(expected) (truncated or not from this format)"
                )
            }
            var tokens = [Int32](repeating: 0, count: context * chunks)
            guard fread(&tokens, 4, tokens.count, handle) == tokens.count else {
                fclose(handle)
                throw ModelError("\(path): cannot read the tokens: \(String(cString: strerror(errno)))")
            }
            self.path = path
            self.handle = handle
            contextLength = context
            vocabularySize = vocabulary
            self.chunks = chunks
            self.tokens = tokens.map { Int32(littleEndian: $0) }
            recordWords = words
            record = .allocate(capacity: words)
        }

        deinit {
            record.deallocate()
            fclose(handle)
        }

        /// The next position's base log-probabilities: valid until the next call.
        public func next() throws -> BaseLogProbabilities {
            guard fread(record.baseAddress!, 2, recordWords, handle) == recordWords else {
                throw ModelError("\(path): ends before its last record")
            }
            let header = UnsafeRawPointer(record.baseAddress!)
            return BaseLogProbabilities(
                scale: Float(bitPattern: UInt32(littleEndian: header.loadUnaligned(as: UInt32.self))),
                minimum: Float(bitPattern: UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 4, as: UInt32.self))),
                codes: UnsafeBufferPointer(start: record.baseAddress! + 4, count: vocabularySize))
        }
    }
}

/// One position of a base file: log p(token) = scale × codes[token] + minimum.
public struct BaseLogProbabilities {
    public let scale: Float
    public let minimum: Float
    public let codes: UnsafeBufferPointer<UInt16>

    @inline(__always) public func logProbability(_ token: Int) -> Float { scale * Float(UInt16(littleEndian: codes[token])) + minimum }
}
