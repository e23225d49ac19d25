#if arch(x86_64)
import _Builtin_intrinsics.intel

// Q4_0, Q5_0, Q8_0 (x Q8_0) and Q4_1, Q5_1 (x Q8_1). One f32 FMA per 32-element block; the integer
// part is exact. Formats with a min add m * s once per block, using the activation block's s.

protocol Legacy32AVX2Format {
    static var blockBytes: Int { get }
    /// Unsigned codes plus a min (pairs with Q8_1); otherwise signed codes (pairs with Q8_0).
    static var hasMin: Bool { get }
    /// The block's 32 codes in element order.
    static func codes(_ block: UnsafeRawPointer) -> __m256i
}

/// 16 packed bytes -> 32 nibbles: low nibbles are elements 0..15, high nibbles 16..31.
@inline(__always) private func nibbles(_ p: UnsafeRawPointer) -> __m256i {
    let x = loadu128(p)
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), byteMask(0x0F))
}

/// The u32 of fifth bits -> 0x10 in byte e where bit e is set.
@inline(__always) private func fifthBits(_ p: UnsafeRawPointer) -> __m256i {
    let qh = Int32(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
    // Byte e picks source byte e / 8 (shuffles stay within 128-bit lanes, so the broadcast supplies it).
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(qh),
        _mm256_setr_epi8(
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3))
    let bit = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), byteMask(0x10))
}

enum Q4_0Codes: Legacy32AVX2Format {
    static var blockBytes: Int { 18 }
    static var hasMin: Bool { false }
    @inline(__always) static func codes(_ b: UnsafeRawPointer) -> __m256i { _mm256_sub_epi8(nibbles(b + 2), byteMask(8)) }
}

enum Q4_1Codes: Legacy32AVX2Format {
    static var blockBytes: Int { 20 }
    static var hasMin: Bool { true }
    @inline(__always) static func codes(_ b: UnsafeRawPointer) -> __m256i { nibbles(b + 4) }
}

enum Q5_0Codes: Legacy32AVX2Format {
    static var blockBytes: Int { 22 }
    static var hasMin: Bool { false }
    @inline(__always) static func codes(_ b: UnsafeRawPointer) -> __m256i {
        _mm256_sub_epi8(_mm256_or_si256(nibbles(b + 6), fifthBits(b + 2)), byteMask(16))
    }
}

enum Q5_1Codes: Legacy32AVX2Format {
    static var blockBytes: Int { 24 }
    static var hasMin: Bool { true }
    @inline(__always) static func codes(_ b: UnsafeRawPointer) -> __m256i { _mm256_or_si256(nibbles(b + 8), fifthBits(b + 4)) }
}

enum Q8_0Codes: Legacy32AVX2Format {
    static var blockBytes: Int { 34 }
    static var hasMin: Bool { false }
    @inline(__always) static func codes(_ b: UnsafeRawPointer) -> __m256i { loadu256(b + 2) }
}

enum LegacyAVX2 {
    @inline(__always) static func matmul<F: Legacy32AVX2Format>(_ format: F.Type, _ job: MatmulJob) {
        let blocks = job.columns / 32
        let stride = job.activationRowBytes
        var first = job.rows.lowerBound
        if job.batch < 4 {
            // Decode: four weight rows against one activation row keep four independent memory
            // streams in flight (the loop is bound by load latency, not arithmetic) and load each
            // activation block once for all four.
            while first + 4 <= job.rows.upperBound {
                for b in 0..<job.batch {
                    let s = rows4(format, job.weightRow(first), job.weightRowBytes, job.activationRow(b), blocks)
                    job.store(s.0, row: first, batch: b)
                    job.store(s.1, row: first + 1, batch: b)
                    job.store(s.2, row: first + 2, batch: b)
                    job.store(s.3, row: first + 3, batch: b)
                }
                first += 4
            }
        }
        for r in first..<job.rows.upperBound {
            let w = job.weightRow(r)
            var b = 0
            while b + 4 <= job.batch {
                let s = dot4(format, w, job.activationRow(b), stride, blocks)
                job.store(s.0, row: r, batch: b)
                job.store(s.1, row: r, batch: b + 1)
                job.store(s.2, row: r, batch: b + 2)
                job.store(s.3, row: r, batch: b + 3)
                b += 4
            }
            while b < job.batch {
                job.store(dot1(format, w, job.activationRow(b), blocks), row: r, batch: b)
                b += 1
            }
        }
    }

    /// One decoded weight block against one activation block.
    @inline(__always)
    private static func accumulate<F: Legacy32AVX2Format>(
        _: F.Type, codes c: __m256i, absCodes ac: __m256i, dw: Float, mw: Float,
        _ ab: UnsafeRawPointer, _ acc: inout __m256, _ mins: inout Float
    ) {
        let sums: __m256i
        if F.hasMin {
            // Unsigned codes <= 31 go straight into maddubs: pairs <= 2*31*127, no i16 saturation.
            sums = _mm256_madd_epi16(_mm256_maddubs_epi16(c, loadu256(ab + 4)), _mm256_set1_epi16(1))
        } else {
            sums = signedProduct(absCodes: ac, codes: c, loadu256(ab + 2))
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * loadHalf(ab, 0)), _mm256_cvtepi32_ps(sums), acc)
        if F.hasMin { mins += mw * loadHalf(ab, 2) }
    }

    @inline(__always)
    private static func step<F: Legacy32AVX2Format>(
        _ format: F.Type, _ wb: UnsafeRawPointer, _ ab: UnsafeRawPointer,
        _ acc: inout __m256, _ mins: inout Float
    ) {
        let c = F.codes(wb)
        let ac = F.hasMin ? c : _mm256_sign_epi8(c, c)
        accumulate(format, codes: c, absCodes: ac, dw: loadHalf(wb, 0), mw: F.hasMin ? loadHalf(wb, 2) : 0, ab, &acc, &mins)
    }

    /// One row against one activation row: one accumulator, blocks in order — the arithmetic `rows4`
    /// and `dot4` give each of their rows, so a row's result does not depend on its batch.
    @inline(__always) private static func dot1<F: Legacy32AVX2Format>(
        _ format: F.Type, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, _ blocks: Int
    ) -> Float {
        let aBytes = F.hasMin ? 36 : 34
        var acc = _mm256_setzero_ps()
        var mins: Float = 0
        for i in 0..<blocks { step(format, w + i * F.blockBytes, a + i * aBytes, &acc, &mins) }
        return acc.sum() + mins
    }

    /// One activation row against four consecutive weight rows.
    @inline(__always) private static func rows4<F: Legacy32AVX2Format>(
        _ format: F.Type, _ w: UnsafeRawPointer, _ rowBytes: Int,
        _ a: UnsafeRawPointer, _ blocks: Int
    ) -> (Float, Float, Float, Float) {
        let aBytes = F.hasMin ? 36 : 34
        var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        for i in 0..<blocks {
            let ab = a + i * aBytes
            let y = loadu256(ab + (F.hasMin ? 4 : 2))
            let dy = loadHalf(ab, 0), sy: Float = F.hasMin ? loadHalf(ab, 2) : 0
            let wb = w + i * F.blockBytes
            blockProduct(format, wb, y, dy, sy, &acc0, &m0)
            blockProduct(format, wb + rowBytes, y, dy, sy, &acc1, &m1)
            blockProduct(format, wb + 2 * rowBytes, y, dy, sy, &acc2, &m2)
            blockProduct(format, wb + 3 * rowBytes, y, dy, sy, &acc3, &m3)
        }
        return (acc0.sum() + m0, acc1.sum() + m1, acc2.sum() + m2, acc3.sum() + m3)
    }

    /// A weight block against an already loaded activation block (codes `y`, scale `dy`, sum `sy`).
    @inline(__always)
    private static func blockProduct<F: Legacy32AVX2Format>(
        _: F.Type, _ wb: UnsafeRawPointer, _ y: __m256i, _ dy: Float, _ sy: Float,
        _ acc: inout __m256, _ mins: inout Float
    ) {
        let c = F.codes(wb)
        let sums: __m256i
        if F.hasMin {
            sums = _mm256_madd_epi16(_mm256_maddubs_epi16(c, y), _mm256_set1_epi16(1))
        } else {
            sums = signedProduct(absCodes: _mm256_sign_epi8(c, c), codes: c, y)
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(loadHalf(wb, 0) * dy), _mm256_cvtepi32_ps(sums), acc)
        if F.hasMin { mins += loadHalf(wb, 2) * sy }
    }

    /// Four activation rows share each decoded weight block.
    @inline(__always) private static func dot4<F: Legacy32AVX2Format>(
        _ format: F.Type, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer,
        _ stride: Int, _ blocks: Int
    ) -> (Float, Float, Float, Float) {
        let aBytes = F.hasMin ? 36 : 34
        var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        for i in 0..<blocks {
            let wb = w + i * F.blockBytes
            let c = F.codes(wb)
            let ac = F.hasMin ? c : _mm256_sign_epi8(c, c)
            let dw = loadHalf(wb, 0), mw: Float = F.hasMin ? loadHalf(wb, 2) : 0
            let ab = a + i * aBytes
            accumulate(format, codes: c, absCodes: ac, dw: dw, mw: mw, ab, &acc0, &m0)
            accumulate(format, codes: c, absCodes: ac, dw: dw, mw: mw, ab + stride, &acc1, &m1)
            accumulate(format, codes: c, absCodes: ac, dw: dw, mw: mw, ab + 2 * stride, &acc2, &m2)
            accumulate(format, codes: c, absCodes: ac, dw: dw, mw: mw, ab + 3 * stride, &acc3, &m3)
        }
        return (acc0.sum() + m0, acc1.sum() + m1, acc2.sum() + m2, acc3.sum() + m3)
    }
}
#endif
