import Columns
import Threading

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Reads CSV files into a `Table`, in parallel.
///
/// 1. The file (memory-mapped, or inflated when gzip) is cut into chunks at record boundaries:
///    each cut point moves to the next newline that is outside quotes, which is known from the
///    parity of the quote characters before it (counted per chunk in parallel, then summed) — a
///    newline inside a quoted field never splits a record.
/// 2. Each chunk is parsed by one worker into typed columns, each column's kind inferred as it
///    goes (integer → double, date → timestamp, anything else → text; never failing mid-file).
/// 3. Kinds are merged over all chunks of all files; chunks that read a column narrower than the
///    final kind widen it (integers to doubles), or re-read that column as text.
/// 4. String columns whose chunks stayed dictionary-encoded get one dictionary for the whole table
///    (the group-by engine then groups on codes); others are string views.
public enum CSVReader {
    public static func read(path: String, options: CSVReadOptions = CSVReadOptions(), pool: ThreadPool) throws -> Table {
        try read(paths: expandGlob(path), options: options, pool: pool)
    }

    public static func read(paths: [String], options: CSVReadOptions = CSVReadOptions(), pool: ThreadPool) throws -> Table {
        guard !paths.isEmpty else { throw CSVError("no CSV files to read") }
        var files: [ParsedFile] = []
        for path in paths { files.append(try parseFile(path, options: options, pool: pool)) }
        // Columns matched by name across files, in order of first appearance.
        var names: [String] = []
        var seen: [String: Int] = [:]
        for file in files {
            for name in file.names where seen[name] == nil {
                seen[name] = names.count
                names.append(name)
            }
        }
        var kinds = [FieldKind](repeating: .empty, count: names.count)
        for file in files {
            for (index, name) in file.names.enumerated() {
                for chunk in file.chunks { kinds[seen[name]!] = FieldKind.merge(kinds[seen[name]!], chunk.columns[index].kind) }
            }
        }
        for (index, name) in names.enumerated() {
            if let forced = options.columnTypes[name]
                ?? options.columnTypes.first(where: { $0.key.lowercased() == name.lowercased() })?.value
            {
                kinds[index] = ColumnAssembly.kind(of: forced)
            }
        }
        // Re-read as text where a chunk's column is not text but the column is.
        for fileIndex in files.indices {
            let file = files[fileIndex]
            let rechecked = try pool.morsels(file.chunks.count) { chunkIndex, _ in
                var chunk = file.chunks[chunkIndex]
                var wanted = Set<Int>()
                for (index, name) in file.names.enumerated() {
                    let column = chunk.columns[index]
                    if kinds[seen[name]!] == .text && (column.needsText || (column.kind != .text && column.kind != .empty)) {
                        wanted.insert(index)
                    }
                }
                guard !wanted.isEmpty else { return chunk }
                do {
                    try chunk.parser.collectText(wanted, into: &chunk.columns)
                } catch {
                    throw file.error(error)
                }
                return chunk
            }
            files[fileIndex].chunks = rechecked
        }
        let schema = Schema(names.enumerated().map { Field($0.element, kinds[$0.offset].dataType) })
        // One dictionary per string column when every chunk kept its dictionary.
        var dictionaries: [Int: (StringArray, [[[UInt32]]])] = [:]
        for (index, name) in names.enumerated() where kinds[index] == .text {
            var allEncoded = true
            for file in files {
                guard let position = file.names.firstIndex(of: name) else { continue }
                for chunk in file.chunks where chunk.columns[position].interner == nil && chunk.rows > 0 { allEncoded = false }
            }
            guard allEncoded else { continue }
            var global = StringInterner()
            var remaps: [[[UInt32]]] = []
            for fileIndex in files.indices {
                var fileRemaps: [[UInt32]] = []
                guard let position = files[fileIndex].names.firstIndex(of: name) else {
                    remaps.append([])
                    continue
                }
                for chunkIndex in files[fileIndex].chunks.indices {
                    guard var interner = files[fileIndex].chunks[chunkIndex].columns[position].interner else {
                        fileRemaps.append([])
                        continue
                    }
                    let local = interner.finish()
                    files[fileIndex].chunks[chunkIndex].columns[position].interner = nil
                    fileRemaps.append((0..<local.count).map { code in local.withBytes(code) { global.intern($0) } })
                }
                remaps.append(fileRemaps)
            }
            dictionaries[index] = (global.finish(), remaps)
        }
        var batches: [RecordBatch] = []
        for (fileIndex, file) in files.enumerated() {
            let built = try pool.morsels(file.chunks.count) { chunkIndex, _ -> RecordBatch in
                let chunk = file.chunks[chunkIndex]
                let columns = names.enumerated().map { index, name -> Column in
                    guard let position = file.names.firstIndex(of: name) else {
                        return Column.nulls(schema.fields[index].type, count: chunk.rows)
                    }
                    let dictionary = dictionaries[index].map { ($0.0, $0.1[fileIndex][chunkIndex]) }
                    return ColumnAssembly.column(chunk.columns[position], kind: kinds[index], rows: chunk.rows, dictionary: dictionary)
                }
                return RecordBatch(schema: schema, columns: columns, rowCount: chunk.rows)
            }
            batches += built.filter { $0.rowCount > 0 }
        }
        return Table(schema: schema, batches: batches)
    }

    struct ParsedChunk: @unchecked Sendable {
        var parser: ChunkParser
        var columns: [ChunkColumn]
        var rows: Int
    }

    struct ParsedFile: @unchecked Sendable {
        let source: CSVBytes
        let names: [String]
        let bodyStart: Int
        let headerLines: Int
        var chunks: [ParsedChunk]

        /// A parser failure as a message naming the file, the line and the field.
        func error(_ error: any Error) -> CSVError {
            guard let failure = error as? ChunkParser.Failure else { return error as? CSVError ?? CSVError("\(source.path): \(error)") }
            let line = CSVReader.lineNumber(source.buffer, failure.offset)
            return CSVError(
                "\(source.path):\(line): \(failure.message)"
                    + (failure.field.map { " (column \($0), \"\(names.indices.contains($0 - 1) ? names[$0 - 1] : "?")\")" } ?? ""))
        }
    }

    static func lineNumber(_ buffer: UnsafeRawBufferPointer, _ offset: Int) -> Int {
        var line = 1
        for index in 0..<min(offset, buffer.count) where buffer[index] == 0x0A { line += 1 }
        return line
    }

    static func parseFile(_ path: String, options: CSVReadOptions, pool: ThreadPool) throws -> ParsedFile {
        let source = try CSVBytes(path: path, maximumDecompressed: options.maximumDecompressedBytes, pool: pool)
        let buffer = source.buffer
        guard buffer.count > 0, let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw CSVError("\(path): the file is empty (no header, no rows)")
        }
        var start = 0
        if buffer.count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { start = 3 }
        let delimiter = options.delimiter ?? detectDelimiter(base + start, min(buffer.count - start, 64 << 10), quote: options.quote)
        let nullMarkers = options.nullMarkers.map { Array($0.utf8) }
        // The header (or the first record, to count columns).
        let probe = ChunkParser(
            bytes: base, start: start, end: buffer.count, columnCount: 1, delimiter: delimiter, quote: options.quote,
            nullMarkers: nullMarkers,
            padMissing: false, maximumLineBytes: options.maximumLineBytes, forcedKinds: [nil])
        let fields = UnsafeMutableBufferPointer<ChunkParser.Field>.allocate(capacity: 1 << 14)
        defer { fields.deallocate() }
        var scanner = probe.fieldEnds()
        let (afterHeader, columnCount): (Int, Int)
        do {
            (afterHeader, columnCount) = try probe.record(at: start, into: fields, scanner: &scanner)
        } catch {
            throw ParsedFile(source: source, names: [], bodyStart: start, headerLines: 0, chunks: []).error(error)
        }
        guard columnCount <= fields.count else { throw CSVError("\(path): more than \(fields.count) columns") }
        var names: [String] = []
        if options.header {
            var used = Set<String>()
            for index in 0..<columnCount {
                let field = fields[index]
                var name = String(decoding: UnsafeBufferPointer(start: base + field.start, count: field.length), as: UTF8.self)
                if field.escaped { name = name.replacingDoubledQuotes() }
                if name.isEmpty { name = "column\(index)" }
                var unique = name
                var suffix = 1
                while used.contains(unique.lowercased()) {
                    unique = "\(name)_\(suffix)"
                    suffix += 1
                }
                used.insert(unique.lowercased())
                names.append(unique)
            }
        } else {
            names = (0..<columnCount).map { "column\($0)" }
        }
        let bodyStart = options.header ? afterHeader : start
        let forced = names.map { name in options.columnTypes[name].map(ColumnAssembly.kind(of:)) }
        let boundaries = chunkBoundaries(base, from: bodyStart, to: buffer.count, quote: options.quote, options: options, pool: pool)
        let file = ParsedFile(source: source, names: names, bodyStart: bodyStart, headerLines: options.header ? 1 : 0, chunks: [])
        let chunks = try pool.morsels(boundaries.count - 1) { index, _ -> ParsedChunk in
            let parser = ChunkParser(
                bytes: base, start: boundaries[index], end: boundaries[index + 1], columnCount: columnCount, delimiter: delimiter,
                quote: options.quote, nullMarkers: nullMarkers, padMissing: options.padMissingFields,
                maximumLineBytes: options.maximumLineBytes,
                forcedKinds: forced)
            do {
                let (columns, rows) = try parser.parse()
                return ParsedChunk(parser: parser, columns: columns, rows: rows)
            } catch {
                throw file.error(error)
            }
        }
        return ParsedFile(source: source, names: names, bodyStart: bodyStart, headerLines: file.headerLines, chunks: chunks)
    }

    /// The delimiter among , ; tab | that appears most often outside quotes in the first line.
    static func detectDelimiter(_ p: UnsafePointer<UInt8>, _ n: Int, quote: UInt8) -> UInt8 {
        let candidates: [UInt8] = [0x2C, 0x3B, 0x09, 0x7C]
        var counts = [Int](repeating: 0, count: 4)
        var inQuotes = false
        for index in 0..<n {
            let byte = p[index]
            if byte == quote { inQuotes.toggle() }
            if !inQuotes && byte == 0x0A { break }
            if !inQuotes, let which = candidates.firstIndex(of: byte) { counts[which] += 1 }
        }
        let best = counts.indices.max { counts[$0] < counts[$1] }!
        return counts[best] > 0 ? candidates[best] : 0x2C
    }

    /// Record-aligned chunk starts (and the end), each cut moved past the next newline outside
    /// quotes, found from the quote parity before it.
    static func chunkBoundaries(
        _ base: UnsafePointer<UInt8>, from start: Int, to end: Int, quote: UInt8, options: CSVReadOptions, pool: ThreadPool
    ) -> [Int] {
        let length = end - start
        let size = options.chunkBytes ?? max(1 << 20, min(64 << 20, length / max(1, pool.threadCount * 2) + 1))
        let count = max(1, (length + size - 1) / size)
        if count == 1 { return [start, end] }
        // Quote parity at each raw cut, from counts per raw chunk (counted in parallel).
        func quotesIn(_ chunk: Int) -> Int {
            let from = start + chunk * size
            return countBytes(quote, base + from, min(end, from + size) - from)
        }
        // (The body cannot throw; `morsels` is declared throwing for bodies that do.)
        let quotes = (try? pool.morsels(count) { chunk, _ in quotesIn(chunk) }) ?? (0..<count).map(quotesIn)
        var parities = [Bool](repeating: false, count: count)
        var odd = false
        for chunk in 0..<count {
            parities[chunk] = odd
            if quotes[chunk] & 1 == 1 { odd.toggle() }
        }
        var cuts = [start]
        for chunk in 1..<count {
            var index = start + chunk * size
            var inQuotes = parities[chunk]
            while index < end {
                let byte = base[index]
                if byte == quote { inQuotes.toggle() } else if byte == 0x0A && !inQuotes { break }
                index += 1
            }
            let cut = min(end, index + 1)
            if cut > cuts.last! { cuts.append(cut) }
        }
        if cuts.last! < end { cuts.append(end) } else if cuts.count == 1 { cuts.append(end) }
        return cuts
    }
}

extension CSVReader {
    /// How many bytes of `p[0..<n]` equal `byte`: 32 a step with AVX2, then eight a step — a
    /// word's bytes that equal it become zero after an XOR, and the high bit of each zero byte is
    /// set exactly by ~(((x & 0x7F…) + 0x7F…) | x | 0x7F…) — then one at a time.
    static func countBytes(_ byte: UInt8, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        var total = 0
        var index = 0
        let raw = UnsafeRawPointer(p)
        #if arch(x86_64)
        // 32 bytes a step where AVX2 is compiled in: compare, gather the sign bits, count them.
        let wanted = _mm256_set1_epi8(CChar(bitPattern: byte))
        while index + 32 <= n {
            let block = _mm256_loadu_si256((raw + index).assumingMemoryBound(to: __m256i_u.self))
            total += UInt32(bitPattern: _mm256_movemask_epi8(_mm256_cmpeq_epi8(block, wanted))).nonzeroBitCount
            index += 32
        }
        #endif
        while index + 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ pattern
            total += (~(((x & low) &+ low) | x | low)).nonzeroBitCount
            index += 8
        }
        while index < n {
            if p[index] == byte { total += 1 }
            index += 1
        }
        return total
    }
}

extension String {
    func replacingDoubledQuotes() -> String {
        var result = ""
        var previousQuote = false
        for character in self {
            if character == "\"" && previousQuote {
                previousQuote = false
                continue
            }
            previousQuote = character == "\""
            result.append(character)
        }
        return result
    }
}
