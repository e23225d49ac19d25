#if arch(x86_64)
import _Builtin_intrinsics.intel
import GGUF

// AVX2 dispatch and the small helpers shared by the kernel families. Each family is a generic driver
// specialized per format through a protocol with static members, so the format's decode inlines
// into the loop and no type switch runs per block.

enum AVX2Kernels {
    static func matmul(_ type: GGMLTypeID, _ job: MatmulJob) {
        switch type {
        case .f32: FloatAVX2.matmul(F32Row.self, job)
        case .f16: FloatAVX2.matmul(F16Row.self, job)
        case .bf16: FloatAVX2.matmul(BF16Row.self, job)
        case .q4_0: LegacyAVX2.matmul(Q4_0Codes.self, job)
        case .q4_1: LegacyAVX2.matmul(Q4_1Codes.self, job)
        case .q5_0: LegacyAVX2.matmul(Q5_0Codes.self, job)
        case .q5_1: LegacyAVX2.matmul(Q5_1Codes.self, job)
        case .q8_0: LegacyAVX2.matmul(Q8_0Codes.self, job)
        case .q2_K: KQuantAVX2.matmul(Q2_KCodes.self, job)
        case .q3_K: KQuantAVX2.matmul(Q3_KCodes.self, job)
        case .q4_K: KQuantAVX2.matmul(Q4_KCodes.self, job)
        case .q5_K: KQuantAVX2.matmul(Q5_KCodes.self, job)
        case .q6_K: KQuantAVX2.matmul(Q6_KCodes.self, job)
        default: preconditionFailure("AVX2 matmul: no kernel for ggml type \(type)")
        }
    }
}

@inline(__always) func loadu256(_ p: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self))
}

@inline(__always) func loadu128(_ p: UnsafeRawPointer) -> __m128i {
    _mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self))
}

@inline(__always) func storeu256(_ v: __m256i, _ p: UnsafeMutableRawPointer) {
    _mm256_storeu_si256(p.assumingMemoryBound(to: __m256i_u.self), v)
}

@inline(__always) func byteMask(_ v: Int8) -> __m256i { _mm256_set1_epi8(v) }

/// Sum of the 32 products of two int8 vectors as 8 f32 lanes, for signed codes in -128...127 against
/// activation codes in -127...127. maddubs wants an unsigned left operand, so the weight's sign moves
/// onto the activation; pairs then sum to at most 2*128*127 = 32512, inside i16.
@inline(__always) func signedProduct(absCodes: __m256i, codes: __m256i, _ y: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(absCodes, _mm256_sign_epi8(y, codes)), _mm256_set1_epi16(1))
}
#endif
