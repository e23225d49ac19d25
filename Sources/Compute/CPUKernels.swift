#if canImport(Glibc)
import Glibc
#endif
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Row kernels shared by the CPU backend. Each works on one row so the backend can spread rows
/// over threads.
enum CPUKernels {
    /// ggml's RMSNorm: the sum of squares in double, `scale = 1/sqrtf(mean + ε)`, then
    /// `(x·scale)·w` — the same operations in the same order, for comparable results.
    /// The double sum runs in four lanes of four (16 independent chains instead of one long chain
    /// of dependent additions); in double, the order of 10³–10⁴ float squares does not reach the
    /// float the mean is rounded to.
    static func rmsNorm(
        _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int, epsilon: Float
    ) {
        var sum: Double = 0
        var i = 0
        #if arch(x86_64)
        var a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0
        while i + 16 <= count {
            let s0 = _mm256_mul_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(x + i))
            let s1 = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(x + i + 8))
            let v0 = s0, v1 = s1
            a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(v0.lowHalf))
            a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(v0.highHalf))
            a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(v1.lowHalf))
            a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(v1.highHalf))
            i += 16
        }
        sum = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)).sum()
        #endif
        while i < count {
            sum += Double(x[i] * x[i])
            i += 1
        }
        let mean = Float(sum / Double(count))
        let scale = 1 / sqrtf(mean + epsilon)
        for i in 0..<count { out[i] = (x[i] * scale) * weight[i] }
    }

    /// Rotates one head in place. Angles follow ggml's rope cache: θ starts at the position
    /// and is multiplied by base^(−2/n) per pair, in f32.
    static func rope(_ head: UnsafeMutablePointer<Float>, position: Int, parameters p: RopeParameters, cosSin: UnsafeMutablePointer<Float>)
    {
        let pairs = p.dimensions / 2
        let half = pairs
        for i in 0..<pairs {
            let c = cosSin[2 * i], s = cosSin[2 * i + 1]
            let (a, b) = p.style == .interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
            let x0 = head[a], x1 = head[b]
            head[a] = x0 * c - x1 * s
            head[b] = x0 * s + x1 * c
        }
    }

    /// cos/sin pairs for one position (computed once per row, shared by its heads).
    static func ropeAngles(position: Int, parameters p: RopeParameters, into cosSin: UnsafeMutablePointer<Float>) {
        let thetaScale = powf(p.base, -2 / Float(p.dimensions))
        var thetaBase = Float(position)
        for i in 0..<p.dimensions / 2 {
            let factor = p.frequencyFactors?[i] ?? 1
            let theta = p.frequencyScale * (thetaBase / factor)
            cosSin[2 * i] = cosf(theta)
            cosSin[2 * i + 1] = sinf(theta)
            thetaBase *= thetaScale
        }
    }
}
