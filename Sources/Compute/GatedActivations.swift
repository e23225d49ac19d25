#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `activation(gate) ⊙ up`, eight lanes at a time.
///
/// Both activations are written as x·σ(a(x)): SiLU is x·σ(x), and tanh-GELU
/// 0.5·x·(1 + tanh(u)) equals x·σ(2u) exactly (1 + tanh(u) = 2σ(2u)), u = √(2/π)(x + 0.044715x³).
/// So each element costs one exponential and one division. The sigmoid form is also the more
/// accurate one for negative x, where 1 + tanh(u) cancels. (ggml computes SiLU the same way with
/// its own vector exp, and tanh-GELU from an f16 table.) Scalar `expf`/`tanhf` per element took
/// 2.5–3.5 % of a Gemma 3 decode step and ~2 % of SmolLM2's four-row server pass.
enum GatedActivations {
    /// Applies `activation` to `count` elements; every element gets the same vector arithmetic,
    /// the tail included, so results do not depend on how rows are split over threads.
    static func apply(
        _ activation: GatedActivation, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
        into output: UnsafeMutablePointer<Float>, count: Int
    ) {
        #if arch(x86_64)
        switch activation {
        case .silu: run(gate, up, output, count) { x in x }
        case .geluTanh:
            run(gate, up, output, count) { x in
                // 2u = 2√(2/π)·x·(1 + 0.044715·x²)
                let x2 = _mm256_mul_ps(x, x)
                let inner = _mm256_fmadd_ps(_mm256_set1_ps(0.044715), x2, _mm256_set1_ps(1))
                return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(2 * 0.797_884_560_802_865_4), x), inner)
            }
        }
        #else
        for i in 0..<count {
            let x = gate[i]
            let a = activation == .silu ? x : 2 * 0.797_884_560_802_865_4 * x * (1 + 0.044715 * x * x)
            output[i] = x / (1 + expf(-a)) * up[i]
        }
        #endif
    }

    #if arch(x86_64)
    /// out = x·σ(argument(x))·up over `count` elements, the tail through a zero-padded vector.
    @inline(__always)
    private static func run(
        _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        _ count: Int, _ argument: (__m256) -> __m256
    ) {
        @inline(__always) func value(_ x: __m256, _ u: __m256) -> __m256 {
            let denominator = _mm256_add_ps(_mm256_set1_ps(1), exp(_mm256_sub_ps(_mm256_setzero_ps(), argument(x))))
            return _mm256_mul_ps(_mm256_div_ps(x, denominator), u)
        }
        var i = 0
        while i + 8 <= count {
            _mm256_storeu_ps(output + i, value(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)))
            i += 8
        }
        if i < count {
            var x = SIMD8<Float>(repeating: 0), u = x
            for j in 0..<(count - i) { x[j] = gate[i + j]; u[j] = up[i + j] }
            let v = value(x, u)
            for j in 0..<(count - i) { output[i + j] = v[j] }
        }
    }

    /// e^x per lane, within ~2 ulp of the true value: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in
    /// two parts so n·ln2 is exact), e^r by its Taylor series to r⁷ (remainder < 1e-8), then 2ⁿ
    /// applied as two normal-float factors, so results above the float range become +∞ as they
    /// should. Inputs below −87 give ~1e-38 instead of something smaller, which no sigmoid can
    /// tell apart; inputs above 176 are clamped there (already ∞).
    @inline(__always)
    static func exp(_ x: __m256) -> __m256 {
        let clamped = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(176)), _mm256_set1_ps(-87))
        let n = _mm256_cvtps_epi32(_mm256_mul_ps(clamped, _mm256_set1_ps(1.442_695_040_888_963_4)))
        let nf = _mm256_cvtepi32_ps(n)
        var r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(0.693_145_751_953_125), clamped)
        r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(1.428_606_820_309_417_e-6), r)
        var p = _mm256_set1_ps(1.0 / 5040)
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 720))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 120))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 24))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 6))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1))
        // n ∈ [−126, 254]: 2ⁿ = 2^⌊n/2⌋ · 2^(n−⌊n/2⌋), both factors normal.
        let half = _mm256_srai_epi32(n, 1), rest = _mm256_sub_epi32(n, half)
        let bias = _mm256_set1_epi32(127)
        let first = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23))
        let second = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(rest, bias), 23))
        return _mm256_mul_ps(_mm256_mul_ps(p, first), second)
    }
    #endif
}
