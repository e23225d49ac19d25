import Testing

@testable import Planner

/// `atelier fit MODEL --which-gpu`: one row per catalog GPU, readable in a terminal.
@Suite struct GPUComparisonTable {
    /// Qwen3 32B at Q4_K_M (about 20 GiB with context 4096): whole on 24 GiB and larger cards,
    /// partly offloaded on smaller ones.
    static func qwen32B() throws -> GPUComparison {
        let m = try shape("Qwen3 32B")
        return GPUComparison.make(
            shape: m, inventory: WeightInventory(shape: m, mix: .q4_K_M), settings: InferenceSettings(contextLength: 4096))
    }

    /// Header, rule, then exactly one line per catalog GPU; no line wider than 100 columns (the
    /// one-line list it replaces was about 2,000 characters).
    @Test func oneRowPerGPUWithinAHundredColumns() throws {
        let table = try Self.qwen32B()
        let lines = table.textLines
        #expect(table.rows.count == Catalog.gpus.count)
        #expect(lines.count == Catalog.gpus.count + 2)
        let widest = lines.map(\.count).max() ?? 0
        #expect(widest <= 100, "widest line \(widest): \(lines.first { $0.count == widest } ?? "")")
        #expect(widest >= 60, "the table should use the width for its five columns")
        #expect(lines[0].hasPrefix("GPU") && lines[0].contains("decode tokens/s") && lines[0].contains("new price"))
        #expect(lines[1].allSatisfy { $0 == "-" })
        // Every GPU appears once, on the line of its row, with its memory.
        #expect(Set(table.rows.map(\.gpu)) == Set(Catalog.gpus.map(\.name)))
        for (i, row) in table.rows.enumerated() {
            #expect(lines[i + 2].hasPrefix(row.gpu + " "), "\(row.gpu)")
            #expect(lines[i + 2].contains("\(Int(row.memoryGiB.rounded())) GiB"), "\(row.gpu)")
        }
    }

    /// Whole-model cards first (cheapest priced first), then partial offloads by layers on the
    /// GPU, then the rest; the cells say which.
    @Test func rowsAreOrderedByVerdictThenPrice() throws {
        let rows = try Self.qwen32B().rows
        let ranks = rows.map { r -> Int in
            switch r.verdict {
            case .fitsGPU: return 0
            case .partialOffload: return 1
            case .cpuOnly: return 2
            case .doesNotFit: return 3
            }
        }
        #expect(ranks == ranks.sorted())
        let priced = rows.filter { $0.verdict == .fitsGPU }.compactMap(\.priceNewUSD)
        #expect(priced == priced.sorted())
        let partial = rows.filter { $0.verdict == .partialOffload }.map(\.gpuLayers)
        #expect(partial == partial.sorted(by: >))
        #expect(rows.contains { $0.verdict == .fitsGPU } && rows.contains { $0.verdict == .partialOffload })
    }

    @Test func cellsNameLayersSpeedAndPrice() throws {
        let table = try Self.qwen32B()
        let lines = table.textLines
        let whole = try #require(table.rows.firstIndex { $0.verdict == .fitsGPU && $0.priceNewUSD != nil })
        let line = lines[whole + 2]
        #expect(line.contains("all 65 layers"))
        #expect(line.contains("$\(Int(table.rows[whole].priceNewUSD!.rounded()))"))
        #expect(line.contains("\(GPUComparison.speed(table.rows[whole].decode.expected)) ("))
        let partial = try #require(table.rows.firstIndex { $0.verdict == .partialOffload })
        #expect(lines[partial + 2].contains("\(table.rows[partial].gpuLayers) of 65 layers"))
    }

    /// Implied by "does not fit": only whole-model cards, the cheapest three.
    @Test func onlyWholeWithALimit() throws {
        let m = try shape("Llama 3.1 70B")
        let table = GPUComparison.make(
            shape: m, inventory: WeightInventory(shape: m, mix: .q4_K_M), settings: InferenceSettings(contextLength: 4096),
            onlyWhole: true, limit: 3)
        #expect(table.rows.count == 3)
        #expect(table.rows.allSatisfy { $0.verdict == .fitsGPU && $0.memoryGiB >= 40 })
        #expect(table.textLines.count == 5)
    }

    @Test func speedFormatting() {
        #expect(GPUComparison.speed(76.4) == "76")
        #expect(GPUComparison.speed(5.44) == "5.4")
        #expect(GPUComparison.speed(9.96) == "10")
        #expect(GPUComparison.speed(0.04) == "0.0")
    }
}
