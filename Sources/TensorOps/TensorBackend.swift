import Compute
import Tensors

/// The operations training is built from, each with the kernel its backward rule needs. Autograd
/// calls only these, never a kernel, so a CUDA backend implements this list on device memory and
/// every layer, model and optimizer above runs on it unchanged. Memory moves (allocation, host
/// transfers, copies between layouts) are requirements too: nothing reaches a buffer behind the
/// backend's back.
///
/// Conventions: results are new contiguous tensors in the inputs' dtype (`f32`, or `f64` for the
/// gradient checks); inputs may be any view (strided, broadcast) unless a requirement says
/// otherwise; token ids and targets are `i32`. Sequence tensors are laid out [batch, time, heads,
/// headDim] — what a linear layer's output reshapes to, so attention needs no transposes.
public protocol TensorBackend: AnyObject, Sendable {
    var name: String { get }

    // MARK: Memory

    /// A zero-filled contiguous tensor.
    func zeros(_ shape: [Int], dtype: DType) -> Tensor
    /// A contiguous tensor holding `bytes` (row-major, `dtype` elements).
    func upload(_ bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) -> Tensor
    /// Writes the elements in row-major order to host memory (`bytes.count` = count × element size).
    func download(_ tensor: Tensor, into bytes: UnsafeMutableRawBufferPointer)
    /// Copies element-wise between layouts of the same shape, converting between f32, f64, f16 and bf16.
    func copy(_ source: Tensor, into destination: Tensor)
    /// `tensor` itself when contiguous, else a contiguous copy.
    func contiguous(_ tensor: Tensor) -> Tensor
    func fill(_ tensor: Tensor, with value: Double)

    // MARK: Element-wise, reductions, products

    /// `a op b` with numpy broadcasting.
    func binary(_ operation: BinaryOperation, _ a: Tensor, _ b: Tensor) -> Tensor
    func unary(_ operation: UnaryOperation, _ x: Tensor) -> Tensor
    /// d(op)/dx · gradient, given the op's input and its output.
    func unaryBackward(_ operation: UnaryOperation, gradient: Tensor, input: Tensor, output: Tensor) -> Tensor
    /// `x · factor`.
    func scale(_ x: Tensor, by factor: Double) -> Tensor
    /// `accumulator += factor · x` in place; `accumulator` is contiguous and has x's shape.
    func accumulate(_ x: Tensor, into accumulator: Tensor, factor: Double)
    /// Sums over `axes`, keeping each as size 1 (sum over all axes of a [2, 3] gives [1, 1]).
    func sum(_ x: Tensor, axes: [Int]) -> Tensor
    /// Batched matrix product over the last two axes: a [..., m, k] · b [..., k, n] (each optionally
    /// transposed first). Leading axes must match, or `b` may be 2-D (shared by every batch).
    func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor
    /// `c += factor · op(a) · op(b)` in place, for matrices: a GEMM's alpha and beta = 1, so a sum of
    /// products needs no temporary for each product. `c` is contiguous [m, n].
    func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, factor: Double, addingInto c: Tensor)
    /// Joins tensors along `axis`; every other dimension must match.
    func concat(_ tensors: [Tensor], axis: Int) -> Tensor

    // MARK: Neural-network ops (forward, and what the backward rule needs)

    /// Rows of `table` [vocabulary, width] picked by `indices` (i32, any shape) → indices.shape + [width].
    func embedding(table: Tensor, indices: Tensor) -> Tensor
    /// `tableGradient[indices[i]] += gradient[i]` (rows repeated in `indices` add up).
    func embeddingBackward(gradient: Tensor, indices: Tensor, into tableGradient: Tensor)

    /// Per row of the last axis: `x / sqrt(mean(x²) + ε) ⊙ weight`; also returns 1/rms per row.
    func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Double) -> (output: Tensor, inverseRMS: Tensor)
    func rmsNormBackward(gradient: Tensor, input: Tensor, weight: Tensor, inverseRMS: Tensor) -> (input: Tensor, weight: Tensor)
    /// Per row of the last axis: `(x - mean) / sqrt(var + ε) ⊙ weight + bias`; also mean and 1/std per row.
    func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor?, epsilon: Double) -> (output: Tensor, mean: Tensor, inverseStd: Tensor)
    func layerNormBackward(gradient: Tensor, input: Tensor, weight: Tensor, mean: Tensor, inverseStd: Tensor)
        -> (input: Tensor, weight: Tensor, bias: Tensor)

    /// Rotary position embedding on x [batch, time, heads, headDim], position of time index t =
    /// `firstPosition + t`: pair i rotates by pos · scale · θ^(-2i/headDim), the pairs being
    /// adjacent elements (x[2i], x[2i+1]) — ggml's normal mode, what llama.cpp runs for Llama — or
    /// the two halves (x[i], x[i + headDim/2]) — NEOX mode (Gemma). `inverse` rotates backwards:
    /// the backward rule.
    func rope(_ x: Tensor, rotary: RotaryEmbedding, firstPosition: Int, inverse: Bool) -> Tensor

    /// Causal self-attention: query [B, T, H, D], key and value [B, T, Hkv, D] (H a multiple of
    /// Hkv: grouped-query attention) → output [B, T, H, D] and the softmax weights [B, H, T, T]
    /// that the backward rule reuses. Scores are `scale · q·k`.
    func causalAttention(query: Tensor, key: Tensor, value: Tensor, scale: Double) -> (output: Tensor, weights: Tensor)
    func causalAttentionBackward(gradient: Tensor, query: Tensor, key: Tensor, value: Tensor, weights: Tensor, scale: Double)
        -> (query: Tensor, key: Tensor, value: Tensor)

    func activation(_ kind: Activation, _ x: Tensor) -> Tensor
    func activationBackward(_ kind: Activation, gradient: Tensor, input: Tensor) -> Tensor
    /// `kind(gate) ⊙ up` (SwiGLU with .silu, GeGLU with .gelu*).
    func gated(_ kind: Activation, gate: Tensor, up: Tensor) -> Tensor
    func gatedBackward(_ kind: Activation, gradient: Tensor, gate: Tensor, up: Tensor) -> (gate: Tensor, up: Tensor)

    /// Zeroes each element with probability p and scales the rest by 1/(1-p). The mask (0 or
    /// 1/(1-p), x's dtype and shape) is a pure function of `seed` and the element index, so a
    /// recomputation (gradient checkpointing, a resumed run) draws the same one.
    func dropout(_ x: Tensor, probability: Double, seed: UInt64) -> (output: Tensor, mask: Tensor)

    /// Softmax over the last axis.
    func softmax(_ x: Tensor) -> Tensor
    func softmaxBackward(gradient: Tensor, output: Tensor) -> Tensor

    /// Mean negative log-likelihood of `targets` (i32 [N]) under logits [N, V], log-softmax fused
    /// in; targets equal to `ignoreIndex` count for nothing. Returns the loss (a 0-d tensor), the
    /// log-sum-exp per row for the backward rule, and how many targets counted.
    /// With label smoothing ε, each counted row's target is (1 − ε)·onehot + ε/V (PyTorch's
    /// `label_smoothing`): loss = (1 − ε)·(lse − x[target]) + ε·(lse − mean(x)).
    func crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex: Int32, labelSmoothing: Double)
        -> (loss: Tensor, logSumExp: Tensor, counted: Int)
    /// d loss / d logits = (softmax − smoothed target) · lossGradient / counted (rows with ignored targets: 0).
    func crossEntropyBackward(
        lossGradient: Tensor, logits: Tensor, targets: Tensor, logSumExp: Tensor, ignoreIndex: Int32, labelSmoothing: Double, counted: Int
    ) -> Tensor

    // MARK: Images ([batch, channels, height, width], PyTorch's NCHW)

    /// 2-D cross-correlation (PyTorch's conv2d): input [N, C, H, W], weight [O, C/groups, kh, kw],
    /// bias [O] → [N, O, Ho, Wo] (`Window2D.outputSize`); channels split into `groups` independent groups.
    func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor?, window: Window2D, groups: Int) -> Tensor
    /// The gradients of `conv2d` given the gradient of its output: the input's (nil unless
    /// `inputGradient`, e.g. not for the first layer), the weight's and the bias's (Σ over N, Ho, Wo).
    func conv2dBackward(gradient: Tensor, input: Tensor, weight: Tensor, window: Window2D, groups: Int, inputGradient: Bool)
        -> (input: Tensor?, weight: Tensor, bias: Tensor)
    /// Max or average pooling of each channel: [N, C, H, W] → [N, C, Ho, Wo] (dilation must be 1 for
    /// averages). Max pooling also returns where each maximum was (i32, its index in the H × W plane)
    /// for the backward rule.
    func pool2d(_ kind: Pooling, _ input: Tensor, window: Window2D) -> (output: Tensor, argmax: Tensor?)
    /// The input gradient of `pool2d` (`inputShape` the input's shape).
    func pool2dBackward(_ kind: Pooling, gradient: Tensor, inputShape: [Int], argmax: Tensor?, window: Window2D) -> Tensor
    /// Batch normalisation over axis 1 (channels) of [N, C, ...]: statistics over every other axis,
    /// `(x − mean)·inverseStd ⊙ weight + bias` with the biased variance (PyTorch's training mode); also
    /// returns the per-channel mean and 1/sqrt(var + ε) [C]. Weight and bias nil mean 1 and 0.
    func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Double) -> (output: Tensor, mean: Tensor, inverseStd: Tensor)
    func batchNormBackward(gradient: Tensor, input: Tensor, weight: Tensor?, mean: Tensor, inverseStd: Tensor)
        -> (input: Tensor, weight: Tensor, bias: Tensor)
    /// `x ⊙ scale + shift` per channel (axis 1) of [N, C, ...]: batch normalisation in evaluation mode
    /// with its running statistics folded into scale and shift [C].
    func channelAffine(_ x: Tensor, scale: Tensor, shift: Tensor) -> Tensor

    // MARK: Frozen weights (a pretrained base in its stored type: LoRA and QLoRA)

    /// The inference backend that makes the frozen weights these ops take (`makeWeight` from a
    /// GGUF tensor: quantized or float, never dequantized whole) and runs their forward kernels.
    var inference: any ComputeBackend { get }
    /// `x · Wᵀ` for x [..., inputs] → [..., outputs], W the frozen [outputs, inputs] weight.
    func frozenLinear(_ x: Tensor, weight: Weight) -> Tensor
    /// `output += x · Wᵀ` in place (`output` contiguous, [..., outputs] with x's leading shape): a
    /// GEMM's beta = 1, so a sum whose other term is cheap (a LoRA branch) is formed first and the
    /// frozen product lands on it.
    func frozenLinear(_ x: Tensor, weight: Weight, addingInto output: Tensor)
    /// `gradient · W` for gradient [..., outputs] → [..., inputs]: the input gradient of
    /// `frozenLinear` (a frozen weight gets no gradient of its own).
    func frozenLinearInputGradient(_ gradient: Tensor, weight: Weight) -> Tensor
    /// Cross-entropy (as `crossEntropy`, no label smoothing) of `targets` under the logits x · Wᵀ of
    /// a frozen output projection W [vocabulary, inputs], x [N, inputs]: a language model's head and
    /// its loss as one op. With `inputGradient`, also d loss / d x for a loss gradient of 1 —
    /// (softmax − onehot) / counted · W — from the same pass over W (the backward rule scales it by
    /// the loss's gradient); the [N, vocabulary] logits are never stored.
    func frozenLinearCrossEntropy(_ x: Tensor, weight: Weight, targets: Tensor, ignoreIndex: Int32, inputGradient: Bool)
        -> (loss: Tensor, inputGradient: Tensor?, counted: Int)
    /// `scale × table[indices]` for i32 indices of any shape → indices.shape + [width].
    func frozenEmbedding(_ indices: Tensor, table: Weight, scale: Double, dtype: DType) -> Tensor

    // MARK: Optimizer steps (in place)

    /// Σ x² (for global-norm gradient clipping).
    func squaredNorm(_ x: Tensor) -> Double
    /// One AdamW update of `parameter` (decoupled weight decay), moments updated in place.
    func adamW(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, step: AdamWStep)
    /// One SGD update: v = μ·v + g (+ wd·θ); θ -= lr · (nesterov ? g + μ·v : v). `velocity` nil when μ = 0.
    func sgd(parameter: Tensor, gradient: Tensor, velocity: Tensor?, step: SGDStep)
}

/// How a rotary embedding pairs and turns a head's elements (see `TensorBackend.rope`).
public struct RotaryEmbedding: Sendable, Equatable {
    public enum Pairing: Sendable, Hashable {
        /// (x[2i], x[2i+1]): ggml's normal mode (Llama as GGUF stores it).
        case adjacent
        /// (x[i], x[i + headDim/2]): NEOX mode (Gemma, GPT-NeoX).
        case halves
    }

    public var theta: Double
    public var pairing: Pairing
    /// Linear position scaling: positions are multiplied by this before the angles (1 = none).
    public var positionScale: Double

    public init(theta: Double, pairing: Pairing = .adjacent, positionScale: Double = 1) {
        self.theta = theta
        self.pairing = pairing
        self.positionScale = positionScale
    }
}

extension TensorBackend {
    /// Cross-entropy without label smoothing.
    public func crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex: Int32) -> (loss: Tensor, logSumExp: Tensor, counted: Int) {
        crossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex, labelSmoothing: 0)
    }

    public func crossEntropyBackward(
        lossGradient: Tensor, logits: Tensor, targets: Tensor, logSumExp: Tensor, ignoreIndex: Int32, counted: Int
    ) -> Tensor {
        crossEntropyBackward(
            lossGradient: lossGradient, logits: logits, targets: targets, logSumExp: logSumExp, ignoreIndex: ignoreIndex,
            labelSmoothing: 0, counted: counted)
    }

    /// Rotary embedding in ggml's normal mode (adjacent pairs), unscaled.
    public func rope(_ x: Tensor, theta: Double, firstPosition: Int, inverse: Bool) -> Tensor {
        rope(x, rotary: RotaryEmbedding(theta: theta), firstPosition: firstPosition, inverse: inverse)
    }
}

public enum BinaryOperation: Sendable {
    case add, subtract, multiply, divide
}

public enum UnaryOperation: Sendable {
    case negate, exp, log, sqrt, square, tanh, reciprocal
}

public enum Activation: String, Sendable {
    case relu, silu
    /// Exact GELU, x·Φ(x).
    case gelu
    /// GELU with the tanh approximation (GPT-2, Gemma).
    case geluTanh
}

public struct AdamWStep: Sendable {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// 1-based step count, for bias correction.
    public var step: Int

    public init(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double, step: Int) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.step = step
    }
}

public struct SGDStep: Sendable {
    public var learningRate: Double
    public var momentum: Double
    public var weightDecay: Double
    public var nesterov: Bool

    public init(learningRate: Double, momentum: Double, weightDecay: Double, nesterov: Bool) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }
}
