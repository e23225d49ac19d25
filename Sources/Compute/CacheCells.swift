#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// How the attention kernels read the KV cache's cells: f16 or f32 elements, widened to f32.
protocol CacheCells {
    static var elementBytes: Int { get }
    static func element(_ base: UnsafeRawPointer, _ index: Int) -> Float
    #if arch(x86_64)
    /// Elements `index..<index + 8` of `base` as f32.
    static func load8(_ base: UnsafeRawPointer, _ index: Int) -> __m256
    #endif
}

enum HalfCells: CacheCells {
    static var elementBytes: Int { 2 }
    @inline(__always) static func element(_ base: UnsafeRawPointer, _ index: Int) -> Float {
        Float(Float16(bitPattern: base.load(fromByteOffset: 2 * index, as: UInt16.self)))
    }
    #if arch(x86_64)
    @inline(__always) static func load8(_ base: UnsafeRawPointer, _ index: Int) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128((base + 2 * index).assumingMemoryBound(to: __m128i.self)))
    }
    #endif
}

enum FloatCells: CacheCells {
    static var elementBytes: Int { 4 }
    @inline(__always) static func element(_ base: UnsafeRawPointer, _ index: Int) -> Float {
        base.load(fromByteOffset: 4 * index, as: Float.self)
    }
    #if arch(x86_64)
    @inline(__always) static func load8(_ base: UnsafeRawPointer, _ index: Int) -> __m256 {
        _mm256_loadu_ps((base + 4 * index).assumingMemoryBound(to: Float.self))
    }
    #endif
}

extension CacheCells {
    /// `n` elements from element `index` of `base` into f32 `destination`.
    @inline(__always)
    static func convert(_ base: UnsafeRawPointer, _ index: Int, _ n: Int, into destination: UnsafeMutablePointer<Float>) {
        var i = 0
        #if arch(x86_64)
        while i + 8 <= n {
            _mm256_storeu_ps(destination + i, load8(base, index + i))
            i += 8
        }
        #endif
        while i < n {
            destination[i] = element(base, index + i)
            i += 1
        }
    }

    /// The dot products of `query` (n floats) with the n elements at element offsets a, b, c, d:
    /// four independent chains, so the FMA latency is hidden.
    @inline(__always)
    static func dot4(_ query: UnsafePointer<Float>, _ base: UnsafeRawPointer, _ a: Int, _ b: Int, _ c: Int, _ d: Int, _ n: Int) -> SIMD4<Float> {
        var result = SIMD4<Float>()
        var i = 0
        #if arch(x86_64)
        var s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0
        while i + 8 <= n {
            let q = _mm256_loadu_ps(query + i)
            s0 = _mm256_fmadd_ps(q, load8(base, a + i), s0)
            s1 = _mm256_fmadd_ps(q, load8(base, b + i), s1)
            s2 = _mm256_fmadd_ps(q, load8(base, c + i), s2)
            s3 = _mm256_fmadd_ps(q, load8(base, d + i), s3)
            i += 8
        }
        result = SIMD4(VectorMath.horizontalSum(s0), VectorMath.horizontalSum(s1), VectorMath.horizontalSum(s2), VectorMath.horizontalSum(s3))
        #endif
        while i < n {
            result += query[i] * SIMD4(element(base, a + i), element(base, b + i), element(base, c + i), element(base, d + i))
            i += 1
        }
        return result
    }

    /// y[l] += Σ_j weights[j] · element(cell(j) + lane + l) for l < lanes (≤ 32): with 32 lanes the
    /// four sums stay in registers across all `count` keys.
    @inline(__always)
    static func accumulate(weights: UnsafePointer<Float>, _ count: Int, _ base: UnsafeRawPointer, cell: (Int) -> Int,
                           lane: Int, lanes: Int, into y: UnsafeMutablePointer<Float>) {
        #if arch(x86_64)
        if lanes == 32 {
            var a0 = _mm256_loadu_ps(y), a1 = _mm256_loadu_ps(y + 8), a2 = _mm256_loadu_ps(y + 16), a3 = _mm256_loadu_ps(y + 24)
            for j in 0..<count {
                let w = _mm256_set1_ps(weights[j]), at = cell(j) + lane
                a0 = _mm256_fmadd_ps(w, load8(base, at), a0)
                a1 = _mm256_fmadd_ps(w, load8(base, at + 8), a1)
                a2 = _mm256_fmadd_ps(w, load8(base, at + 16), a2)
                a3 = _mm256_fmadd_ps(w, load8(base, at + 24), a3)
            }
            _mm256_storeu_ps(y, a0)
            _mm256_storeu_ps(y + 8, a1)
            _mm256_storeu_ps(y + 16, a2)
            _mm256_storeu_ps(y + 24, a3)
            return
        }
        #endif
        for l in 0..<lanes {
            var sum = y[l]
            for j in 0..<count { sum += weights[j] * element(base, cell(j) + lane + l) }
            y[l] = sum
        }
    }
}
