import Synchronization
import Tensors

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Rotary position embedding on the CPU.
extension CPUTensorBackend {
    public func rope(_ x: Tensor, rotary: RotaryEmbedding, firstPosition: Int, inverse: Bool) -> Tensor {
        precondition(x.rank == 4, "rope input must be [batch, time, heads, headDim], not \(x.shape)")
        precondition(x.shape[3] % 2 == 0, "rope needs an even head width, not \(x.shape[3])")
        return dispatch(
            x.dtype, "rope", f32: { ropeKernel(Float.self, x, rotary, firstPosition, inverse) },
            f64: { ropeKernel(Double.self, x, rotary, firstPosition, inverse) })
    }

    /// The angles depend only on (time, pair), so their cosines and sines are tabulated (in f64,
    /// then rounded to the kernel's type) and shared by every batch and head — and, through
    /// `ropeTables`, by every layer's queries and keys, forward and backward, as long as the
    /// positions stay the same (a training step's 4 × layers calls compute one table).
    ///
    /// The table holds, per position and element j of a head, C[j] = cos and S[j] = ∓sin of j's
    /// pair (− on the pair's first member), so every element is o[j] = u[j]·C[j] + u[partner(j)]·S[j]
    /// — the same products and sums as a·c − b·s, a·s + b·c — and f32 heads run eight lanes at a
    /// time (the partner is the neighbour swap of a vector, or the other half's vector).
    func ropeKernel<T: TensorScalar>(_: T.Type, _ x: Tensor, _ rotary: RotaryEmbedding, _ firstPosition: Int, _ inverse: Bool) -> Tensor {
        let (batch, time, heads, headWidth) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let pairs = headWidth / 2
        let input = contiguous(x)
        let result = empty(x.shape, dtype: x.dtype)
        // Element offsets of pair i's two members.
        let adjacent = rotary.pairing == .adjacent
        let (first, second): (Int, Int) = adjacent ? (2, 1) : (1, pairs)
        let key = RopeTableCache.Key(
            theta: rotary.theta, positionScale: rotary.positionScale, headWidth: headWidth, firstPosition: firstPosition, time: time,
            pairing: rotary.pairing, dtype: x.dtype)
        let table = ropeTables.table(for: key) {
            let table = empty([time, 2, headWidth], dtype: x.dtype)
            let pt = table.address.assumingMemoryBound(to: T.self)
            for t in 0..<time {
                let position = Double(firstPosition + t) * rotary.positionScale
                let (cosines, sines) = (pt + t * 2 * headWidth, pt + t * 2 * headWidth + headWidth)
                for i in 0..<pairs {
                    let angle = position * pow(rotary.theta, -2 * Double(i) / Double(headWidth))
                    let (j, k, c, s) = (first * i, first * i + second, T(cos(angle)), T(sin(angle)))
                    (cosines[j], cosines[k], sines[j], sines[k]) = (c, c, -s, s)
                }
            }
            return table
        }
        let pt = UnsafePointer(table.address.assumingMemoryBound(to: T.self))
        // The inverse rotation (backward) turns by the negative angle: the same cosines, negated sines.
        let direction: T = inverse ? -1 : 1
        let (px, po) = (input.address.assumingMemoryBound(to: T.self), result.address.assumingMemoryBound(to: T.self))
        let rowWidth = heads * headWidth
        let vectorised = T.self == Float.self && (adjacent ? headWidth % 8 == 0 : pairs % 8 == 0)
        parallel(batch * time, elements: x.count) { range in
            for row in range {
                let (cosines, sines) = (pt + (row % time) * 2 * headWidth, pt + (row % time) * 2 * headWidth + headWidth)
                for head in 0..<heads {
                    let (u, o) = (px + row * rowWidth + head * headWidth, po + row * rowWidth + head * headWidth)
                    if vectorised {
                        RopeRows.rotate(
                            VectorRows.floats(u), VectorRows.floats(o), VectorRows.floats(UnsafeMutablePointer(mutating: cosines)),
                            VectorRows.floats(UnsafeMutablePointer(mutating: sines)), width: headWidth, adjacent: adjacent,
                            direction: Float(direction))
                        continue
                    }
                    for j in 0..<headWidth {
                        let partner = adjacent ? j ^ 1 : (j < pairs ? j + pairs : j - pairs)
                        o[j] = u[j] * cosines[j] + u[partner] * (direction * sines[j])
                    }
                }
            }
        }
        return result
    }
}

/// One head's rotation, eight f32 lanes at a time (see `ropeKernel`).
enum RopeRows {
    @inline(__always)
    static func rotate(
        _ u: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ cosines: UnsafePointer<Float>, _ sines: UnsafePointer<Float>,
        width: Int, adjacent: Bool, direction: Float
    ) {
        let half = width / 2
        var j = 0
        while j < width {
            let v = UnsafeRawPointer(u + j).loadUnaligned(as: SIMD8<Float>.self)
            let partner =
                adjacent ? swapNeighbours(v) : UnsafeRawPointer(u + (j < half ? j + half : j - half)).loadUnaligned(as: SIMD8<Float>.self)
            let c = UnsafeRawPointer(cosines + j).loadUnaligned(as: SIMD8<Float>.self)
            let s = UnsafeRawPointer(sines + j).loadUnaligned(as: SIMD8<Float>.self) * direction
            UnsafeMutableRawPointer(o + j).storeBytes(of: v * c + partner * s, as: SIMD8<Float>.self)
            j += 8
        }
    }

    /// (v1, v0, v3, v2, …): each element's pair partner in the adjacent layout.
    @inline(__always)
    static func swapNeighbours(_ v: SIMD8<Float>) -> SIMD8<Float> {
        #if arch(x86_64)
        _mm256_permutevar_ps(v, _mm256_setr_epi32(1, 0, 3, 2, 5, 4, 7, 6))
        #else
        SIMD8(v[1], v[0], v[3], v[2], v[5], v[4], v[7], v[6])
        #endif
    }
}

/// The rope tables of `ropeKernel`, by everything the angles depend on. Bounded: a new set of
/// positions beyond 16 tables starts the cache afresh (generation appends one position a call).
final class RopeTableCache: Sendable {
    struct Key: Hashable, Sendable {
        let theta: Double, positionScale: Double, headWidth: Int, firstPosition: Int, time: Int, pairing: RotaryEmbedding.Pairing
        let dtype: DType
    }
    static let capacity = 16
    private let tables = Mutex<[Key: Tensor]>([:])

    func table(for key: Key, make: () -> Tensor) -> Tensor {
        if let table = tables.withLock({ $0[key] }) { return table }
        let table = make()
        tables.withLock { tables in
            if tables.count >= Self.capacity { tables.removeAll() }
            tables[key] = table
        }
        return table
    }
}
