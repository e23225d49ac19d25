#if arch(x86_64)
import _Builtin_intrinsics.intel

extension LegacyAVX2 {
    /// Blocks of a 32-element legacy type to f32, eight values a step. The arithmetic is
    /// `Legacy32.dequantize`'s — code · d, then + m for the types with a min, as separate roundings —
    /// so the results are bit-identical to it (and to gguf-py); only the decoding is vectorised.
    /// Fine-tuning dequantizes every frozen weight twice a step (forward and input gradient), where
    /// the scalar loop measured a fifth of the step.
    static func dequantize<F: Legacy32AVX2Format>(
        _: F.Type, _ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, blocks: Int
    ) {
        for index in 0..<blocks {
            let block = source + index * F.blockBytes
            let out = destination + index * 32
            let codes = F.codes(block)
            let scale = _mm256_set1_ps(loadHalf(block, 0))
            let minimum = _mm256_set1_ps(F.hasMin ? loadHalf(block, 2) : 0)
            // Eight codes at a time — one 64-bit lane of the __m256i, which Swift sees as
            // SIMD4<Int64> — widened to i32 lanes.
            for part in 0..<4 {
                var values = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(codes[part]))), scale)
                if F.hasMin { values = _mm256_add_ps(values, minimum) }
                _mm256_storeu_ps(out + 8 * part, values)
            }
        }
    }
}
#endif
