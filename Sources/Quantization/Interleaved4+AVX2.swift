#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Kernels for `Interleaved4` (Q8_0 in four-row groups).
enum Interleaved4AVX2 {
    /// Integer Σ c·y of one row block against activation codes `y` (|y| in `magnitudes`), as eight
    /// i32 partial sums. maddubs multiplies unsigned by signed bytes, so one side's signs move to the
    /// other: in general onto the activations (|c|·sign(y, c), which is right even for c = −128, read
    /// as unsigned 128); with symmetric codes onto the weights (|y|·sign(c, y)), where |y| is shared by
    /// the four rows — one sign operation per row block instead of two. Both sums are exact.
    @inline(__always) private static func rowSums(_ codes: UnsafeRawPointer, _ y: __m256i, _ magnitudes: __m256i, symmetric: Bool) -> __m256i {
        let c = loadu256(codes)
        let products = symmetric ? _mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(c, y)) : _mm256_maddubs_epi16(_mm256_sign_epi8(c, c), _mm256_sign_epi8(y, c))
        return _mm256_madd_epi16(products, _mm256_set1_epi16(1))
    }

    /// Lanes [r0 r1 r2 r3 | r0 r1 r2 r3]: each half holds half of each row's sum.
    @inline(__always) private static func fourRows(_ gb: UnsafeRawPointer, _ y: __m256i, symmetric: Bool) -> __m256i {
        let m = symmetric ? _mm256_sign_epi8(y, y) : y
        let s0 = rowSums(gb + 8, y, m, symmetric: symmetric), s1 = rowSums(gb + 40, y, m, symmetric: symmetric)
        let s2 = rowSums(gb + 72, y, m, symmetric: symmetric), s3 = rowSums(gb + 104, y, m, symmetric: symmetric)
        return _mm256_hadd_epi32(_mm256_hadd_epi32(s0, s1), _mm256_hadd_epi32(s2, s3))
    }

    /// The group block's four f16 scales, in both halves.
    @inline(__always) private static func scales(_ gb: UnsafeRawPointer) -> __m256 {
        _mm256_cvtph_ps(_mm_set1_epi64x(gb.loadUnaligned(as: Int64.self)))
    }

    /// `dy`: the activation block's scale, converted from f16 once per call (see `matmul`).
    @inline(__always) private static func step(_ gb: UnsafeRawPointer, _ weightScales: __m256, _ ab: UnsafeRawPointer, _ dy: Float, _ acc: inout __m256, _ symmetric: Bool) {
        let sums = fourRows(gb, loadu256(ab + 2), symmetric: symmetric)
        acc = _mm256_fmadd_ps(_mm256_mul_ps(weightScales, _mm256_set1_ps(dy)), _mm256_cvtepi32_ps(sums), acc)
    }

    @inline(__always) private static func store(_ acc: __m256, _ job: MatmulJob, _ row: Int, _ b: Int) {
        let v = unsafeBitCast(acc, to: SIMD8<Float>.self)
        UnsafeMutableRawPointer(job.output + b * job.outputStride + row).storeBytes(of: v.lowHalf + v.highHalf, as: SIMD4<Float>.self)
    }

    /// `job.rows` are whole groups of four; activations are Q8_0 rows.
    ///
    /// Every activation row is summed the same way whatever the batch: even blocks into one
    /// accumulator, odd blocks into another, the two added at the end. The four-row loop only
    /// shares each group block's loads among four activation rows, so results are batch-invariant.
    static func matmul(_ job: MatmulJob, symmetric: Bool) {
        precondition(job.rows.lowerBound % 4 == 0 && job.rows.upperBound % 4 == 0, "interleaved Q8_0 matmul: rows \(job.rows) not whole groups of 4")
        let blocks = job.columns / 32
        // The activation scales as f32, converted once per call instead of once per weight group:
        // a scalar f16 load, conversion and broadcast per row block measured ~10 % of the four-row
        // loop on Zen 1 (C microbenchmark of the same loop, docs/BENCHMARKS.md).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: job.batch * blocks) { scales in
            for b in 0..<job.batch {
                let a = job.activationRow(b)
                for i in 0..<blocks { scales[b * blocks + i] = loadHalf(a, 34 * i) }
            }
            let dy = UnsafePointer(scales.baseAddress!)
            if symmetric { run(job, dy, symmetric: true) } else { run(job, dy, symmetric: false) }
        }
    }

    /// `dy[b * blocks + i]`: the scale of activation row b's block i.
    @inline(__always) private static func run(_ job: MatmulJob, _ dy: UnsafePointer<Float>, symmetric: Bool) {
        let blocks = job.columns / 32
        let ahead = prefetchDistance
        let stride = job.activationRowBytes
        for group in (job.rows.lowerBound / 4)..<(job.rows.upperBound / 4) {
            let w = job.weights + group * 4 * job.weightRowBytes
            var b = 0
            while b + 4 <= job.batch {
                let a = job.activationRow(b)
                var e0 = _mm256_setzero_ps(), e1 = e0, e2 = e0, e3 = e0
                var o0 = e0, o1 = e0, o2 = e0, o3 = e0
                var i = 0
                while i + 2 <= blocks {
                    let gb = w + i * 136, gb1 = gb + 136
                    prefetch(gb + ahead, bytes: 272)
                    let d = scales(gb), d1 = scales(gb1)
                    let a0 = a + i * 34, a1 = a0 + stride, a2 = a1 + stride, a3 = a2 + stride
                    let s0 = dy + b * blocks + i, s1 = s0 + blocks, s2 = s1 + blocks, s3 = s2 + blocks
                    step(gb, d, a0, s0[0], &e0, symmetric); step(gb, d, a1, s1[0], &e1, symmetric)
                    step(gb, d, a2, s2[0], &e2, symmetric); step(gb, d, a3, s3[0], &e3, symmetric)
                    step(gb1, d1, a0 + 34, s0[1], &o0, symmetric); step(gb1, d1, a1 + 34, s1[1], &o1, symmetric)
                    step(gb1, d1, a2 + 34, s2[1], &o2, symmetric); step(gb1, d1, a3 + 34, s3[1], &o3, symmetric)
                    i += 2
                }
                if i < blocks {
                    let gb = w + i * 136, d = scales(gb)
                    let a0 = a + i * 34, a1 = a0 + stride, a2 = a1 + stride, a3 = a2 + stride
                    let s0 = dy + b * blocks + i, s1 = s0 + blocks, s2 = s1 + blocks, s3 = s2 + blocks
                    step(gb, d, a0, s0[0], &e0, symmetric); step(gb, d, a1, s1[0], &e1, symmetric)
                    step(gb, d, a2, s2[0], &e2, symmetric); step(gb, d, a3, s3[0], &e3, symmetric)
                }
                store(_mm256_add_ps(e0, o0), job, group * 4, b)
                store(_mm256_add_ps(e1, o1), job, group * 4, b + 1)
                store(_mm256_add_ps(e2, o2), job, group * 4, b + 2)
                store(_mm256_add_ps(e3, o3), job, group * 4, b + 3)
                b += 4
            }
            while b < job.batch {
                let a = job.activationRow(b), s = dy + b * blocks
                var acc0 = _mm256_setzero_ps(), acc1 = acc0
                var i = 0
                while i + 2 <= blocks {
                    let gb = w + i * 136
                    prefetch(gb + ahead, bytes: 272)
                    step(gb, scales(gb), a + i * 34, s[i], &acc0, symmetric)
                    step(gb + 136, scales(gb + 136), a + (i + 1) * 34, s[i + 1], &acc1, symmetric)
                    i += 2
                }
                if i < blocks { step(w + i * 136, scales(w + i * 136), a + i * 34, s[i], &acc0, symmetric) }
                store(_mm256_add_ps(acc0, acc1), job, group * 4, b)
                b += 1
            }
        }
    }
}
#endif
