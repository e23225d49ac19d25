import GGUF

/// A LoRA adapter as llama.cpp stores it (`convert_lora_to_gguf.py` writes it, `llama_adapter_lora_init`
/// loads it): a GGUF with `general.type` = "adapter", `adapter.type` = "lora", the base model's
/// `general.architecture`, `adapter.lora.alpha` (FLOAT32), and for each adapted base tensor `W`
/// the pair `W.lora_a`, `W.lora_b`. Applied, a tensor becomes W + scale · B·A (`scale(rank:userScale:)`).
public struct LoRAAdapter: Sendable {
    /// The base model's `general.architecture` ("llama", "gemma3").
    public var architecture: String
    public var alpha: Float
    /// Keyed by base tensor name ("blk.3.attn_q.weight").
    public var pairs: [String: LoRAPair]
    /// `general.name`, when the file has one.
    public var name: String?
    /// Every other metadata entry (base model description, `adapter.atelier.*` training details):
    /// kept in order and written back unchanged; llama.cpp ignores keys it does not know.
    public var information: GGUFMetadata
    /// Tensors present in the file but not used: norm vectors (`*_norm.weight`) that
    /// mergekit-extract-lora adds, which llama.cpp skips too.
    public var ignoredTensors: [String]
    /// The file it was read from (or "<memory>"), for messages.
    public var source: String

    public init(
        architecture: String, alpha: Float, pairs: [String: LoRAPair], name: String? = nil, information: GGUFMetadata = GGUFMetadata(),
        source: String = "<memory>"
    ) {
        self.architecture = architecture
        self.alpha = alpha
        self.pairs = pairs
        self.name = name
        self.information = information
        self.ignoredTensors = []
        self.source = source
    }

    /// The keys this type writes itself; `information` never holds them.
    static let reservedKeys: Set<String> = [
        "general.architecture", "general.type", "general.name", "general.alignment", "adapter.type", "adapter.lora.alpha",
    ]

    /// llama.cpp's rule (`llama_adapter_lora_weight::get_scale`): the user's scale times alpha/rank,
    /// except that an alpha of 0 means "no alpha" and leaves the user's scale alone.
    public static func scale(alpha: Float, rank: Int, userScale: Float) -> Float {
        alpha != 0 ? userScale * alpha / Float(rank) : userScale
    }

    /// The factor B·A is multiplied by for `pair` at the user's `--lora-scale`.
    public func scale(for pair: LoRAPair, userScale: Float) -> Float {
        Self.scale(alpha: alpha, rank: pair.rank, userScale: userScale)
    }

    /// Base tensors ordered by block, then by role, then by name: files and listings read in model order.
    public var orderedNames: [String] {
        pairs.keys.sorted { lhs, rhs in
            let l = Self.blockAndRole(lhs), r = Self.blockAndRole(rhs)
            return (l.block, l.role, lhs) < (r.block, r.role, rhs)
        }
    }

    private static func blockAndRole(_ name: String) -> (block: Int, role: Int) {
        let parts = name.split(separator: ".")
        guard parts.count >= 3, parts[0] == "blk", let block = Int(parts[1]) else { return (Int.max, Int.max) }
        return (block, AdapterTargets.roles.firstIndex(of: String(parts[2])) ?? AdapterTargets.roles.count)
    }
}

/// The tensors Atelier can adapt while running a model: the seven projections of every block.
public enum AdapterTargets {
    public static let roles = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]

    /// (block, role) of `blk.{i}.{role}.weight` for one of the seven roles, else nil.
    public static func parse(_ name: String) -> (block: Int, role: String)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blk", parts[3] == "weight", let block = Int(parts[1]), block >= 0,
            String(block) == parts[1], roles.contains(String(parts[2]))
        else { return nil }
        return (block, String(parts[2]))
    }
}
