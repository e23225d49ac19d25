#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// e^x eight f32 lanes at a time, for the softmax rows of attention: scalar `expf` per element was
/// the largest cost of the attention forward at T = 256 after the GEMMs.
enum VectorExponential {
    /// e^x per lane for x ≤ 0 (scores shifted by their row maximum), within ~2 ulp: x = n·ln2 + r
    /// with |r| ≤ ln2/2 (ln2 split in two parts so n·ln2 is exact), e^r by its Taylor series to r⁷
    /// (remainder < 1e-8 relative), times 2ⁿ built in the exponent bits. n comes from adding
    /// 1.5·2²³, which leaves round(x·log2 e) in the low mantissa bits. Inputs below −87 give ~1e-38
    /// instead of something smaller: nothing a sum of weights that includes e^0 = 1 can tell apart.
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let clamped = maximum(x, SIMD8(repeating: -87))
        let shifter = SIMD8<Float>(repeating: 12_582_912)
        let shifted = shifter.addingProduct(clamped, SIMD8(repeating: 1.442_695_040_888_963_4))
        let n = shifted - shifter
        var r = clamped.addingProduct(n, SIMD8(repeating: -0.693_145_751_953_125))
        r = r.addingProduct(n, SIMD8(repeating: -1.428_606_820_309_417e-6))
        var p = SIMD8<Float>(repeating: 1.0 / 5040)
        p = SIMD8(repeating: 1.0 / 720).addingProduct(p, r)
        p = SIMD8(repeating: 1.0 / 120).addingProduct(p, r)
        p = SIMD8(repeating: 1.0 / 24).addingProduct(p, r)
        p = SIMD8(repeating: 1.0 / 6).addingProduct(p, r)
        p = SIMD8(repeating: 0.5).addingProduct(p, r)
        p = SIMD8(repeating: 1).addingProduct(p, r)
        p = SIMD8(repeating: 1).addingProduct(p, r)
        // The low bits of `shifted` are 0x400000 + n; shifted into the exponent field the 0x400000
        // falls off the top, and adding 127 << 23 biases n ∈ [−126, 0] into a normal 2ⁿ.
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &<< 23 &+ SIMD8(repeating: 0x3F80_0000)
        return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    /// The lane-wise maximum in one instruction (the standard library's `pointwiseMax` is a call
    /// with a per-lane loop: 10 % of the attention forward in a profile).
    @inline(__always)
    static func maximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        #if arch(x86_64)
        _mm256_max_ps(a, b)
        #else
        a.replacing(with: b, where: b .> a)
        #endif
    }

    /// The largest of `count` ≥ 1 elements.
    @inline(__always)
    static func maximum<T: TensorScalar>(_ row: UnsafePointer<T>, count: Int) -> T {
        var best = row[0]
        var i = 0
        if T.self == Float.self && count >= 8 {
            let p = UnsafeRawPointer(row)
            var lanes = p.loadUnaligned(as: SIMD8<Float>.self)
            i = 8
            while i + 8 <= count {
                lanes = maximum(lanes, p.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
                i += 8
            }
            var largest = lanes[0]
            for lane in 1..<8 { largest = Swift.max(largest, lanes[lane]) }
            best = T(largest)
        }
        while i < count {
            best = Swift.max(best, row[i])
            i += 1
        }
        return best
    }

    /// `row[i] = e^(row[i] − shift)` for i < count (every row[i] ≤ shift), returning their sum.
    /// f32 rows take the vector path; f64 rows (the gradient checks) call libm per element.
    @inline(__always)
    static func exponentiate<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, count: Int, subtracting shift: T) -> T {
        guard T.self == Float.self else {
            var total = T(0)
            for i in 0..<count {
                let e = T.exponential(row[i] - shift)
                row[i] = e
                total += e
            }
            return total
        }
        let p = UnsafeMutableRawPointer(row)
        let s = SIMD8<Float>(repeating: Float(shift))
        var sums = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            let e = exp(p.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - s)
            p.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
            sums += e
            i += 8
        }
        if i < count {
            // The tail through one padded vector: every element gets the same arithmetic.
            var x = SIMD8<Float>(repeating: -100)
            for j in 0..<(count - i) { x[j] = p.load(fromByteOffset: (i + j) * 4, as: Float.self) - Float(shift) }
            let e = exp(x)
            for j in 0..<(count - i) {
                p.storeBytes(of: e[j], toByteOffset: (i + j) * 4, as: Float.self)
                sums[j] += e[j]
            }
        }
        return T(sums.sum())
    }
}
