import ArgumentParser
import DataBenchmark

struct DataGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datagen",
        abstract: "Write db-benchmark's group-by or join tables as CSV (our PRNG; R's distributions and key overlap).",
        subcommands: [GroupBy.self, Join.self])

    struct GroupBy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "groupby", abstract: "G1_N_K_NAS_SORT.csv: id1…id6, v1, v2, v3.")
        @Option(help: "Rows, e.g. 1e7.") var rows: String
        @Option(help: "Groups K, e.g. 100.") var groups: String = "100"
        @Option(help: "Percentage of NAs.") var nas: Int = 0
        @Flag(help: "Sort by id1…id6.") var sorted = false
        @Option(help: "PRNG seed.") var seed: UInt64 = 108
        @Option(help: "Output directory.") var out: String = "."

        func run() throws {
            let data = GroupByData(
                rows: try count(rows), groups: try count(groups), nullPercent: nas, sorted: sorted, seed: seed)
            report([try data.write(to: out)], directory: out)
        }
    }

    struct Join: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "join", abstract: "J1_N_NA (x), small (N/1e6), medium (N/1e3), big (N) CSV files.")
        @Option(help: "Rows of x and big, e.g. 1e7.") var rows: String
        @Option(help: "Percentage of NAs in x.") var nas: Int = 0
        @Flag(help: "Sort each table by its keys.") var sorted = false
        @Option(help: "PRNG seed.") var seed: UInt64 = 108
        @Option(help: "Output directory.") var out: String = "."

        func run() throws {
            let data = JoinData(rows: try count(rows), nullPercent: nas, sorted: sorted, seed: seed)
            report(try data.write(directory: out), directory: out)
        }
    }
}

/// "1e7", "2e3" or "12345".
private func count(_ text: String) throws -> Int {
    if let value = Int(text) { return value }
    let parts = text.lowercased().split(separator: "e")
    if parts.count == 2, let mantissa = Int(parts[0]), let exponent = Int(parts[1]), (0...18).contains(exponent) {
        var value = mantissa
        for _ in 0..<exponent { value *= 10 }
        return value
    }
    throw ValidationError("expected a count like 1e7 or 10000, got '\(text)'")
}

private func report(_ files: [WrittenFile], directory: String) {
    for file in files {
        let checksum = String(file.checksum, radix: 16)
        print("\(directory)/\(file.name)\t\(file.rows) rows\t\(file.bytes) bytes\tfnv1a64 \(checksum)")
    }
}
