import CBFloat16GEMM

/// The operands' precision in the CPU's big f32 training products — those with frozen weights
/// (fine-tuning: forward, input gradient and the fused head, on dequantized tiles) and the
/// convolutions (training CNNs: forward, input and weight gradients). Sums are f32 in both.
public enum ProductPrecision: String, Sendable, CaseIterable {
    /// f32 GEMM (OpenBLAS): the exact product of the dequantized weights.
    case float32 = "f32"
    /// Both operands rounded to bf16, products summed in f32 (AVX512-BF16 dot products): QLoRA's
    /// compute type (its 4-bit weights are dequantized to bf16 for every matmul), and mixed
    /// precision as PyTorch's autocast runs a convolution. About twice f32's speed where the CPU
    /// has the instructions; results differ from f32 by bf16's rounding, about 2⁻⁹ relative per
    /// operand. Weights (the master copy), their gradients and everything else stay f32.
    case bfloat16 = "bf16"

    /// Whether this CPU (and OS) run AVX512-BF16.
    public static let bfloat16Available = atl_bf16_supported() != 0

    /// bf16 where the CPU has it, else f32.
    public static var preferred: ProductPrecision { bfloat16Available ? .bfloat16 : .float32 }
}
