#if arch(x86_64)
import _Builtin_intrinsics.intel
import CHalfPrecision
#endif

/// f16 ↔ f32 for the KV cache, 8 lanes at a time with F16C where available.
enum HalfPrecision {
    /// Round to nearest even, as ggml's `GGML_CPU_FP32_TO_FP16`.
    static func store(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
        var i = 0
        #if arch(x86_64)
        while i + 8 <= count {
            _mm_storeu_si128(UnsafeMutableRawPointer(destination + i).assumingMemoryBound(to: __m128i.self), atelier_half8(source + i))
            i += 8
        }
        #endif
        while i < count {
            destination[i] = Float16(source[i]).bitPattern
            i += 1
        }
    }

    static func load(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        #if arch(x86_64)
        while i + 8 <= count {
            let h = _mm_loadu_si128(UnsafeRawPointer(source + i).assumingMemoryBound(to: __m128i.self))
            _mm256_storeu_ps(destination + i, _mm256_cvtph_ps(h))
            i += 8
        }
        #endif
        while i < count {
            destination[i] = Float(Float16(bitPattern: source[i]))
            i += 1
        }
    }
}

/// Dot products and scaled accumulation over f32 rows (attention over the KV cache).
enum VectorMath {
    /// The dot products of `query` with the `n` floats at offsets a, b, c, d of `base`: four
    /// independent chains, so the FMA latency is hidden.
    @inline(__always)
    static func dot4(_ query: UnsafePointer<Float>, _ base: UnsafePointer<Float>, _ a: Int, _ b: Int, _ c: Int, _ d: Int, _ n: Int)
        -> SIMD4<Float>
    {
        var result = SIMD4<Float>()
        var i = 0
        #if arch(x86_64)
        var s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0
        while i + 8 <= n {
            let q = _mm256_loadu_ps(query + i)
            s0 = _mm256_fmadd_ps(q, _mm256_loadu_ps(base + a + i), s0)
            s1 = _mm256_fmadd_ps(q, _mm256_loadu_ps(base + b + i), s1)
            s2 = _mm256_fmadd_ps(q, _mm256_loadu_ps(base + c + i), s2)
            s3 = _mm256_fmadd_ps(q, _mm256_loadu_ps(base + d + i), s3)
            i += 8
        }
        result = SIMD4(horizontalSum(s0), horizontalSum(s1), horizontalSum(s2), horizontalSum(s3))
        #endif
        while i < n {
            result += query[i] * SIMD4(base[a + i], base[b + i], base[c + i], base[d + i])
            i += 1
        }
        return result
    }

    /// `y[l] += Σ_j weights[j] · base[row(j) + l]` for `l < lanes` (≤ 32): with 32 lanes the four
    /// sums stay in registers across all `count` rows.
    @inline(__always)
    static func accumulate(
        weights: UnsafePointer<Float>, _ count: Int, _ base: UnsafePointer<Float>, row: (Int) -> Int,
        lanes: Int, into y: UnsafeMutablePointer<Float>
    ) {
        #if arch(x86_64)
        if lanes == 32 {
            var a0 = _mm256_loadu_ps(y), a1 = _mm256_loadu_ps(y + 8), a2 = _mm256_loadu_ps(y + 16), a3 = _mm256_loadu_ps(y + 24)
            for j in 0..<count {
                let w = _mm256_set1_ps(weights[j]), x = base + row(j)
                a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x), a0)
                a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + 8), a1)
                a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + 16), a2)
                a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + 24), a3)
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
            for j in 0..<count { sum += weights[j] * base[row(j) + l] }
            y[l] = sum
        }
    }

    #if arch(x86_64)
    @inline(__always)
    static func horizontalSum(_ v: __m256) -> Float { v.sum() }
    #endif
}
