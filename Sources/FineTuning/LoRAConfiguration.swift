/// Which projections of each block get a trainable low-rank update, and its size.
public struct LoRAConfiguration: Sendable, Equatable {
    public var rank: Int
    public var alpha: Double
    public var targets: [LoRATarget]

    /// Rank 8, α 16 on every projection: QLoRA's recipe (Dettmers et al. 2023: all linear layers).
    public init(rank: Int = 8, alpha: Double = 16, targets: [LoRATarget] = LoRATarget.allCases) throws {
        guard (1...4096).contains(rank) else { throw FineTuningError("--rank is \(rank); expected 1…4096 (the adapter's inner size)") }
        guard alpha.isFinite, alpha > 0 else { throw FineTuningError("--alpha is \(alpha); expected a positive number") }
        guard !targets.isEmpty else { throw FineTuningError("--targets is empty; expected some of \(LoRATarget.names)") }
        self.rank = rank
        self.alpha = alpha
        self.targets = targets
    }

    /// Parses "q,k,v,o,gate,up,down" (also "all" and "attention"/"mlp" shorthands).
    public static func parseTargets(_ list: String) throws -> [LoRATarget] {
        var targets: [LoRATarget] = []
        for word in list.split(separator: ",").map({ $0.trimmingSpaces() }) where !word.isEmpty {
            switch word {
            case "all": targets += LoRATarget.allCases
            case "attention": targets += [.q, .k, .v, .o]
            case "mlp", "ffn": targets += [.gate, .up, .down]
            default:
                guard let target = LoRATarget(rawValue: word) else {
                    throw FineTuningError("--targets: unknown target \"\(word)\"; expected some of \(LoRATarget.names), or all")
                }
                targets.append(target)
            }
        }
        var seen = Set<LoRATarget>()
        let unique = targets.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { throw FineTuningError("--targets is empty; expected some of \(LoRATarget.names)") }
        return unique
    }
}

/// A projection of a decoder block that LoRA can adapt, named as in mlx-lm and PEFT configs.
public enum LoRATarget: String, CaseIterable, Sendable, Hashable {
    case q, k, v, o, gate, up, down

    /// The GGUF tensor of block `layer` this target adapts.
    public func tensorName(layer: Int) -> String { "blk.\(layer).\(ggufName).weight" }

    public var ggufName: String {
        switch self {
        case .q: "attn_q"
        case .k: "attn_k"
        case .v: "attn_v"
        case .o: "attn_output"
        case .gate: "ffn_gate"
        case .up: "ffn_up"
        case .down: "ffn_down"
        }
    }

    static var names: String { allCases.map(\.rawValue).joined(separator: ",") }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

public struct FineTuningError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
