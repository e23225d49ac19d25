/// f32 fast paths of the exponential-heavy kernels (SiLU, softmax, cross-entropy), eight lanes at
/// a time with `VectorExponential`: scalar `expf` per element was most of their time (SwiGLU
/// forward at [768, 352]: 0.92 ms on one thread). f64 (the gradient checks) keeps libm.
///
/// A row's tail goes through one zero-padded vector, so every element gets the same arithmetic
/// whichever way the rows are split over threads.
enum VectorRows {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int, _ end: Int) -> SIMD8<Float> {
        if i + 8 <= end { return UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) }
        var lanes = SIMD8<Float>()
        for j in 0..<(end - i) { lanes[j] = p[i + j] }
        return lanes
    }

    @inline(__always)
    static func store(_ lanes: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ end: Int) {
        if i + 8 <= end {
            UnsafeMutableRawPointer(p + i).storeBytes(of: lanes, as: SIMD8<Float>.self)
            return
        }
        for j in 0..<(end - i) { p[i + j] = lanes[j] }
    }

    /// σ(x) from e^(−|x|) ∈ (0, 1], so the exponential never overflows.
    @inline(__always)
    static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let magnitude = x.replacing(with: -x, where: x .< 0)
        let e = VectorExponential.exp(-magnitude)
        let positive = 1 / (1 + e)
        return (e * positive).replacing(with: positive, where: x .>= 0)
    }

    /// A kernel's element pointer as f32, once the kernel has checked that T is Float.
    @inline(__always)
    static func floats<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    /// o[i] = silu(x[i]) for i in `range`.
    static func silu(_ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        var i = range.lowerBound
        while i < range.upperBound {
            let u = load(x, i, range.upperBound)
            store(u * sigmoid(u), o, i, range.upperBound)
            i += 8
        }
    }

    /// o[i] = g[i] · silu′(x[i]).
    static func siluBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        var i = range.lowerBound
        while i < range.upperBound {
            let u = load(x, i, range.upperBound)
            let s = sigmoid(u)
            store(load(g, i, range.upperBound) * s * (1 + u * (1 - s)), o, i, range.upperBound)
            i += 8
        }
    }

    /// o[i] = silu(a[i]) · b[i].
    static func swiGLU(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        var i = range.lowerBound
        while i < range.upperBound {
            let u = load(a, i, range.upperBound)
            store(u * sigmoid(u) * load(b, i, range.upperBound), o, i, range.upperBound)
            i += 8
        }
    }

    /// da[i] = g·b·silu′(a), db[i] = g·silu(a).
    static func swiGLUBackward(
        _ g: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ da: UnsafeMutablePointer<Float>,
        _ db: UnsafeMutablePointer<Float>, _ range: Range<Int>
    ) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let (gi, u) = (load(g, i, end), load(a, i, end))
            let s = sigmoid(u)
            store(gi * load(b, i, end) * s * (1 + u * (1 - s)), da, i, end)
            store(gi * u * s, db, i, end)
            i += 8
        }
    }

    /// Σ e^(x[i] − shift) over a row whose elements are all ≤ shift.
    static func sumOfExponentials(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
        var (sums, i) = (SIMD8<Float>(), 0)
        let s = SIMD8<Float>(repeating: shift)
        while i + 8 <= count {
            sums += VectorExponential.exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - s)
            i += 8
        }
        if i < count {
            var lanes = SIMD8<Float>(repeating: -100)
            for j in 0..<(count - i) { lanes[j] = x[i + j] - shift }
            let e = VectorExponential.exp(lanes)
            for j in 0..<(count - i) { sums[j] += e[j] }
        }
        return sums.sum()
    }

    /// o[i] = e^(x[i] − shift) · factor (every x[i] ≤ shift).
    static func scaledExponentials(_ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, count: Int, shift: Float, factor: Float) {
        let (s, f) = (SIMD8<Float>(repeating: shift), SIMD8<Float>(repeating: factor))
        var i = 0
        while i < count {
            store(VectorExponential.exp(load(x, i, count) - s) * f, o, i, count)
            i += 8
        }
    }
}
