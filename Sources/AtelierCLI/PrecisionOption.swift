import ArgumentParser
import TensorOps

extension ProductPrecision {
    /// The value of a precision option (`--frozen-precision`, `--precision`): `auto` (bf16 where
    /// the CPU has AVX512-BF16, else f32), `f32` or `bf16`; bf16 on a CPU without it is refused.
    static func parse(_ value: String, option: String) throws -> ProductPrecision {
        if value == "auto" { return .preferred }
        guard let precision = ProductPrecision(rawValue: value) else {
            throw ValidationError("\(option) \(value): expected auto, f32 or bf16")
        }
        if precision == .bfloat16 && !bfloat16Available {
            throw ValidationError("\(option) bf16: this CPU lacks AVX512-BF16 (use f32 or auto)")
        }
        return precision
    }
}
