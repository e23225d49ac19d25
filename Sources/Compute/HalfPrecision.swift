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
            atelier_store_half8(source + i, destination + i)
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

    /// `f32` rounded through f16 and back: ggml converts attention queries to f16 before
    /// multiplying them with an f16 key cache, and matching it keeps our logits comparable.
    static func roundTrip(_ values: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        #if arch(x86_64)
        var halves = SIMD8<UInt16>()
        while i + 8 <= count {
            withUnsafeMutableBytes(of: &halves) { atelier_store_half8(values + i, $0.baseAddress!.assumingMemoryBound(to: UInt16.self)) }
            _mm256_storeu_ps(values + i, _mm256_cvtph_ps(unsafeBitCast(halves, to: __m128i.self)))
            i += 8
        }
        #endif
        while i < count {
            values[i] = Float(Float16(values[i]))
            i += 1
        }
    }
}

/// Dot products and scaled accumulation over f32 or f16 rows (the KV cache's two layouts).
enum VectorMath {
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            acc0.addProduct(SIMD8(UnsafeBufferPointer(start: a + i, count: 8)), SIMD8(UnsafeBufferPointer(start: b + i, count: 8)))
            acc1.addProduct(SIMD8(UnsafeBufferPointer(start: a + i + 8, count: 8)), SIMD8(UnsafeBufferPointer(start: b + i + 8, count: 8)))
            i += 16
        }
        var sum = (acc0 + acc1).sum()
        while i < n {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, f16 b: UnsafePointer<UInt16>, _ n: Int) -> Float {
        var i = 0
        var sum: Float = 0
        #if arch(x86_64)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        while i + 16 <= n {
            let k0 = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(b + i).assumingMemoryBound(to: __m128i.self)))
            let k1 = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(b + i + 8).assumingMemoryBound(to: __m128i.self)))
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), k0, acc0)
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), k1, acc1)
            i += 16
        }
        sum = horizontalSum(_mm256_add_ps(acc0, acc1))
        #endif
        while i < n {
            sum += a[i] * Float(Float16(bitPattern: b[i]))
            i += 1
        }
        return sum
    }

    /// `y += w × x`.
    @inline(__always)
    static func axpy(_ w: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let wv = SIMD8<Float>(repeating: w)
        var i = 0
        while i + 8 <= n {
            var acc = SIMD8<Float>(UnsafeBufferPointer(start: y + i, count: 8))
            acc.addProduct(wv, SIMD8(UnsafeBufferPointer(start: x + i, count: 8)))
            UnsafeMutableRawPointer(y + i).storeBytes(of: acc, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            y[i] += w * x[i]
            i += 1
        }
    }

    @inline(__always)
    static func axpy(_ w: Float, f16 x: UnsafePointer<UInt16>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        #if arch(x86_64)
        let wv = _mm256_set1_ps(w)
        while i + 8 <= n {
            let v = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(x + i).assumingMemoryBound(to: __m128i.self)))
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(wv, v, _mm256_loadu_ps(y + i)))
            i += 8
        }
        #endif
        while i < n {
            y[i] += w * Float(Float16(bitPattern: x[i]))
            i += 1
        }
    }

    /// `y += w[0]·x0 + w[1]·x1 + w[2]·x2 + w[3]·x3`: one load and store of `y` for four rows.
    @inline(__always)
    static func axpy4(_ w: SIMD4<Float>, _ x0: UnsafePointer<Float>, _ x1: UnsafePointer<Float>, _ x2: UnsafePointer<Float>,
                      _ x3: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let w0 = SIMD8<Float>(repeating: w[0]), w1 = SIMD8<Float>(repeating: w[1])
        let w2 = SIMD8<Float>(repeating: w[2]), w3 = SIMD8<Float>(repeating: w[3])
        var i = 0
        while i + 8 <= n {
            var acc = SIMD8<Float>(UnsafeBufferPointer(start: y + i, count: 8))
            acc.addProduct(w0, SIMD8(UnsafeBufferPointer(start: x0 + i, count: 8)))
            acc.addProduct(w1, SIMD8(UnsafeBufferPointer(start: x1 + i, count: 8)))
            acc.addProduct(w2, SIMD8(UnsafeBufferPointer(start: x2 + i, count: 8)))
            acc.addProduct(w3, SIMD8(UnsafeBufferPointer(start: x3 + i, count: 8)))
            UnsafeMutableRawPointer(y + i).storeBytes(of: acc, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            y[i] += w[0] * x0[i] + w[1] * x1[i] + w[2] * x2[i] + w[3] * x3[i]
            i += 1
        }
    }

    /// `y *= s`.
    @inline(__always)
    static func scale(_ y: UnsafeMutablePointer<Float>, by s: Float, _ n: Int) {
        for i in 0..<n { y[i] *= s }
    }

    #if arch(x86_64)
    @inline(__always)
    static func horizontalSum(_ v: __m256) -> Float { unsafeBitCast(v, to: SIMD8<Float>.self).sum() }
    #endif
}
