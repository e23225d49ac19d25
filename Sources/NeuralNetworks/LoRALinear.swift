import Autograd
import Compute
import TensorOps
import Tensors

/// A frozen linear map with an optional trainable low-rank update (Hu et al. 2021, "LoRA"):
///
///     y = x · Wᵀ + (α / r) · (x · Aᵀ) · Bᵀ        W [out, in] frozen, A [r, in], B [out, r]
///
/// A starts Kaiming-uniform (U(±1/√in), as PEFT initialises it) and B at zero, so training starts
/// from the base model exactly. The parameters are named `<W's name>.lora_a` / `.lora_b`, the
/// tensor names of llama.cpp's adapter files.
public final class LoRALinear: Layer {
    public let base: Weight
    public let update: LowRankUpdate?

    public init(base: Weight, update: LowRankUpdate? = nil) {
        if let update {
            precondition(
                update.a.shape == [update.rank, base.columns] && update.b.shape == [base.rows, update.rank], "LoRA shapes for \(base.name)")
        }
        self.base = base
        self.update = update
    }

    public var parameters: [Variable] { update.map { [$0.a, $0.b] } ?? [] }

    public func callAsFunction(_ x: Variable) -> Variable {
        guard let update else { return x.frozenLinear(base) }
        return x.loraLinear(base, a: update.a, b: update.b, scale: update.scale)
    }
}

/// The trainable half of a `LoRALinear`: A, B and the scale α / r.
public struct LowRankUpdate {
    public let a: Variable
    public let b: Variable
    public let alpha: Double

    public var rank: Int { a.shape[0] }
    public var scale: Double { alpha / Double(rank) }

    public init(a: Variable, b: Variable, alpha: Double) {
        self.a = a
        self.b = b
        self.alpha = alpha
    }

    /// A fresh update for `base`: A ~ U(±1/√in), B = 0.
    public init(for base: Weight, rank: Int, alpha: Double, backend: any TensorBackend, random: inout SeededRandom, dtype: DType = .f32) {
        let bound = 1 / Double(base.columns).squareRoot()
        let values = (0..<rank * base.columns).map { _ in (2 * random.uniform() - 1) * bound }
        let a = backend.zeros([rank, base.columns], dtype: dtype)
        backend.copy(backend.tensor(values, shape: [rank, base.columns]), into: a)
        self.a = Variable(a, backend: backend, requiresGradient: true, name: base.name + ".lora_a")
        b = Variable(backend.zeros([base.rows, rank], dtype: dtype), backend: backend, requiresGradient: true, name: base.name + ".lora_b")
        self.alpha = alpha
    }
}
