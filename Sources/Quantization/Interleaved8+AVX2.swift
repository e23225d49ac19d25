#if arch(x86_64)
import _Builtin_intrinsics.intel
import GGUF

// Kernels for the interleaved layout (Interleaved8.swift): lane k of every vector is row k of an
// eight-row group, so a group's eight dot products finish as one vector, with no horizontal sum.

/// The eight 32-byte code vectors of one group block: vector g holds elements 4g..4g+3 of each row.
struct GroupCodes {
    var v0, v1, v2, v3, v4, v5, v6, v7: __m256i
}

/// Q8_0's codes as `maddubs` takes signed bytes: magnitudes (unsigned), and the codes themselves,
/// whose signs move onto the activations. Both are shared by every activation row of a group block.
struct SignedGroupCodes {
    var magnitudes: GroupCodes
    var codes: GroupCodes
}

protocol Interleaved8AVX2Format {
    /// A group block's codes, decoded once and shared by the activation rows multiplied with it.
    associatedtype Codes
    static var groupBlockBytes: Int { get }
    static func codes(_ gb: UnsafeRawPointer) -> Codes
    /// Σ code × activation code per row (lane), exact; `y` is the activation block's codes in `A`'s form.
    static func sums<A: Interleaved8Activations>(_ c: Codes, _ y: UnsafeRawPointer, _: A.Type) -> __m256i
    /// The activation block's second scale term, read from a Q8S block `ab` (format-specific bits).
    static func extra(_ ab: UnsafeRawPointer) -> UInt32
    /// acc += this block's contribution, given the integer sums, the activation scale `dy` and `extra`.
    static func accumulate(_ gb: UnsafeRawPointer, _ dy: Float, _ extra: UInt32, _ sums: __m256i, _ acc: inout __m256)
}

/// Where the kernels read activation blocks: the Q8S rows as quantized, or an expanded copy.
protocol Interleaved8Activations {
    /// Codes of block `i` of activation row `b`.
    func codes(_ b: Int, _ i: Int) -> UnsafeRawPointer
    /// Codes 4g..4g+3 of a block in every 32-bit lane.
    static func vector(_ y: UnsafeRawPointer, _ g: Int) -> __m256i
    /// d_y and the format's `extra` of block `i` of row `b`.
    func scales<F: Interleaved8AVX2Format>(_ b: Int, _ i: Int, _: F.Type) -> (dy: Float, extra: UInt32)
}

/// The Q8S rows as `Interleaved8.quantizeActivations` wrote them (36-byte blocks).
struct CompactActivations: Interleaved8Activations {
    let base: UnsafeRawPointer
    let rowBytes: Int
    @inline(__always) private func block(_ b: Int, _ i: Int) -> UnsafeRawPointer {
        base + b * rowBytes + i * Interleaved8.activationBlockBytes
    }
    @inline(__always) func codes(_ b: Int, _ i: Int) -> UnsafeRawPointer { block(b, i) + 4 }
    @inline(__always) static func vector(_ y: UnsafeRawPointer, _ g: Int) -> __m256i {
        _mm256_set1_epi32(y.loadUnaligned(fromByteOffset: 4 * g, as: Int32.self))
    }
    @inline(__always) func scales<F: Interleaved8AVX2Format>(_ b: Int, _ i: Int, _: F.Type) -> (dy: Float, extra: UInt32) {
        let ab = block(b, i)
        return (loadHalf(ab, 0), F.extra(ab))
    }
}

/// A few activation rows with every four-code word already broadcast across a vector (256 bytes of
/// codes per block) and both scales as 32-bit values. The eight broadcasts per block and row cost
/// the four-row loop ~16 % on Zen 1 and the one-row Q5_0 loop ~20 % (a C microbenchmark of the
/// same loops, docs/BENCHMARKS.md); expanding once per call moves them out of the loop over weight
/// groups. Codes first (32-byte aligned), then 8 bytes of scales per block.
struct ExpandedActivations: Interleaved8Activations {
    static let codeBytesPerBlock = 256
    static func byteCount(rows: Int, blocks: Int) -> Int { rows * blocks * (codeBytesPerBlock + 8) }

    let base: UnsafeRawPointer
    let blocks: Int
    let scaleBase: UnsafeRawPointer

    /// Expands `rows` rows of `source` into `destination` (`byteCount(rows:blocks:)` bytes, 32-byte aligned).
    init<F: Interleaved8AVX2Format>(
        expanding source: CompactActivations, rows: Int, blocks: Int, format: F.Type, into destination: UnsafeMutableRawPointer
    ) {
        let scales = destination + rows * blocks * Self.codeBytesPerBlock
        for b in 0..<rows {
            for i in 0..<blocks {
                let y = source.codes(b, i), n = b * blocks + i
                let out = destination + n * Self.codeBytesPerBlock
                for g in 0..<8 { storeu256(CompactActivations.vector(y, g), out + 32 * g) }
                let (dy, extra) = source.scales(b, i, F.self)
                scales.storeBytes(of: dy, toByteOffset: 8 * n, as: Float.self)
                scales.storeBytes(of: extra, toByteOffset: 8 * n + 4, as: UInt32.self)
            }
        }
        base = UnsafeRawPointer(destination)
        self.blocks = blocks
        scaleBase = UnsafeRawPointer(scales)
    }

    @inline(__always) func codes(_ b: Int, _ i: Int) -> UnsafeRawPointer { base + (b * blocks + i) * Self.codeBytesPerBlock }
    @inline(__always) static func vector(_ y: UnsafeRawPointer, _ g: Int) -> __m256i { loadu256(y + 32 * g) }
    @inline(__always) func scales<F: Interleaved8AVX2Format>(_ b: Int, _ i: Int, _: F.Type) -> (dy: Float, extra: UInt32) {
        let n = 8 * (b * blocks + i)
        return (scaleBase.load(fromByteOffset: n, as: Float.self), scaleBase.load(fromByteOffset: n + 4, as: UInt32.self))
    }
}

@inline(__always) private func halves8(_ p: UnsafeRawPointer) -> __m256 { _mm256_cvtph_ps(loadu128(p)) }

/// acc += d_w·d_y·sums, with d_w the group block's eight f16 scales (every format stores them first).
@inline(__always) private func addScaledSums(_ gb: UnsafeRawPointer, _ dy: Float, _ sums: __m256i, _ acc: inout __m256) {
    acc = _mm256_fmadd_ps(_mm256_mul_ps(halves8(gb), _mm256_set1_ps(dy)), _mm256_cvtepi32_ps(sums), acc)
}

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
@inline(__always) private func unsignedSums8<A: Interleaved8Activations>(_ c: GroupCodes, _ y: UnsafeRawPointer, _: A.Type) -> __m256i {
    var s = _mm256_maddubs_epi16(c.v0, A.vector(y, 0))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v1, A.vector(y, 1)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v2, A.vector(y, 2)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v3, A.vector(y, 3)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v4, A.vector(y, 4)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v5, A.vector(y, 5)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v6, A.vector(y, 6)))
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c.v7, A.vector(y, 7)))
    return _mm256_madd_epi16(s, _mm256_set1_epi16(1))
}

/// Codes ≤ 31: four maddubs fit i16 (4 × 2 × 31 × 128 = 31744), so two widenings per block.
@inline(__always) private func unsignedSums5<A: Interleaved8Activations>(_ c: GroupCodes, _ y: UnsafeRawPointer, _: A.Type) -> __m256i {
    var lo = _mm256_maddubs_epi16(c.v0, A.vector(y, 0))
    lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(c.v1, A.vector(y, 1)))
    lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(c.v2, A.vector(y, 2)))
    lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(c.v3, A.vector(y, 3)))
    var hi = _mm256_maddubs_epi16(c.v4, A.vector(y, 4))
    hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(c.v5, A.vector(y, 5)))
    hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(c.v6, A.vector(y, 6)))
    hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(c.v7, A.vector(y, 7)))
    let ones = _mm256_set1_epi16(1)
    return _mm256_add_epi32(_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones))
}

/// Σ (u − offset) y = Σ u y − offset Σ y, with the activation block's exact Σy (`extra` holds
/// offset·Σy, see `exactOffsetSum`).
@inline(__always) private func removeOffset(_ sums: __m256i, _ extra: UInt32) -> __m256i {
    _mm256_sub_epi32(sums, _mm256_set1_epi32(Int32(bitPattern: extra)))
}

/// offset·Σy from a Q8S block's exact i16 Σy.
@inline(__always) private func exactOffsetSum(_ ab: UnsafeRawPointer, _ offset: Int32) -> UInt32 {
    UInt32(bitPattern: offset * Int32(Int16(littleEndian: ab.loadUnaligned(fromByteOffset: 2, as: Int16.self))))
}

enum Q4_0Interleaved: Interleaved8AVX2Format {
    static var groupBlockBytes: Int { 144 }
    @inline(__always) static func codes(_ gb: UnsafeRawPointer) -> GroupCodes { fourBitCodes(gb + 16) }
    @inline(__always) static func sums<A: Interleaved8Activations>(_ c: GroupCodes, _ y: UnsafeRawPointer, _ a: A.Type) -> __m256i {
        unsignedSums8(c, y, a)
    }
    @inline(__always) static func extra(_ ab: UnsafeRawPointer) -> UInt32 { exactOffsetSum(ab, 8) }
    @inline(__always) static func accumulate(_ gb: UnsafeRawPointer, _ dy: Float, _ extra: UInt32, _ sums: __m256i, _ acc: inout __m256) {
        addScaledSums(gb, dy, removeOffset(sums, extra), &acc)
    }
}

enum Q4_1Interleaved: Interleaved8AVX2Format {
    static var groupBlockBytes: Int { 160 }
    @inline(__always) static func codes(_ gb: UnsafeRawPointer) -> GroupCodes { fourBitCodes(gb + 32) }
    @inline(__always) static func sums<A: Interleaved8Activations>(_ c: GroupCodes, _ y: UnsafeRawPointer, _ a: A.Type) -> __m256i {
        unsignedSums8(c, y, a)
    }
    /// ggml's s_y = d_y·Σy, stored in f16 (Q8_1), as f32 bits.
    @inline(__always) static func extra(_ ab: UnsafeRawPointer) -> UInt32 { loadHalf(ab, 2).bitPattern }
    @inline(__always) static func accumulate(_ gb: UnsafeRawPointer, _ dy: Float, _ extra: UInt32, _ sums: __m256i, _ acc: inout __m256) {
        // ggml: d_w·d_y·Σuy + m_w·s_y.
        addScaledSums(gb, dy, sums, &acc)
        acc = _mm256_fmadd_ps(halves8(gb + 16), _mm256_set1_ps(Float(bitPattern: extra)), acc)
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
    @inline(__always) static func sums<A: Interleaved8Activations>(_ c: GroupCodes, _ y: UnsafeRawPointer, _ a: A.Type) -> __m256i {
        unsignedSums5(c, y, a)
    }
    @inline(__always) static func extra(_ ab: UnsafeRawPointer) -> UInt32 { exactOffsetSum(ab, 16) }
    @inline(__always) static func accumulate(_ gb: UnsafeRawPointer, _ dy: Float, _ extra: UInt32, _ sums: __m256i, _ acc: inout __m256) {
        addScaledSums(gb, dy, removeOffset(sums, extra), &acc)
    }
}

/// Signed 8-bit codes: |c| · (y with c's sign) = c·y, exact for every code including −128 (|−128|
/// reads as unsigned 128; activation codes stay within ±127). A pair of products reaches 2 × 128 ×
/// 127 = 32512, so each `maddubs` result is widened before the next is added. Against Q8_0's former
/// four-row layout this drops the horizontal adds that gathered each row's lanes: the four-row
/// loop measured 28.2 → 34.4 GFLOP/s in a C version of both loops (docs/BENCHMARKS.md).
enum Q8_0Interleaved: Interleaved8AVX2Format {
    static var groupBlockBytes: Int { 272 }
    @inline(__always) static func codes(_ gb: UnsafeRawPointer) -> SignedGroupCodes {
        @inline(__always) func load(_ g: Int) -> __m256i { loadu256(gb + 16 + 32 * g) }
        let c = GroupCodes(v0: load(0), v1: load(1), v2: load(2), v3: load(3), v4: load(4), v5: load(5), v6: load(6), v7: load(7))
        let m = GroupCodes(
            v0: _mm256_abs_epi8(c.v0), v1: _mm256_abs_epi8(c.v1), v2: _mm256_abs_epi8(c.v2), v3: _mm256_abs_epi8(c.v3),
            v4: _mm256_abs_epi8(c.v4), v5: _mm256_abs_epi8(c.v5), v6: _mm256_abs_epi8(c.v6), v7: _mm256_abs_epi8(c.v7))
        return SignedGroupCodes(magnitudes: m, codes: c)
    }
    @inline(__always) static func sums<A: Interleaved8Activations>(_ c: SignedGroupCodes, _ y: UnsafeRawPointer, _: A.Type) -> __m256i {
        let ones = _mm256_set1_epi16(1)
        @inline(__always) func product(_ m: __m256i, _ code: __m256i, _ g: Int) -> __m256i {
            _mm256_madd_epi16(_mm256_maddubs_epi16(m, _mm256_sign_epi8(A.vector(y, g), code)), ones)
        }
        var s = product(c.magnitudes.v0, c.codes.v0, 0)
        s = _mm256_add_epi32(s, product(c.magnitudes.v1, c.codes.v1, 1))
        s = _mm256_add_epi32(s, product(c.magnitudes.v2, c.codes.v2, 2))
        s = _mm256_add_epi32(s, product(c.magnitudes.v3, c.codes.v3, 3))
        s = _mm256_add_epi32(s, product(c.magnitudes.v4, c.codes.v4, 4))
        s = _mm256_add_epi32(s, product(c.magnitudes.v5, c.codes.v5, 5))
        s = _mm256_add_epi32(s, product(c.magnitudes.v6, c.codes.v6, 6))
        return _mm256_add_epi32(s, product(c.magnitudes.v7, c.codes.v7, 7))
    }
    @inline(__always) static func extra(_ ab: UnsafeRawPointer) -> UInt32 { 0 }
    @inline(__always) static func accumulate(_ gb: UnsafeRawPointer, _ dy: Float, _ extra: UInt32, _ sums: __m256i, _ acc: inout __m256) {
        addScaledSums(gb, dy, sums, &acc)
    }
}

enum Interleaved8AVX2 {
    static func matmul(_ type: GGMLTypeID, _ job: MatmulJob) {
        switch type {
        case .q4_0: run(Q4_0Interleaved.self, job)
        case .q4_1: run(Q4_1Interleaved.self, job)
        case .q5_0: run(Q5_0Interleaved.self, job)
        case .q8_0: run(Q8_0Interleaved.self, job)
        default: preconditionFailure("interleaved matmul: no kernel for ggml type \(type)")
        }
    }

    /// Batches up to this size read an expanded copy of their activations (`ExpandedActivations`):
    /// decode steps and the server's decode passes. Larger batches (prefill) keep the compact rows,
    /// whose 36-byte blocks stay in cache while every weight group passes over them.
    static let expansionLimit = 16

    /// `job.rows` are whole groups; `job.weights` is the interleaved matrix (group-major);
    /// `job.weightRowBytes` is the original row size, so a group spans 8 × that.
    @inline(__always) static func run<F: Interleaved8AVX2Format>(_ format: F.Type, _ job: MatmulJob) {
        precondition(
            job.rows.lowerBound % 8 == 0 && job.rows.upperBound % 8 == 0, "interleaved matmul: rows \(job.rows) not whole groups of 8")
        let blocks = job.columns / 32
        let compact = CompactActivations(base: job.activations, rowBytes: job.activationRowBytes)
        guard job.batch <= expansionLimit else { return multiply(F.self, job, compact) }
        withUnsafeTemporaryAllocation(byteCount: ExpandedActivations.byteCount(rows: job.batch, blocks: blocks), alignment: 64) { buffer in
            let expanded = ExpandedActivations(
                expanding: compact, rows: job.batch, blocks: blocks, format: F.self, into: buffer.baseAddress!)
            multiply(F.self, job, expanded)
        }
    }

    /// The product itself. Which activation copy `a` is does not change any result: the same
    /// codes and scales meet the same instructions in the same order.
    @inline(__always) static func multiply<F: Interleaved8AVX2Format, A: Interleaved8Activations>(
        _ format: F.Type, _ job: MatmulJob, _ a: A
    ) {
        for group in (job.rows.lowerBound / 8)..<(job.rows.upperBound / 8) {
            // Up to four activation rows share each group block's decoded codes; a remainder of
            // two or three rows shares them too (a server pass is often 3 decode rows + a prompt).
            var b = 0
            while b + 4 <= job.batch {
                multiplyRows(F.self, job, a, group: group, first: b, FourRows.self)
                b += 4
            }
            switch job.batch - b {
            case 3: multiplyRows(F.self, job, a, group: group, first: b, ThreeRows.self)
            case 2: multiplyRows(F.self, job, a, group: group, first: b, TwoRows.self)
            case 1: multiplyRows(F.self, job, a, group: group, first: b, OneRow.self)
            default: break
            }
        }
    }

    /// Activation rows `first..<first + R.count` against one weight group. Every row sums its
    /// blocks in order into one accumulator whatever `R` is, so a row's result does not depend on
    /// the batch (`DotKernel.isBatchInvariant`): a server can batch different requests' rows without
    /// changing any of them. (A second accumulator for odd blocks measured no faster — each block's
    /// integer work hides the FMA latency.) `R` is a type so that each count compiles to its own
    /// loop with the unused rows' work removed.
    @inline(__always) static func multiplyRows<F: Interleaved8AVX2Format, A: Interleaved8Activations, R: ActivationRowCount>(
        _ format: F.Type, _ job: MatmulJob, _ a: A, group: Int, first b: Int, _: R.Type
    ) {
        let blocks = job.columns / 32
        let ahead = prefetchDistance
        let w = job.weights + group * 8 * job.weightRowBytes
        @inline(__always) func add(_ gb: UnsafeRawPointer, _ c: F.Codes, _ b: Int, _ i: Int, _ acc: inout __m256) {
            let (dy, extra) = a.scales(b, i, F.self)
            F.accumulate(gb, dy, extra, F.sums(c, a.codes(b, i), A.self), &acc)
        }
        var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        for i in 0..<blocks {
            let gb = w + i * F.groupBlockBytes
            prefetch(gb + ahead, bytes: F.groupBlockBytes)
            let c = F.codes(gb)
            add(gb, c, b, i, &acc0)
            if R.count > 1 { add(gb, c, b + 1, i, &acc1) }
            if R.count > 2 { add(gb, c, b + 2, i, &acc2) }
            if R.count > 3 { add(gb, c, b + 3, i, &acc3) }
        }
        store(acc0, job, group * 8, b)
        if R.count > 1 { store(acc1, job, group * 8, b + 1) }
        if R.count > 2 { store(acc2, job, group * 8, b + 2) }
        if R.count > 3 { store(acc3, job, group * 8, b + 3) }
    }

    @inline(__always) private static func store(_ v: __m256, _ job: MatmulJob, _ row: Int, _ b: Int) {
        _mm256_storeu_ps(job.output + b * job.outputStride + row, v)
    }
}

/// How many activation rows one pass over a weight group serves (a compile-time count).
protocol ActivationRowCount { static var count: Int { get } }
enum FourRows: ActivationRowCount { static var count: Int { 4 } }
enum ThreeRows: ActivationRowCount { static var count: Int { 3 } }
enum TwoRows: ActivationRowCount { static var count: Int { 2 } }
enum OneRow: ActivationRowCount { static var count: Int { 1 } }
#endif
