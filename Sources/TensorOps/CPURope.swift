import Synchronization
import Tensors

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
    func ropeKernel<T: TensorScalar>(_: T.Type, _ x: Tensor, _ rotary: RotaryEmbedding, _ firstPosition: Int, _ inverse: Bool) -> Tensor {
        let (batch, time, heads, headWidth) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let pairs = headWidth / 2
        let input = contiguous(x)
        let result = empty(x.shape, dtype: x.dtype)
        let key = RopeTableCache.Key(
            theta: rotary.theta, positionScale: rotary.positionScale, headWidth: headWidth, firstPosition: firstPosition, time: time,
            dtype: x.dtype)
        let table = ropeTables.table(for: key) {
            let table = empty([time, 2, pairs], dtype: x.dtype)
            let pt = table.address.assumingMemoryBound(to: T.self)
            for t in 0..<time {
                let position = Double(firstPosition + t) * rotary.positionScale
                for i in 0..<pairs {
                    let angle = position * pow(rotary.theta, -2 * Double(i) / Double(headWidth))
                    pt[t * 2 * pairs + i] = T(cos(angle))
                    pt[t * 2 * pairs + pairs + i] = T(sin(angle))
                }
            }
            return table
        }
        let pt = UnsafePointer(table.address.assumingMemoryBound(to: T.self))
        // The inverse rotation (backward) turns by the negative angle: the same cosines, negated sines.
        let direction: T = inverse ? -1 : 1
        let (px, po) = (input.address.assumingMemoryBound(to: T.self), result.address.assumingMemoryBound(to: T.self))
        let rowWidth = heads * headWidth
        // Element offsets of pair i's two members.
        let (first, second): (Int, Int) = rotary.pairing == .adjacent ? (2, 1) : (1, pairs)
        parallel(batch * time, elements: x.count) { range in
            for row in range {
                let (cosines, sines) = (pt + (row % time) * 2 * pairs, pt + (row % time) * 2 * pairs + pairs)
                for head in 0..<heads {
                    let (u, o) = (px + row * rowWidth + head * headWidth, po + row * rowWidth + head * headWidth)
                    for i in 0..<pairs {
                        let (j, k) = (first * i, first * i + second)
                        let (a, b, c, s) = (u[j], u[k], cosines[i], direction * sines[i])
                        o[j] = a * c - b * s
                        o[k] = a * s + b * c
                    }
                }
            }
        }
        return result
    }
}

/// The rope tables of `ropeKernel`, by everything the angles depend on. Bounded: a new set of
/// positions beyond 16 tables starts the cache afresh (generation appends one position a call).
final class RopeTableCache: Sendable {
    struct Key: Hashable, Sendable {
        let theta: Double, positionScale: Double, headWidth: Int, firstPosition: Int, time: Int, dtype: DType
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
