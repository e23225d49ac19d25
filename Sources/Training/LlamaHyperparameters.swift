import Planner

/// The shape of the Llama-architecture decoder `train gpt` trains (docs/TRAINING.md): what the
/// model allocates, what the exports write into `llama.*` keys and `config.json`.
public struct LlamaHyperparameters: Sendable, Equatable, Codable {
    public var vocabularySize: Int
    /// D: the residual stream's width.
    public var width: Int
    public var layers: Int
    /// H: query heads.
    public var heads: Int
    /// Hkv: key/value heads, a divisor of `heads` (grouped-query attention when smaller).
    public var kvHeads: Int
    /// F: the SwiGLU hidden width.
    public var ffnWidth: Int
    /// T: the longest sequence trained on (and the context the exports declare).
    public var contextLength: Int
    public var ropeTheta: Float
    public var normEpsilon: Float
    /// The output projection is `token_embd.weight` (no `output.weight`).
    public var tiedEmbeddings: Bool

    /// `kvHeads` defaults to `heads`, `ffnWidth` to `defaultFFNWidth(width:)`.
    public init(
        vocabularySize: Int, width: Int, layers: Int, heads: Int, kvHeads: Int? = nil, ffnWidth: Int? = nil,
        contextLength: Int, ropeTheta: Float = 10_000, normEpsilon: Float = 1e-5, tiedEmbeddings: Bool = true
    ) {
        self.vocabularySize = vocabularySize
        self.width = width
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads ?? heads
        self.ffnWidth = ffnWidth ?? Self.defaultFFNWidth(width: width)
        self.contextLength = contextLength
        self.ropeTheta = ropeTheta
        self.normEpsilon = normEpsilon
        self.tiedEmbeddings = tiedEmbeddings
    }

    /// 8·D/3 rounded up to a multiple of 16 (352 for D = 128, 1024 for D = 384): the SwiGLU
    /// width that keeps the feed-forward's parameter count near a 4·D GELU MLP's.
    /// The planner's rule (`ScratchTrainingConfiguration.defaultFFNWidth`), so the two cannot drift.
    public static func defaultFFNWidth(width: Int) -> Int { ScratchTrainingConfiguration.defaultFFNWidth(width: width) }

    /// d = D / H.
    public var headWidth: Int { width / heads }

    public struct ValidationError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Checks what the model and the exports rely on; the error names the field, its value and
    /// what was expected.
    public func validate() throws {
        let positive: [(String, Int)] = [
            ("vocabularySize", vocabularySize), ("width", width), ("layers", layers), ("heads", heads),
            ("kvHeads", kvHeads), ("ffnWidth", ffnWidth), ("contextLength", contextLength),
        ]
        // GGUF stores them as UINT32; within Int32, the product of any two still fits an Int.
        for (name, value) in positive where !(1...Int(Int32.max)).contains(value) {
            throw ValidationError(description: "hyperparameter \(name) is \(value); expected a positive number up to \(Int32.max)")
        }
        guard width % heads == 0 else {
            throw ValidationError(description: "width \(width) is not divisible by heads \(heads); expected width = heads × head width")
        }
        guard heads % kvHeads == 0 else {
            throw ValidationError(
                description:
                    "heads \(heads) is not divisible by kvHeads \(kvHeads); each key/value head must serve a whole group of query heads")
        }
        guard headWidth % 2 == 0 else {
            throw ValidationError(
                description:
                    "head width \(headWidth) (width \(width) / heads \(heads)) is odd; RoPE rotates pairs of values, so it must be even")
        }
        guard ropeTheta.isFinite, ropeTheta > 1 else {
            throw ValidationError(description: "ropeTheta is \(ropeTheta); expected a finite number above 1")
        }
        guard normEpsilon.isFinite, normEpsilon > 0, normEpsilon <= 1 else {
            throw ValidationError(description: "normEpsilon is \(normEpsilon); expected a number in (0, 1]")
        }
    }
}

extension LlamaHyperparameters {
    /// Every parameter's GGUF name and row-major shape (PyTorch's [out, in] for matrices), in the
    /// order the GGUF export writes them (docs/TRAINING.md).
    public var parameterShapes: [(name: String, shape: [Int])] {
        let d = width, q = heads * headWidth, kv = kvHeads * headWidth, f = ffnWidth
        var shapes: [(name: String, shape: [Int])] = [("token_embd.weight", [vocabularySize, d])]
        for layer in 0..<max(layers, 0) {
            let block = "blk.\(layer)."
            shapes += [
                (block + "attn_norm.weight", [d]),
                (block + "attn_q.weight", [q, d]),
                (block + "attn_k.weight", [kv, d]),
                (block + "attn_v.weight", [kv, d]),
                (block + "attn_output.weight", [d, q]),
                (block + "ffn_norm.weight", [d]),
                (block + "ffn_gate.weight", [f, d]),
                (block + "ffn_up.weight", [f, d]),
                (block + "ffn_down.weight", [d, f]),
            ]
        }
        shapes.append(("output_norm.weight", [d]))
        if !tiedEmbeddings { shapes.append(("output.weight", [vocabularySize, d])) }
        return shapes
    }
}
