/// db-benchmark's group-by table G1_N_K_NAS_SORT (_data/groupby-datagen.R): id1, id2 "id%03d" of 1...K;
/// id3 "id%010d" of 1...N/K; id4, id5 1...K; id6 1...N/K; v1 1...5; v2 1...15; v3 uniform [0, 100]
/// rounded to 6 decimals. With NAs, that percentage of each id column's distinct values becomes NA
/// everywhere it occurs, and exactly that percentage of rows of each v column; sorted means ordered by
/// id1...id6 with NA first, as data.table's setkey does.
public struct GroupByData: Sendable {
    public let rows: Int
    public let groups: Int
    public let nullPercent: Int
    public let sorted: Bool
    public let seed: UInt64

    public init(rows: Int, groups: Int, nullPercent: Int = 0, sorted: Bool = false, seed: UInt64 = 108) {
        self.rows = rows
        self.groups = groups
        self.nullPercent = nullPercent
        self.sorted = sorted
        self.seed = seed
    }

    public var name: String {
        "G1_\(benchmarkSize(rows))_\(benchmarkSize(groups))_\(nullPercent)_\(sorted ? 1 : 0)"
    }

    /// The columns as numbers: ids and v1, v2 with 0 for NA; v3 in millionths with -1 for NA.
    public func columns() throws -> [[Int32]] {
        guard rows > 0, groups > 0, rows >= groups, rows <= Int(Int32.max) else {
            throw DataBenchmarkError("group-by data needs 1 <= groups <= rows <= \(Int32.max), got rows \(rows), groups \(groups)")
        }
        guard (0...100).contains(nullPercent) else {
            throw DataBenchmarkError("NA percentage must be 0...100, got \(nullPercent)")
        }
        var random = RandomSource(seed: seed)
        let small = rows / groups
        let ranges = [groups, groups, small, groups, groups, small, 5, 15]
        var columns = ranges.map { range in
            var column = [Int32](repeating: 0, count: rows)
            column.withUnsafeMutableBufferPointer { out in
                for i in 0..<rows { out[i] = Int32(random.oneThrough(range)) }
            }
            return column
        }
        var v3 = [Int32](repeating: 0, count: rows)
        v3.withUnsafeMutableBufferPointer { out in
            for i in 0..<rows { out[i] = random.percentMillionths() }
        }
        columns.append(v3)
        if nullPercent > 0 {
            for c in 0..<6 { blankValues(&columns[c], range: ranges[c], random: &random) }
            let count = rows * nullPercent / 100
            for c in 6..<9 {
                for row in random.distinctPositions(count, of: rows) { columns[c][Int(row)] = c == 8 ? -1 : 0 }
            }
        }
        if sorted { columns = GroupByData.sortedByIDs(columns, rows: rows) }
        return columns
    }

    /// NA for `nullPercent` of the distinct values present in the column, at every row holding them.
    private func blankValues(_ column: inout [Int32], range: Int, random: inout RandomSource) {
        var present = [Bool](repeating: false, count: range + 1)
        for value in column { present[Int(value)] = true }
        let distinct = (1...range).filter { present[$0] }
        let count = distinct.count * nullPercent / 100
        guard count > 0 else { return }
        var blank = [Bool](repeating: false, count: range + 1)
        for position in random.distinctPositions(count, of: distinct.count) { blank[distinct[Int(position)]] = true }
        column.withUnsafeMutableBufferPointer { values in
            for i in 0..<values.count where blank[Int(values[i])] { values[i] = 0 }
        }
    }

    static func sortedByIDs(_ columns: [[Int32]], rows: Int) -> [[Int32]] {
        let order = (0..<Int32(rows)).sorted { a, b in
            for c in 0..<6 where columns[c][Int(a)] != columns[c][Int(b)] {
                return columns[c][Int(a)] < columns[c][Int(b)]
            }
            return a < b
        }
        return columns.map { column in order.map { column[Int($0)] } }
    }

    /// Writes `<directory>/<name>.csv` the way fwrite prints it (NA as an empty field).
    @discardableResult
    public func write(to directory: String) throws -> WrittenFile {
        let columns = try columns()
        let path = directory + "/" + name + ".csv"
        let out = try CSVTextWriter(path: path)
        try out.text("id1,id2,id3,id4,id5,id6,v1,v2,v3\n")
        let idWidth = [3, 3, 10]
        for row in 0..<rows {
            for c in 0..<8 {
                let value = Int(columns[c][row])
                if value != 0 {
                    if c < 3 {
                        try out.text("id")
                        try out.integer(value, width: idWidth[c])
                    } else {
                        try out.integer(value)
                    }
                }
                try out.byte(UInt8(ascii: ","))
            }
            if columns[8][row] >= 0 { try out.millionths(columns[8][row]) }
            try out.byte(UInt8(ascii: "\n"))
        }
        try out.flush()
        return WrittenFile(name: name + ".csv", rows: rows, bytes: out.bytesWritten, checksum: out.checksum)
    }
}
