import ModelInspection
import Planner

extension Format {
    /// Always GiB, so columns compare: "4.58 GiB".
    static func gib(_ bytes: Int64) -> String { fixed(Double(bytes) / 1_073_741_824, 2) + " GiB" }
}

/// What `atelier fit MODEL` prints: the plan, and the answers to the reverse questions asked or
/// implied by the verdict.
struct InferenceReport: Encodable {
    var plan: InferencePlan
    var hardware: String
    var command: String
    var maxContext: Int?
    var bestQuant: String?
    var bestQuantBytes: Int64?
    /// `--which-gpu` (every catalog GPU) or, when nothing fits here, the cheapest cards that would.
    var gpus: GPUComparison?
    var diskFreeBytes: Int64?

    func text(subject: ModelSubject) -> String {
        let p = plan, s = plan.settings
        let inv = subject.inventory
        var lines: [String] = []
        lines.append(
            "Model: \(subject.shape.name) — \(Format.gib(inv.totalBytes)) of weights, \(Format.fixed(inv.bitsPerWeight, 2)) bits/weight, \(Format.count(inv.parameterCount)) parameters"
        )
        lines.append("       (\(inv.basis))")
        lines.append("Hardware: \(hardware); engine \(p.engine.rawValue)")
        lines.append(
            "Settings: context \(s.contextLength), batch \(s.batch), KV \(s.kvType.rawValue), flash attention \(s.flashAttention ? "on" : "off")\(s.parallel > 1 ? ", \(s.parallel) parallel" : "")"
        )
        lines.append("")
        var verdict = "Verdict: \(p.verdict.rawValue)"
        if p.verdict == .partialOffload || p.verdict == .fitsGPU {
            verdict += " (\(p.gpuLayers) of \(p.offloadableLayers) layers on the GPU, -ngl \(p.gpuLayers))"
        }
        lines.append(verdict)
        let hasGPU = p.gpuBudget > 0 && p.engine == .llamaCpp
        func row(_ name: String, _ gpu: Int64, _ host: Int64) -> String {
            let label = name.padding(12)
            return hasGPU
                ? label + Format.gib(gpu).leftPadding(12) + Format.gib(host).leftPadding(14) : label + Format.gib(host).leftPadding(12)
        }
        lines.append(hasGPU ? "".padding(12) + "GPU".leftPadding(12) + "host RAM".leftPadding(14) : "".padding(12) + "RAM".leftPadding(12))
        lines.append(row("weights", p.gpu.weights, p.host.weights))
        lines.append(row("KV cache", p.gpu.kvCache, p.host.kvCache))
        lines.append(row("compute", p.gpu.compute, p.host.compute))
        lines.append(row("runtime", p.gpu.runtime, p.host.runtime))
        lines.append(row("total", p.gpu.total, p.host.total))
        lines.append(
            hasGPU
                ? "budget".padding(12) + Format.gib(p.gpuBudget).leftPadding(12) + Format.gib(p.ramBudget).leftPadding(14)
                : "budget".padding(12) + Format.gib(p.ramBudget).leftPadding(12))
        lines.append("")
        lines.append("Decode:  \(range(p.decode)) tokens/s")
        lines.append("Prefill: \(range(p.prefill)) tokens/s")
        var disk = "Disk:    \(Format.gib(p.downloadBytes)) (\(Format.fixed(Double(p.downloadBytes) / 1e9, 2)) GB) to download"
        if let free = diskFreeBytes {
            disk += ", \(Format.gib(free)) free in the model store" + (free < p.downloadBytes ? " — NOT ENOUGH" : "")
        }
        lines.append(disk)
        if let maxContext {
            lines.append("Longest context that fits: \(maxContext)")
        } else if p.verdict == .doesNotFit {
            lines.append("Longest context that fits: none")
        }
        if let bestQuant, let bestQuantBytes {
            lines.append("Best quantization that fits on the GPU: \(bestQuant) (\(Format.gib(bestQuantBytes)))")
        }
        if let gpus {
            if gpus.rows.isEmpty {
                lines.append("No catalog GPU holds it entirely.")
            } else {
                lines.append(
                    gpus.onlyWhole ? "GPUs that hold it entirely, cheapest first:" : "On each catalog GPU (desktop with 32 GiB DDR5):")
                lines += gpus.textLines.map { "  " + $0 }
            }
        }
        lines.append("Run:     \(command)")
        return lines.joined(separator: "\n")
    }

    func range(_ r: SpeedRange) -> String {
        "\(Format.fixed(r.expected, r.expected < 10 ? 1 : 0)) (\(Format.fixed(r.low, r.low < 10 ? 1 : 0))–\(Format.fixed(r.high, r.high < 10 ? 1 : 0)))"
    }
}

extension Overview {
    var text: String {
        var lines = [
            "\(hardware): \(Format.gib(gpuBudget)) of GPU memory; inference at context \(contextLength) with llama.cpp;",
            "training: \(trainingSetup). GiB needed; fits / part(ial offload) / no.", "",
        ]
        let header = "model".padding(26) + Task.allCases.map { $0.rawValue.leftPadding(15) }.joined()
        lines.append(header)
        for row in rows {
            var line = row.model.padding(26)
            for cell in row.cells {
                let mark = cell.outcome == .fits ? "fits" : cell.outcome == .partial ? "part" : "no"
                line += (mark + " " + Format.fixed(Double(cell.bytes) / 1_073_741_824, 1)).leftPadding(15)
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? " " + self : String(repeating: " ", count: width - count) + self }
}
