import Tensors

/// Dropout on the CPU with a counter-based mask: element i is kept when a hash of (seed, i) lands
/// at or above p, so the mask needs no stored random state and any recomputation draws it again.
extension CPUTensorBackend {
    public func dropout(_ x: Tensor, probability: Double, seed: UInt64) -> (output: Tensor, mask: Tensor) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) outside [0, 1)")
        return dispatch(
            x.dtype, "dropout", f32: { dropoutKernel(Float.self, x, probability, seed) },
            f64: { dropoutKernel(Double.self, x, probability, seed) })
    }

    func dropoutKernel<T: TensorScalar>(_: T.Type, _ x: Tensor, _ probability: Double, _ seed: UInt64) -> (Tensor, Tensor) {
        let input = contiguous(x)
        let output = empty(x.shape, dtype: x.dtype)
        let mask = empty(x.shape, dtype: x.dtype)
        let (px, po, pm) = (
            input.address.assumingMemoryBound(to: T.self), output.address.assumingMemoryBound(to: T.self),
            mask.address.assumingMemoryBound(to: T.self)
        )
        let threshold = DropoutMask.threshold(probability)
        let kept = T(1 / (1 - probability))
        parallel(x.count, elements: x.count) { range in
            for i in range {
                let m: T = DropoutMask.bits(seed: seed, index: i) >= threshold ? kept : 0
                pm[i] = m
                po[i] = px[i] * m
            }
        }
        return (output, mask)
    }
}

/// The hash behind dropout masks: splitmix64's output function applied to the seed mixed with the
/// element index times the golden-ratio constant, its top 53 bits read as a uniform draw in [0, 1).
public enum DropoutMask {
    static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// 53 uniformly distributed bits for element `index` under `seed`.
    @inline(__always)
    public static func bits(seed: UInt64, index: Int) -> UInt64 {
        var z = (seed ^ (UInt64(truncatingIfNeeded: index) &* golden)) &+ golden
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) >> 11
    }

    /// Draws below this many 2^-53 units are dropped: an element is dropped with probability p.
    public static func threshold(_ probability: Double) -> UInt64 {
        UInt64((probability * 0x1p53).rounded(.down))
    }
}
