#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// 8-bit activation blocks the way llama.cpp's CPU backend actually makes them at run time
/// (ggml-cpu `quantize_row_q8_0` / `quantize_row_q8_1` on x86): id = 127 / amax and codes rounded
/// half to even. This differs from ggml's *reference* quantizer (d = amax / 127, id = 1 / d,
/// `roundf`), which `Quantization.quantize` keeps for gguf-py parity, in the last bit of id and in
/// ties; following the run-time path keeps our matmul inputs identical to llama.cpp's.
enum ActivationQuantizer {
    /// What a block stores after d (f16): nothing (Q8_0), s = f16(d·Σq) (Q8_1), or exact i16 Σq (Q8S).
    enum Sum { case none, scaled, exact }

    static func quantize(_ x: UnsafePointer<Float>, count: Int, sum: Sum, into destination: UnsafeMutableRawPointer) {
        let blockBytes = sum == .none ? 34 : 36
        let codes = sum == .none ? 2 : 4
        for block in 0..<(count / 32) {
            let source = x + 32 * block
            let out = destination + block * blockBytes
            #if arch(x86_64)
            let v0 = _mm256_loadu_ps(source), v1 = _mm256_loadu_ps(source + 8)
            let v2 = _mm256_loadu_ps(source + 16), v3 = _mm256_loadu_ps(source + 24)
            let sign = _mm256_set1_ps(-0.0)
            var maxAbs = _mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1))
            maxAbs = _mm256_max_ps(maxAbs, _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)))
            let amax = horizontalMax(maxAbs)
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            storeHalf(d, out, 0)
            let scale = _mm256_set1_ps(id)
            // cvtps rounds in the MXCSR mode, half to even by default: the same as ggml's
            // _mm256_round_ps(_MM_ROUND_NEAREST) before its conversion (a macro Swift cannot import).
            let i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, scale))
            let i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, scale))
            let i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, scale))
            let i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, scale))
            if sum != .none {
                let total = unsafeBitCast(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)), to: SIMD8<Int32>.self)
                    .wrappedSum()
                storeSum(total, d, sum, out)
            }
            // Saturating packs interleave 128-bit lanes; the permutation restores element order.
            let packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3))
            storeu256(_mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)), out + codes)
            #else
            var amax: Float = 0
            for e in 0..<32 { amax = max(amax, abs(source[e])) }
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            storeHalf(d, out, 0)
            var total: Int32 = 0
            for e in 0..<32 {
                let q = Int8(clamping: Int32((source[e] * id).rounded(.toNearestOrEven)))
                total &+= Int32(q)
                out.storeBytes(of: q, toByteOffset: codes + e, as: Int8.self)
            }
            if sum != .none { storeSum(total, d, sum, out) }
            #endif
        }
    }

    @inline(__always) private static func storeSum(_ total: Int32, _ d: Float, _ sum: Sum, _ out: UnsafeMutableRawPointer) {
        if sum == .scaled {
            storeHalf(d * Float(total), out, 2)
        } else {
            out.storeBytes(of: Int16(truncatingIfNeeded: total).littleEndian, toByteOffset: 2, as: Int16.self)
        }
    }
}

#if arch(x86_64)
/// The largest lane, exactly. (`SIMD8.max()` compiled to an out-of-line generic call per block that
/// took ~0.8 % of a four-slot server pass, all of it on the thread that quantizes.)
@inline(__always) func horizontalMax(_ v: __m256) -> Float {
    let four = _mm_max_ps(v.lowHalf, v.highHalf)
    let two = _mm_max_ps(four, _mm_movehl_ps(four, four))
    return _mm_cvtss_f32(_mm_max_ps(two, _mm_movehdup_ps(two)))
}
#endif
