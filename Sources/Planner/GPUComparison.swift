/// One model planned on many catalog GPUs (`atelier fit MODEL --which-gpu`): for each card, whether
/// the model fits entirely, how many layers go to the card otherwise, the decode speed and the price.
public struct GPUComparison: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var gpu: String
        public var memoryGiB: Double
        public var verdict: InferencePlan.Verdict
        public var gpuLayers: Int
        public var offloadableLayers: Int
        public var gpuBytes: Int64
        public var decode: SpeedRange
        public var priceNewUSD: Double?
        public var priceNewDate: String?
    }

    public var rows: [Row]
    /// Only cards that hold the whole model are listed (the rest were left out).
    public var onlyWhole: Bool

    /// Plans the model on every GPU in `gpus` (each in the desktop `HardwareTarget.desktop` builds)
    /// with llama.cpp. Cards that hold the whole model come first, cheapest new price first and
    /// unpriced ones after by memory; then partial offloads, most layers first; then the rest.
    /// `onlyWhole` keeps just the cards that hold the whole model, `limit` the first ones.
    public static func make(
        shape: ModelShape, inventory: WeightInventory, settings: InferenceSettings, gpus: [GPUSpec] = Catalog.gpus,
        onlyWhole: Bool = false, limit: Int? = nil
    ) -> GPUComparison {
        let rows = gpus.map { gpu -> Row in
            let plan = InferencePlan.make(
                shape: shape, inventory: inventory, settings: settings, engine: .llamaCpp, hardware: HardwareTarget.desktop(with: gpu))
            return Row(
                gpu: gpu.name, memoryGiB: gpu.memoryGiB, verdict: plan.verdict, gpuLayers: plan.gpuLayers,
                offloadableLayers: plan.offloadableLayers, gpuBytes: plan.gpu.total, decode: plan.decode,
                priceNewUSD: gpu.priceNewUSD, priceNewDate: gpu.priceNewDate)
        }
        let kept = (onlyWhole ? rows.filter { $0.verdict == .fitsGPU } : rows).sorted(by: Self.isBefore)
        return GPUComparison(rows: Array(kept.prefix(max(0, limit ?? kept.count))), onlyWhole: onlyWhole)
    }

    static func isBefore(_ a: Row, _ b: Row) -> Bool {
        func rank(_ r: Row) -> Int {
            switch r.verdict {
            case .fitsGPU: return 0
            case .partialOffload: return 1
            case .cpuOnly: return 2
            case .doesNotFit: return 3
            }
        }
        if rank(a) != rank(b) { return rank(a) < rank(b) }
        if a.verdict == .partialOffload, a.gpuLayers != b.gpuLayers { return a.gpuLayers > b.gpuLayers }
        switch (a.priceNewUSD, b.priceNewUSD) {
        case (let x?, let y?) where x != y: return x < y
        case (_?, nil): return true
        case (nil, _?): return false
        default: return a.memoryGiB != b.memoryGiB ? a.memoryGiB < b.memoryGiB : a.gpu < b.gpu
        }
    }

    /// The comparison as a text table, one GPU per row, at most 100 columns wide (names are at
    /// most 25 characters in the catalog; longer ones are cut).
    public var textLines: [String] {
        let header = ["GPU", "memory", "on the GPU", "decode tokens/s", "new price"]
        let body = rows.map { r -> [String] in
            let placement: String
            switch r.verdict {
            case .fitsGPU: placement = "all \(r.offloadableLayers) layers"
            case .partialOffload: placement = "\(r.gpuLayers) of \(r.offloadableLayers) layers"
            case .cpuOnly: placement = "CPU only"
            case .doesNotFit: placement = "does not fit"
            }
            let speed =
                r.verdict == .doesNotFit
                ? "–" : "\(Self.speed(r.decode.expected)) (\(Self.speed(r.decode.low))–\(Self.speed(r.decode.high)))"
            let price = r.priceNewUSD.map { "$\(Int($0.rounded()))" + (r.priceNewDate.map { " (\($0))" } ?? "") } ?? "–"
            return [Self.clipped(r.gpu, to: Self.nameWidth), "\(Int(r.memoryGiB.rounded())) GiB", placement, speed, price]
        }
        return TextTable(header: header, rows: body, rightAligned: [false, true, false, false, false]).lines
    }

    static let nameWidth = 28

    static func clipped(_ s: String, to width: Int) -> String { s.count <= width ? s : String(s.prefix(width - 1)) + "…" }

    /// One decimal below 10 tokens/s, whole numbers above: "5.4", "76".
    static func speed(_ value: Double) -> String {
        guard value.isFinite, value >= 0 else { return "–" }
        if value >= 9.95 { return String(Int(value.rounded())) }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// Columns padded to their widest cell, two spaces apart; the header is underlined.
struct TextTable {
    var header: [String]
    var rows: [[String]]
    var rightAligned: [Bool]

    var lines: [String] {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            let padded = cells.indices.map { i -> String in
                let gap = String(repeating: " ", count: widths[i] - cells[i].count)
                return rightAligned[i] ? gap + cells[i] : cells[i] + gap
            }
            var text = padded.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        return [line(header), String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))] + rows.map(line)
    }
}
