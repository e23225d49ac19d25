#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Kernels for `Interleaved4` (Q8_0 in four-row groups).
enum Interleaved4AVX2 {
    /// Integer Σ c·y of one row block against activation codes `y`, as eight i32 partial sums.
    @inline(__always) private static func rowSums(_ codes: UnsafeRawPointer, _ y: __m256i) -> __m256i {
        let c = loadu256(codes)
        return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(c, c), _mm256_sign_epi8(y, c)), _mm256_set1_epi16(1))
    }

    /// Lanes [r0 r1 r2 r3 | r0 r1 r2 r3]: each half holds half of each row's sum.
    @inline(__always) private static func fourRows(_ gb: UnsafeRawPointer, _ y: __m256i) -> __m256i {
        let s0 = rowSums(gb + 8, y), s1 = rowSums(gb + 40, y), s2 = rowSums(gb + 72, y), s3 = rowSums(gb + 104, y)
        return _mm256_hadd_epi32(_mm256_hadd_epi32(s0, s1), _mm256_hadd_epi32(s2, s3))
    }

    /// The group block's four f16 scales, in both halves.
    @inline(__always) private static func scales(_ gb: UnsafeRawPointer) -> __m256 {
        _mm256_cvtph_ps(_mm_set1_epi64x(gb.loadUnaligned(as: Int64.self)))
    }

    @inline(__always) private static func step(_ gb: UnsafeRawPointer, _ ab: UnsafeRawPointer, _ acc: inout __m256) {
        let sums = fourRows(gb, loadu256(ab + 2))
        acc = _mm256_fmadd_ps(_mm256_mul_ps(scales(gb), _mm256_set1_ps(loadHalf(ab, 0))), _mm256_cvtepi32_ps(sums), acc)
    }

    @inline(__always) private static func store(_ acc: __m256, _ job: MatmulJob, _ row: Int, _ b: Int) {
        let v = unsafeBitCast(acc, to: SIMD8<Float>.self)
        UnsafeMutableRawPointer(job.output + b * job.outputStride + row).storeBytes(of: v.lowHalf + v.highHalf, as: SIMD4<Float>.self)
    }

    /// `job.rows` are whole groups of four; activations are Q8_0 rows.
    static func matmul(_ job: MatmulJob) {
        precondition(job.rows.lowerBound % 4 == 0 && job.rows.upperBound % 4 == 0, "interleaved Q8_0 matmul: rows \(job.rows) not whole groups of 4")
        let blocks = job.columns / 32
        for group in (job.rows.lowerBound / 4)..<(job.rows.upperBound / 4) {
            let w = job.weights + group * 4 * job.weightRowBytes
            for b in 0..<job.batch {
                let a = job.activationRow(b)
                var acc0 = _mm256_setzero_ps(), acc1 = acc0
                var i = 0
                while i + 2 <= blocks {
                    step(w + i * 136, a + i * 34, &acc0)
                    step(w + (i + 1) * 136, a + (i + 1) * 34, &acc1)
                    i += 2
                }
                if i < blocks { step(w + i * 136, a + i * 34, &acc0) }
                store(_mm256_add_ps(acc0, acc1), job, group * 4, b)
            }
        }
    }
}
#endif
