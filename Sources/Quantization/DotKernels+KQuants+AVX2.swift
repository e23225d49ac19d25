#if arch(x86_64)
import _Builtin_intrinsics.intel
import GGUF

// All K-quants x Q8_K through the unified form of KQuants.swift: each super-block is decoded once into
// 256 unsigned codes plus 8 per-32 scale vectors (scratch on the stack, L1-resident), then dotted with
// up to four activation rows. maddubs(code <= 63, act) pairs stay <= 2*63*127 = 16002 (no saturation),
// madd by the i16 scales and the i32 sum per super-block stay far below 2^31.

protocol KQuantAVX2Format {
    static var id: GGMLTypeID { get }
    static var blockBytes: Int { get }
    /// Writes the 256 unsigned codes in element order.
    static func codes(_ block: UnsafeRawPointer, into out: UnsafeMutableRawPointer)
}

@inline(__always) private func srl(_ v: __m256i, _ n: Int32) -> __m256i { _mm256_srli_epi16(v, n) }

enum Q2_KCodes: KQuantAVX2Format {
    static var id: GGMLTypeID { .q2_K }
    static var blockBytes: Int { 84 }
    @inline(__always) static func codes(_ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        for h in 0..<2 {
            let q = loadu256(b + 16 + 32 * h)
            for g in 0..<4 { storeu256(_mm256_and_si256(srl(q, Int32(2 * g)), byteMask(3)), out + 128 * h + 32 * g) }
        }
    }
}

enum Q3_KCodes: KQuantAVX2Format {
    static var id: GGMLTypeID { .q3_K }
    static var blockBytes: Int { 110 }
    @inline(__always) static func codes(_ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        let hm = loadu256(b)
        for h in 0..<2 {
            let q = loadu256(b + 32 + 32 * h)
            for g in 0..<4 {
                let s = 4 * h + g
                let high = _mm256_slli_epi16(_mm256_and_si256(srl(hm, Int32(s)), byteMask(1)), 2)
                storeu256(_mm256_or_si256(_mm256_and_si256(srl(q, Int32(2 * g)), byteMask(3)), high), out + 32 * s)
            }
        }
    }
}

enum Q4_KCodes: KQuantAVX2Format {
    static var id: GGMLTypeID { .q4_K }
    static var blockBytes: Int { 144 }
    @inline(__always) static func codes(_ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        for k in 0..<4 {
            let x = loadu256(b + 16 + 32 * k)
            storeu256(_mm256_and_si256(x, byteMask(0x0F)), out + 64 * k)
            storeu256(_mm256_and_si256(srl(x, 4), byteMask(0x0F)), out + 64 * k + 32)
        }
    }
}

enum Q5_KCodes: KQuantAVX2Format {
    static var id: GGMLTypeID { .q5_K }
    static var blockBytes: Int { 176 }
    @inline(__always) static func codes(_ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        let qh = loadu256(b + 16)
        for k in 0..<4 {
            let x = loadu256(b + 48 + 32 * k)
            let h0 = _mm256_slli_epi16(_mm256_and_si256(srl(qh, Int32(2 * k)), byteMask(1)), 4)
            let h1 = _mm256_slli_epi16(_mm256_and_si256(srl(qh, Int32(2 * k + 1)), byteMask(1)), 4)
            storeu256(_mm256_or_si256(_mm256_and_si256(x, byteMask(0x0F)), h0), out + 64 * k)
            storeu256(_mm256_or_si256(_mm256_and_si256(srl(x, 4), byteMask(0x0F)), h1), out + 64 * k + 32)
        }
    }
}

enum Q6_KCodes: KQuantAVX2Format {
    static var id: GGMLTypeID { .q6_K }
    static var blockBytes: Int { 210 }
    @inline(__always) static func codes(_ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        for h in 0..<2 {
            let ql0 = loadu256(b + 64 * h), ql1 = loadu256(b + 64 * h + 32)
            let qh = loadu256(b + 128 + 32 * h)
            for g in 0..<4 {
                // Groups 0/1 take the low nibbles of ql0/ql1, groups 2/3 their high nibbles.
                let low = g == 0 ? ql0 : g == 1 ? ql1 : g == 2 ? srl(ql0, 4) : srl(ql1, 4)
                let hi = _mm256_slli_epi16(_mm256_and_si256(srl(qh, Int32(2 * g)), byteMask(3)), 4)
                storeu256(_mm256_or_si256(_mm256_and_si256(low, byteMask(0x0F)), hi), out + 128 * h + 32 * g)
            }
        }
    }
}

enum KQuantAVX2 {
    @inline(__always) static func matmul<F: KQuantAVX2Format>(_ format: F.Type, _ job: MatmulJob) {
        if job.batch == 1 && F.id == .q4_K { return KQuantOneRowAVX2.q4_K(job) }
        if job.batch == 1 && F.id == .q6_K { return KQuantOneRowAVX2.q6_K(job) }
        let blocks = job.columns / 256
        let stride = job.activationRowBytes
        let ahead = prefetchDistance
        // codes 256 B | 8 scale vectors 256 B | scales i16[16] | corr i16[16]
        withUnsafeTemporaryAllocation(byteCount: 576, alignment: 32) { buf in
            let codes = buf.baseAddress!
            let scaleVectors = codes + 256
            let scales = (codes + 512).assumingMemoryBound(to: Int16.self)
            let corr = scales + 16
            for r in job.rows {
                let w = job.weightRow(r)
                var b = 0
                while b < job.batch {
                    let n = min(4, job.batch - b)
                    let a = job.activationRow(b)
                    var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
                    for i in 0..<blocks {
                        let wb = w + i * F.blockBytes
                        prefetch(wb + ahead, bytes: F.blockBytes)
                        F.codes(wb, into: codes)
                        let f = KQuant.scales(F.id, wb, scale: scales, corr: corr)
                        // Vector k covers elements 32k..32k+31: its i16 pair sums use scale 2k in the low
                        // 128-bit half and scale 2k+1 in the high half.
                        for k in 0..<8 {
                            storeu256(
                                _mm256_set_m128i(_mm_set1_epi16(scales[2 * k + 1]), _mm_set1_epi16(scales[2 * k])), scaleVectors + 32 * k)
                        }
                        let corrVector = loadu256(UnsafeRawPointer(corr))
                        let ab = a + i * 292
                        blockDot(codes, scaleVectors, corrVector, f, ab, &acc0)
                        if n > 1 { blockDot(codes, scaleVectors, corrVector, f, ab + stride, &acc1) }
                        if n > 2 { blockDot(codes, scaleVectors, corrVector, f, ab + 2 * stride, &acc2) }
                        if n > 3 { blockDot(codes, scaleVectors, corrVector, f, ab + 3 * stride, &acc3) }
                    }
                    job.store(acc0.sum(), row: r, batch: b)
                    if n > 1 { job.store(acc1.sum(), row: r, batch: b + 1) }
                    if n > 2 { job.store(acc2.sum(), row: r, batch: b + 2) }
                    if n > 3 { job.store(acc3.sum(), row: r, batch: b + 3) }
                    b += n
                }
            }
        }
    }

    @inline(__always)
    private static func blockDot(
        _ codes: UnsafeRawPointer, _ scaleVectors: UnsafeRawPointer, _ corr: __m256i,
        _ f: KQuant.Decoded, _ ab: UnsafeRawPointer, _ acc: inout __m256
    ) {
        var isum0 = _mm256_setzero_si256(), isum1 = isum0
        for k in stride(from: 0, to: 8, by: 2) {
            let p0 = _mm256_maddubs_epi16(loadu256(codes + 32 * k), loadu256(ab + 4 + 32 * k))
            let p1 = _mm256_maddubs_epi16(loadu256(codes + 32 * k + 32), loadu256(ab + 36 + 32 * k))
            isum0 = _mm256_add_epi32(isum0, _mm256_madd_epi16(p0, loadu256(scaleVectors + 32 * k)))
            isum1 = _mm256_add_epi32(isum1, _mm256_madd_epi16(p1, loadu256(scaleVectors + 32 * k + 32)))
        }
        let csum = _mm256_madd_epi16(corr, loadu256(ab + 260))
        let da = loadFloat(ab, 0)
        acc = _mm256_fmadd_ps(_mm256_set1_ps(da * f.dw), _mm256_cvtepi32_ps(_mm256_add_epi32(isum0, isum1)), acc)
        acc = _mm256_fnmadd_ps(_mm256_set1_ps(da * f.dcorr), _mm256_cvtepi32_ps(csum), acc)
    }
}
#endif
