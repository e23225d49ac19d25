/// db-benchmark's join tables (_data/join-datagen.R): keys for each of three sizes (N/1e6, N/1e3, N)
/// are a random permutation of 1...1.1·n split 0.9 common, 0.1 left-only, 0.1 right-only. x (N rows,
/// "J1_N_NA_nas_sort") draws id1, id2, id3 from common+left keys, the right tables small (N/1e6), medium
/// (N/1e3) and big (N) from common+right, each key used at least once; id4, id5, id6 are "id" + the
/// integer key of id1, id2, id3 (so an NA key prints "idNA", as R's sprintf does); v1, v2 uniform
/// [0, 100] rounded to 6 decimals. Sizes are raised to at least 10, 100, 1000 so small row counts still split and keep distinct names.
public struct JoinData: Sendable {
    public let rows: Int
    public let nullPercent: Int
    public let sorted: Bool
    public let seed: UInt64

    public init(rows: Int, nullPercent: Int = 0, sorted: Bool = false, seed: UInt64 = 108) {
        self.rows = rows
        self.nullPercent = nullPercent
        self.sorted = sorted
        self.seed = seed
    }

    public enum Table: String, CaseIterable, Sendable { case x, small, medium, big }

    /// Key-set size n for id1, id2, id3 (each table's row count is the n of its last key).
    public var keyCounts: [Int] { [max(10, rows / 1_000_000), max(100, rows / 1_000), max(1_000, rows)] }

    public func rowCount(_ table: Table) -> Int {
        switch table {
        case .x, .big: keyCounts[2]
        case .small: keyCounts[0]
        case .medium: keyCounts[1]
        }
    }

    public func fileName(_ table: Table) -> String {
        let size: String
        switch table {
        case .x: size = "NA"
        case .small: size = benchmarkSize(keyCounts[0])
        case .medium: size = benchmarkSize(keyCounts[1])
        case .big: size = benchmarkSize(keyCounts[2])
        }
        return "J1_\(benchmarkSize(keyCounts[2]))_\(size)_\(nullPercent)_\(sorted ? 1 : 0).csv"
    }

    /// The split of one key size: common, left-only, right-only.
    public struct Keys: Sendable {
        public let common: [Int32]
        public let left: [Int32]
        public let right: [Int32]
    }

    /// Integer key columns and the v column (millionths) of each table; NA keys are 0, NA v is -1.
    public func tables() throws -> [Table: (keys: [[Int32]], value: [Int32])] {
        guard rows > 0, rows <= Int(Int32.max) / 2 else {
            throw DataBenchmarkError("join data needs 1 <= rows <= \(Int32.max / 2), got \(rows)")
        }
        guard (0...100).contains(nullPercent) else {
            throw DataBenchmarkError("NA percentage must be 0...100, got \(nullPercent)")
        }
        var random = RandomSource(seed: seed)
        let keys = keyCounts.map { n -> Keys in
            let total = n + n / 10
            var key = [Int32](1...Int32(total))
            random.shuffle(&key)
            let common = n - n / 10
            return Keys(common: Array(key[0..<common]), left: Array(key[common..<n]), right: Array(key[n..<total]))
        }
        var result: [Table: (keys: [[Int32]], value: [Int32])] = [:]
        result[.x] = table(keyCount: 3, size: rowCount(.x), from: keys, left: true, random: &random)
        for (table, count) in [(Table.small, 1), (.medium, 2), (.big, 3)] {
            result[table] = self.table(keyCount: count, size: rowCount(table), from: keys, left: false, random: &random)
        }
        return result
    }

    private func table(
        keyCount: Int, size: Int, from keys: [Keys], left: Bool, random: inout RandomSource
    ) -> (keys: [[Int32]], value: [Int32]) {
        var columns = (0..<keyCount).map { k in
            Self.sampleAll((left ? keys[k].left : keys[k].right) + keys[k].common, size: size, random: &random)
        }
        if sorted {
            let by = left ? [0, 1, 2] : [keyCount - 1]
            let order = (0..<Int32(size)).sorted { a, b in
                for c in by where columns[c][Int(a)] != columns[c][Int(b)] { return columns[c][Int(a)] < columns[c][Int(b)] }
                return a < b
            }
            columns = columns.map { column in order.map { column[Int($0)] } }
        }
        var value = [Int32](repeating: 0, count: size)
        for i in 0..<size { value[i] = random.percentMillionths() }
        if left && nullPercent > 0 {
            for c in 0..<keyCount {
                let distinct = keys[c].common.count + keys[c].left.count
                let count = distinct * nullPercent / 100
                guard count > 0 else { continue }
                var blank = Set<Int32>()
                let pool = keys[c].common + keys[c].left
                for position in random.distinctPositions(count, of: distinct) { blank.insert(pool[Int(position)]) }
                for i in 0..<size where blank.contains(columns[c][i]) { columns[c][i] = 0 }
            }
            for row in random.distinctPositions(size * nullPercent / 100, of: size) { value[Int(row)] = -1 }
        }
        return (columns, value)
    }

    /// Every key at least once, the rest drawn with replacement, then shuffled (R's `sample_all`).
    static func sampleAll(_ keys: [Int32], size: Int, random: inout RandomSource) -> [Int32] {
        var out = keys
        out.reserveCapacity(max(size, keys.count))
        for _ in 0..<max(size - keys.count, 0) { out.append(keys[random.oneThrough(keys.count) - 1]) }
        random.shuffle(&out)
        return out
    }

    /// Writes the four CSV files into `directory`, in db-benchmark's column order.
    @discardableResult
    public func write(directory: String) throws -> [WrittenFile] {
        let data = try tables()
        var written: [WrittenFile] = []
        for table in Table.allCases {
            let (keys, value) = data[table]!
            let name = fileName(table)
            let out = try CSVTextWriter(path: directory + "/" + name)
            let header: StaticString
            switch table {
            case .x: header = "id1,id2,id3,id4,id5,id6,v1\n"
            case .small: header = "id1,id4,v2\n"
            case .medium: header = "id1,id2,id4,id5,v2\n"
            case .big: header = "id1,id2,id3,id4,id5,id6,v2\n"
            }
            try out.text(header)
            for row in 0..<value.count {
                for column in keys {
                    if column[row] != 0 { try out.integer(Int(column[row])) }
                    try out.byte(UInt8(ascii: ","))
                }
                for column in keys {
                    try out.text("id")
                    if column[row] != 0 { try out.integer(Int(column[row])) } else { try out.text("NA") }
                    try out.byte(UInt8(ascii: ","))
                }
                if value[row] >= 0 { try out.millionths(value[row]) }
                try out.byte(UInt8(ascii: "\n"))
            }
            try out.flush()
            written.append(WrittenFile(name: name, rows: value.count, bytes: out.bytesWritten, checksum: out.checksum))
        }
        return written
    }
}
