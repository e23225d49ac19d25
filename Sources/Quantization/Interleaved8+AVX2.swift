#if arch(x86_64)
import _Builtin_intrinsics.intel

// Kernels for the interleaved layout (Interleaved8.swift): lane k of every vector is row k of an
// eight-row group, so a group's eight dot products finish as one vector, with no horizontal sum.

/// The eight 32-byte code vectors of one group block: vector g holds elements 4g..4g+3 of each row.
struct GroupCodes {
    var v0, v1, v2, v3, v4, v5, v6, v7: __m256i
}

protocol Interleaved8AVX2Format {
    static var groupBlockBytes: Int { get }
    static func codes(_ gb: UnsafeRawPointer) -> GroupCodes
    /// Σ code × activation code per row (lane), exact.
    static func sums(_ c: GroupCodes, _ y: UnsafeRawPointer) -> __m256i
    /// acc += this block's contribution, given the integer sums and the activation block `ab`.
    static func accumulate(_ gb: UnsafeRawPointer, _ ab: UnsafeRawPointer, _ sums: __m256i, _ acc: inout __m256)
}

/// Four activation codes (bytes 4g..4g+3 of the block's codes) in every 32-bit lane.
@inline(__always) private func broadcast4(_ y: UnsafeRawPointer, _ g: Int) -> __m256i {
    _mm256_set1_epi32(y.loadUnaligned(fromByteOffset: 4 * g, as: Int32.self))
}

@inline(__always) private func halves8(_ p: UnsafeRawPointer) -> __m256 { _mm256_cvtph_ps(loadu128(p)) }

@inline(__always) private func activationScale(_ ab: UnsafeRawPointer) -> __m256 { _mm256_set1_ps(loadHalf(ab, 0)) }

/// Two 4-bit code vectors from one 32-byte load: low nibbles, then high nibbles.
@inline(__always) private func splitNibbles(_ p: UnsafeRawPointer) -> (__m256i, __m256i) {
    let x = loadu256(p), mask = byteMask(0x0F)
    return (_mm256_and_si256(x, mask), _mm256_and_si256(_mm256_srli_epi16(x, 4), mask))
}

@inline(__always) private func fourBitCodes(_ p: UnsafeRawPointer) -> GroupCodes {
    let (v0, v4) = splitNibbles(p), (v1, v5) = splitNibbles(p + 32)
    let (v2, v6) = splitNibbles(p + 64), (v3, v7) = splitNibbles(p + 96)
    return GroupCodes(v0: v0, v1: v1, v2: v2, v3: v3, v4: v4, v5: v5, v6: v6, v7: v7)
}

/// Unsigned codes ≤ 15 against activation codes ≥ −128: eight maddubs results sum to at most
/// 8 × 2 × 15 × 128 = 30720 in i16, so one widening per block.
@inline(__always) private func unsignedSums8(_ c: GroupCodes, _ y: UnsafeRawPointer) -> __m256i {
    var s = _mm256_maddubs_epi16(c.v0, broadcast4(y, 0))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v1, broadcast4(y, 1)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v2, broadcast4(y, 2)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v3, broadcast4(y, 3)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v4, broadcast4(y, 4)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v5, broadcast4(y, 5)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v6, broadcast4(y, 6)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v7, broadcast4(y, 7)))
    return _mm256_madd_epi16(s, _mm256_set1_epi16(1))
}

/// Codes ≤ 31: four maddubs fit i16 (4 × 2 × 31 × 128 = 31744), so two widenings per block.
@inline(__always) private func unsignedSums5(_ c: GroupCodes, _ y: UnsafeRawPointer) -> __m256i {
    var lo = _mm256_maddubs_epi16(c.v0, broadcast4(y, 0))
    lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(c.v1, broadcast4(y, 1)))
    lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(c.v2, broadcast4(y, 2)))
    lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(c.v3, broadcast4(y, 3)))
    var hi = _mm256_maddubs_epi16(c.v4, broadcast4(y, 4))
    hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(c.v5, broadcast4(y, 5)))
    hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(c.v6, broadcast4(y, 6)))
    hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(c.v7, broadcast4(y, 7)))
    let ones = _mm256_set1_epi16(1)
    return _mm256_add_epi32(_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones))
}

/// Σ (u − offset) y = Σ u y − offset Σ y, with the activation block's exact i16 Σy.
@inline(__always) private func removeOffset(_ sums: __m256i, _ offset: Int32, _ ab: UnsafeRawPointer) -> __m256i {
    let total = Int32(Int16(littleEndian: ab.loadUnaligned(fromByteOffset: 2, as: Int16.self)))
    return _mm256_sub_epi32(sums, _mm256_set1_epi32(offset * total))
}

enum Q4_0Interleaved: Interleaved8AVX2Format {
    static var groupBlockBytes: Int { 144 }
    @inline(__always) static func codes(_ gb: UnsafeRawPointer) -> GroupCodes { fourBitCodes(gb + 16) }
    @inline(__always) static func sums(_ c: GroupCodes, _ y: UnsafeRawPointer) -> __m256i { unsignedSums8(c, y) }
    @inline(__always) static func accumulate(_ gb: UnsafeRawPointer, _ ab: UnsafeRawPointer, _ sums: __m256i, _ acc: inout __m256) {
        let exact = removeOffset(sums, 8, ab)
        acc = _mm256_fmadd_ps(_mm256_mul_ps(halves8(gb), activationScale(ab)), _mm256_cvtepi32_ps(exact), acc)
    }
}

enum Q4_1Interleaved: Interleaved8AVX2Format {
    static var groupBlockBytes: Int { 160 }
    @inline(__always) static func codes(_ gb: UnsafeRawPointer) -> GroupCodes { fourBitCodes(gb + 32) }
    @inline(__always) static func sums(_ c: GroupCodes, _ y: UnsafeRawPointer) -> __m256i { unsignedSums8(c, y) }
    @inline(__always) static func accumulate(_ gb: UnsafeRawPointer, _ ab: UnsafeRawPointer, _ sums: __m256i, _ acc: inout __m256) {
        // ggml: d_w·d_y·Σuy + m_w·s_y, with s_y = d_y·Σy stored in f16 (Q8_1).
        acc = _mm256_fmadd_ps(_mm256_mul_ps(halves8(gb), activationScale(ab)), _mm256_cvtepi32_ps(sums), acc)
        acc = _mm256_fmadd_ps(halves8(gb + 16), _mm256_set1_ps(loadHalf(ab, 2)), acc)
    }
}

enum Q5_0Interleaved: Interleaved8AVX2Format {
    static var groupBlockBytes: Int { 176 }
    @inline(__always) static func codes(_ gb: UnsafeRawPointer) -> GroupCodes {
        var c = fourBitCodes(gb + 48)
        // Bit g of each byte of `bits` is the fifth bit for vector g; move it to bit 4.
        let bits = loadu256(gb + 16), bit4 = byteMask(0x10)
        c.v0 = _mm256_or_si256(c.v0, _mm256_and_si256(_mm256_slli_epi16(bits, 4), bit4))
        c.v1 = _mm256_or_si256(c.v1, _mm256_and_si256(_mm256_slli_epi16(bits, 3), bit4))
        c.v2 = _mm256_or_si256(c.v2, _mm256_and_si256(_mm256_slli_epi16(bits, 2), bit4))
        c.v3 = _mm256_or_si256(c.v3, _mm256_and_si256(_mm256_slli_epi16(bits, 1), bit4))
        c.v4 = _mm256_or_si256(c.v4, _mm256_and_si256(bits, bit4))
        c.v5 = _mm256_or_si256(c.v5, _mm256_and_si256(_mm256_srli_epi16(bits, 1), bit4))
        c.v6 = _mm256_or_si256(c.v6, _mm256_and_si256(_mm256_srli_epi16(bits, 2), bit4))
        c.v7 = _mm256_or_si256(c.v7, _mm256_and_si256(_mm256_srli_epi16(bits, 3), bit4))
        return c
    }
    @inline(__always) static func sums(_ c: GroupCodes, _ y: UnsafeRawPointer) -> __m256i { unsignedSums5(c, y) }
    @inline(__always) static func accumulate(_ gb: UnsafeRawPointer, _ ab: UnsafeRawPointer, _ sums: __m256i, _ acc: inout __m256) {
        let exact = removeOffset(sums, 16, ab)
        acc = _mm256_fmadd_ps(_mm256_mul_ps(halves8(gb), activationScale(ab)), _mm256_cvtepi32_ps(exact), acc)
    }
}

enum Interleaved8AVX2 {
    static func matmul(_ raw: UInt32, _ job: MatmulJob) {
        switch raw {
        case 2: run(Q4_0Interleaved.self, job)
        case 3: run(Q4_1Interleaved.self, job)
        default: run(Q5_0Interleaved.self, job)
        }
    }

    /// `job.rows` are whole groups; `job.weights` is the interleaved matrix (group-major);
    /// `job.weightRowBytes` is the original row size, so a group spans 8 × that.
    @inline(__always) static func run<F: Interleaved8AVX2Format>(_ format: F.Type, _ job: MatmulJob) {
        precondition(job.rows.lowerBound % 8 == 0 && job.rows.upperBound % 8 == 0, "interleaved matmul: rows \(job.rows) not whole groups of 8")
        let blocks = job.columns / 32
        let ab = Interleaved8.activationBlockBytes
        let stride = job.activationRowBytes
        let ahead = prefetchDistance
        for group in (job.rows.lowerBound / 8)..<(job.rows.upperBound / 8) {
            let w = job.weights + group * 8 * job.weightRowBytes
            let firstRow = group * 8
            var b = 0
            // Batch-invariant mode (a server batching different requests): four rows still share each
            // block's decoded codes, but each row sums even and odd blocks apart and adds the two at
            // the end, exactly as the one-row loop below does, so its result does not depend on the
            // batch. The default four-row loop sums blocks in order, as llama.cpp's kernels do;
            // changing it moves fragile greedy steps (SmolLM2's chat answers) away from llama.cpp's.
            while job.batchInvariant, b + 4 <= job.batch {
                let a = job.activationRow(b)
                var e0 = _mm256_setzero_ps(), e1 = e0, e2 = e0, e3 = e0
                var o0 = e0, o1 = e0, o2 = e0, o3 = e0
                var i = 0
                while i + 2 <= blocks {
                    let gb = w + i * F.groupBlockBytes
                    prefetch(gb + ahead, bytes: 2 * F.groupBlockBytes)
                    let c = F.codes(gb)
                    let a0 = a + i * ab, a1 = a0 + stride, a2 = a1 + stride, a3 = a2 + stride
                    F.accumulate(gb, a0, F.sums(c, a0 + 4), &e0)
                    F.accumulate(gb, a1, F.sums(c, a1 + 4), &e1)
                    F.accumulate(gb, a2, F.sums(c, a2 + 4), &e2)
                    F.accumulate(gb, a3, F.sums(c, a3 + 4), &e3)
                    let gb1 = gb + F.groupBlockBytes
                    let c1 = F.codes(gb1)
                    let n0 = a0 + ab, n1 = a1 + ab, n2 = a2 + ab, n3 = a3 + ab
                    F.accumulate(gb1, n0, F.sums(c1, n0 + 4), &o0)
                    F.accumulate(gb1, n1, F.sums(c1, n1 + 4), &o1)
                    F.accumulate(gb1, n2, F.sums(c1, n2 + 4), &o2)
                    F.accumulate(gb1, n3, F.sums(c1, n3 + 4), &o3)
                    i += 2
                }
                if i < blocks {
                    let gb = w + i * F.groupBlockBytes
                    let c = F.codes(gb)
                    let a0 = a + i * ab, a1 = a0 + stride, a2 = a1 + stride, a3 = a2 + stride
                    F.accumulate(gb, a0, F.sums(c, a0 + 4), &e0)
                    F.accumulate(gb, a1, F.sums(c, a1 + 4), &e1)
                    F.accumulate(gb, a2, F.sums(c, a2 + 4), &e2)
                    F.accumulate(gb, a3, F.sums(c, a3 + 4), &e3)
                }
                store(_mm256_add_ps(e0, o0), job, firstRow, b)
                store(_mm256_add_ps(e1, o1), job, firstRow, b + 1)
                store(_mm256_add_ps(e2, o2), job, firstRow, b + 2)
                store(_mm256_add_ps(e3, o3), job, firstRow, b + 3)
                b += 4
            }
            // Four activation rows share each group block's decoded codes.
            while b + 4 <= job.batch {
                let a = job.activationRow(b)
                var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
                for i in 0..<blocks {
                    let gb = w + i * F.groupBlockBytes
                    prefetch(gb + ahead, bytes: F.groupBlockBytes)
                    let c = F.codes(gb)
                    let a0 = a + i * ab, a1 = a0 + stride, a2 = a1 + stride, a3 = a2 + stride
                    F.accumulate(gb, a0, F.sums(c, a0 + 4), &acc0)
                    F.accumulate(gb, a1, F.sums(c, a1 + 4), &acc1)
                    F.accumulate(gb, a2, F.sums(c, a2 + 4), &acc2)
                    F.accumulate(gb, a3, F.sums(c, a3 + 4), &acc3)
                }
                store(acc0, job, firstRow, b)
                store(acc1, job, firstRow, b + 1)
                store(acc2, job, firstRow, b + 2)
                store(acc3, job, firstRow, b + 3)
                b += 4
            }
            while b < job.batch {
                let a = job.activationRow(b)
                // Two accumulators let consecutive blocks' FMAs overlap.
                var acc0 = _mm256_setzero_ps(), acc1 = acc0
                var i = 0
                while i + 2 <= blocks {
                    let gb = w + i * F.groupBlockBytes, a0 = a + i * ab
                    prefetch(gb + ahead, bytes: 2 * F.groupBlockBytes)
                    F.accumulate(gb, a0, F.sums(F.codes(gb), a0 + 4), &acc0)
                    let gb1 = gb + F.groupBlockBytes, a1 = a0 + ab
                    F.accumulate(gb1, a1, F.sums(F.codes(gb1), a1 + 4), &acc1)
                    i += 2
                }
                if i < blocks {
                    let gb = w + i * F.groupBlockBytes, a0 = a + i * ab
                    F.accumulate(gb, a0, F.sums(F.codes(gb), a0 + 4), &acc0)
                }
                store(_mm256_add_ps(acc0, acc1), job, firstRow, b)
                b += 1
            }
        }
    }

    @inline(__always) private static func store(_ v: __m256, _ job: MatmulJob, _ row: Int, _ b: Int) {
        _mm256_storeu_ps(job.output + b * job.outputStride + row, v)
    }
}
#endif
