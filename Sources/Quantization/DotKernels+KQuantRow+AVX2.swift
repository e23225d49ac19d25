#if arch(x86_64)
import _Builtin_intrinsics.intel

// One-row (decode) products for Q4_K and Q6_K, the K-quants of the common *_K_M files.
//
// The general K-quant driver decodes each super-block into a stack buffer and builds its scale
// vectors through memory so that up to four activation rows can share them; for a single row that
// round trip is most of the work (2.5–3.2 GB/s per thread). Here codes and scales stay in registers.
// The integer lanes and the two float operations per super-block are exactly the general driver's,
// so a row gets the same bits from either path (the batch-invariance test checks it).

enum KQuantOneRowAVX2 {
    /// Scale and min bytes of a Q4_K super-block's eight sub-blocks, from its 12 packed bytes:
    /// sub-blocks 0–3 keep 6 bits in bytes 0–3 (scales) and 4–7 (mins); sub-blocks 4–7 take their
    /// low 4 bits from the nibbles of bytes 8–11 and their top 2 bits from bits 6–7 of bytes 0–7.
    @inline(__always) static func q4KScalesAndMins(_ p: UnsafeRawPointer) -> (scales: UInt64, mins: UInt64) {
        let first = UInt64(p.loadUnaligned(as: UInt32.self))
        let second = UInt64(p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let third = UInt64(p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let scalesHigh = (third & 0x0F0F_0F0F) | (((first >> 6) & 0x0303_0303) << 4)
        let minsHigh = ((third >> 4) & 0x0F0F_0F0F) | (((second >> 6) & 0x0303_0303) << 4)
        return ((first & 0x3F3F_3F3F) | scalesHigh << 32, (second & 0x3F3F_3F3F) | minsHigh << 32)
    }

    @inline(__always) private static func byte(_ word: UInt64, _ i: Int) -> Int16 {
        Int16(truncatingIfNeeded: (word >> UInt64(8 * i)) & 0xFF)
    }

    /// Σ code·y per pair of 32-bit lanes, weighted by one scale for all 32 elements.
    @inline(__always) private static func scaledSums(_ codes: __m256i, _ y: UnsafeRawPointer, _ scale: Int16) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(codes, loadu256(y)), _mm256_set1_epi16(scale))
    }

    static func q4_K(_ job: MatmulJob) {
        let blocks = job.columns / 256, ahead = prefetchDistance
        let a = job.activationRow(0)
        let low4 = byteMask(0x0F)
        // Each min applies to 32 elements, i.e. two of Q8_K's 16-element sums: repeat every byte.
        let pairs = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)
        for r in job.rows {
            let w = job.weightRow(r)
            var acc = _mm256_setzero_ps()
            for i in 0..<blocks {
                let wb = w + i * 144, ab = a + i * 292
                prefetch(wb + ahead, bytes: 144)
                let (scales, mins) = q4KScalesAndMins(wb + 4)
                var isum = _mm256_setzero_si256()
                for k in 0..<4 {
                    let x = loadu256(wb + 16 + 32 * k)
                    isum = _mm256_add_epi32(isum, scaledSums(_mm256_and_si256(x, low4), ab + 4 + 64 * k, byte(scales, 2 * k)))
                    isum = _mm256_add_epi32(
                        isum, scaledSums(_mm256_and_si256(_mm256_srli_epi16(x, 4), low4), ab + 36 + 64 * k, byte(scales, 2 * k + 1)))
                }
                let minPairs = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_cvtsi64_si128(Int64(bitPattern: mins)), pairs))
                let csum = _mm256_madd_epi16(minPairs, loadu256(ab + 260))
                let da = loadFloat(ab, 0)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(da * loadHalf(wb, 0)), _mm256_cvtepi32_ps(isum), acc)
                acc = _mm256_fnmadd_ps(_mm256_set1_ps(da * loadHalf(wb, 2)), _mm256_cvtepi32_ps(csum), acc)
            }
            job.store(acc.sum(), row: r, batch: 0)
        }
    }

    /// vpshufb control that repeats i16 lane 2u in the low 128-bit half and lane 2u + 1 in the high half.
    @inline(__always) private static func pickControl(_ u: Int8) -> __m256i {
        let lo = 4 * u, hi = 4 * u + 2
        return _mm256_setr_epi8(
            lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1,
            hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1)
    }

    /// Q6_K: codes are 4 low bits (ql) and 2 high bits (qh), value = d·scale·(code − 32) with a
    /// signed 8-bit scale per 16 elements, so one 32-element vector has scale 2v in its low half
    /// and 2v + 1 in its high half.
    static func q6_K(_ job: MatmulJob) {
        let blocks = job.columns / 256, ahead = prefetchDistance
        let a = job.activationRow(0)
        let low4 = byteMask(0x0F), two = byteMask(3)
        let pick0 = pickControl(0), pick1 = pickControl(1), pick2 = pickControl(2), pick3 = pickControl(3)
        for r in job.rows {
            let w = job.weightRow(r)
            var acc = _mm256_setzero_ps()
            for i in 0..<blocks {
                let wb = w + i * 210, ab = a + i * 292
                prefetch(wb + ahead, bytes: 210)
                let scales16 = _mm256_cvtepi8_epi16(loadu128(wb + 192))
                var isum = _mm256_setzero_si256()
                for h in 0..<2 {
                    let ql0 = loadu256(wb + 64 * h), ql1 = loadu256(wb + 64 * h + 32)
                    let qh = loadu256(wb + 128 + 32 * h)
                    // Scales 8h..8h+7 in both 128-bit halves.
                    let s = _mm256_broadcastsi128_si256(
                        _mm_cvtepi8_epi16(_mm_loadl_epi64((wb + 192 + 8 * h).assumingMemoryBound(to: __m128i_u.self))))
                    let y = ab + 4 + 128 * h
                    let c0 = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, two), 4))
                    let c1 = _mm256_or_si256(
                        _mm256_and_si256(ql1, low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two), 4))
                    let c2 = _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two), 4))
                    let c3 = _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two), 4))
                    isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(c0, loadu256(y)), _mm256_shuffle_epi8(s, pick0)))
                    isum = _mm256_add_epi32(
                        isum, _mm256_madd_epi16(_mm256_maddubs_epi16(c1, loadu256(y + 32)), _mm256_shuffle_epi8(s, pick1)))
                    isum = _mm256_add_epi32(
                        isum, _mm256_madd_epi16(_mm256_maddubs_epi16(c2, loadu256(y + 64)), _mm256_shuffle_epi8(s, pick2)))
                    isum = _mm256_add_epi32(
                        isum, _mm256_madd_epi16(_mm256_maddubs_epi16(c3, loadu256(y + 96)), _mm256_shuffle_epi8(s, pick3)))
                }
                // Σ 32·scale·(Σ y per 16 elements), the offset of the codes.
                let csum = _mm256_slli_epi32(_mm256_madd_epi16(scales16, loadu256(ab + 260)), 5)
                let dd = loadFloat(ab, 0) * loadHalf(wb, 208)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dd), _mm256_cvtepi32_ps(isum), acc)
                acc = _mm256_fnmadd_ps(_mm256_set1_ps(dd), _mm256_cvtepi32_ps(csum), acc)
            }
            job.store(acc.sum(), row: r, batch: 0)
        }
    }
}
#endif
