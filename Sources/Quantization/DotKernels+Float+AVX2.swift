#if arch(x86_64)
import _Builtin_intrinsics.intel

// F32, F16 and BF16 weights against f32 activations: widen 8 weights to f32 and FMA.
// Two chains per row hide part of the 4-cycle FMA latency; one and four rows share the arithmetic so
// every row's sum is the same in any batch.

protocol FloatAVX2Format {
    static var elementBytes: Int { get }
    static func load8(_ p: UnsafeRawPointer) -> __m256
    static func load1(_ p: UnsafeRawPointer) -> Float
}

enum F32Row: FloatAVX2Format {
    static var elementBytes: Int { 4 }
    @inline(__always) static func load8(_ p: UnsafeRawPointer) -> __m256 { _mm256_loadu_ps(p.assumingMemoryBound(to: Float.self)) }
    @inline(__always) static func load1(_ p: UnsafeRawPointer) -> Float { loadFloat(p, 0) }
}

enum F16Row: FloatAVX2Format {
    static var elementBytes: Int { 2 }
    @inline(__always) static func load8(_ p: UnsafeRawPointer) -> __m256 { _mm256_cvtph_ps(loadu128(p)) }
    @inline(__always) static func load1(_ p: UnsafeRawPointer) -> Float { loadHalf(p, 0) }
}

enum BF16Row: FloatAVX2Format {
    static var elementBytes: Int { 2 }
    @inline(__always) static func load8(_ p: UnsafeRawPointer) -> __m256 {
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(loadu128(p)), 16))
    }
    @inline(__always) static func load1(_ p: UnsafeRawPointer) -> Float {
        bf16ToFloat(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
    }
}

enum FloatAVX2 {
    @inline(__always) static func matmul<F: FloatAVX2Format>(_ format: F.Type, _ job: MatmulJob) {
        let stride = job.activationRowBytes
        for r in job.rows {
            let w = job.weightRow(r)
            var b = 0
            while b + 4 <= job.batch {
                let s = dot4(format, w, job.activationRow(b), stride, job.columns)
                job.store(s.0, row: r, batch: b)
                job.store(s.1, row: r, batch: b + 1)
                job.store(s.2, row: r, batch: b + 2)
                job.store(s.3, row: r, batch: b + 3)
                b += 4
            }
            while b < job.batch {
                job.store(dot1(format, w, job.activationRow(b).assumingMemoryBound(to: Float.self), job.columns), row: r, batch: b)
                b += 1
            }
        }
    }

    @inline(__always) private static func x8(_ x: UnsafePointer<Float>) -> __m256 { _mm256_loadu_ps(x) }

    /// One activation row with exactly the arithmetic `dot4` gives each of its rows (two chains over
    /// 16-element steps, the same tail), so a row's result does not depend on its batch.
    @inline(__always) private static func dot1<F: FloatAVX2Format>(_: F.Type, _ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int)
        -> Float
    {
        let eb = F.elementBytes
        var a = _mm256_setzero_ps(), b = a
        var i = 0
        while i + 16 <= n {
            a = _mm256_fmadd_ps(F.load8(w + i * eb), x8(x + i), a)
            b = _mm256_fmadd_ps(F.load8(w + (i + 8) * eb), x8(x + i + 8), b)
            i += 16
        }
        while i + 8 <= n {
            a = _mm256_fmadd_ps(F.load8(w + i * eb), x8(x + i), a)
            i += 8
        }
        var sum = (a + b).sum()
        while i < n { sum += F.load1(w + i * eb) * x[i]; i += 1 }
        return sum
    }

    /// Each 8-weight load feeds four activation rows; two chunks per step give eight FMA chains.
    @inline(__always) private static func dot4<F: FloatAVX2Format>(
        _: F.Type, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer,
        _ stride: Int, _ n: Int
    ) -> (Float, Float, Float, Float) {
        let eb = F.elementBytes
        let x0 = a.assumingMemoryBound(to: Float.self)
        let x1 = (a + stride).assumingMemoryBound(to: Float.self)
        let x2 = (a + 2 * stride).assumingMemoryBound(to: Float.self)
        let x3 = (a + 3 * stride).assumingMemoryBound(to: Float.self)
        var a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0
        var b0 = a0, b1 = a0, b2 = a0, b3 = a0
        var i = 0
        while i + 16 <= n {
            let v = F.load8(w + i * eb), u = F.load8(w + (i + 8) * eb)
            a0 = _mm256_fmadd_ps(v, x8(x0 + i), a0)
            a1 = _mm256_fmadd_ps(v, x8(x1 + i), a1)
            a2 = _mm256_fmadd_ps(v, x8(x2 + i), a2)
            a3 = _mm256_fmadd_ps(v, x8(x3 + i), a3)
            b0 = _mm256_fmadd_ps(u, x8(x0 + i + 8), b0)
            b1 = _mm256_fmadd_ps(u, x8(x1 + i + 8), b1)
            b2 = _mm256_fmadd_ps(u, x8(x2 + i + 8), b2)
            b3 = _mm256_fmadd_ps(u, x8(x3 + i + 8), b3)
            i += 16
        }
        while i + 8 <= n {
            let v = F.load8(w + i * eb)
            a0 = _mm256_fmadd_ps(v, x8(x0 + i), a0)
            a1 = _mm256_fmadd_ps(v, x8(x1 + i), a1)
            a2 = _mm256_fmadd_ps(v, x8(x2 + i), a2)
            a3 = _mm256_fmadd_ps(v, x8(x3 + i), a3)
            i += 8
        }
        var s0 = (a0 + b0).sum(), s1 = (a1 + b1).sum(), s2 = (a2 + b2).sum(), s3 = (a3 + b3).sum()
        while i < n {
            let v = F.load1(w + i * eb)
            s0 += v * x0[i]; s1 += v * x1[i]; s2 += v * x2[i]; s3 += v * x3[i]
            i += 1
        }
        return (s0, s1, s2, s3)
    }
}
#endif
