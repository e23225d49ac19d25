import TensorOps
import Tensors

/// Views and layout changes: reshape, transpose, permute, slice, concat, and explicit copies.
extension Variable {
    /// The same elements in a new shape (copies first when the value is not contiguous).
    public func reshaped(_ shape: [Int]) -> Variable {
        let backend = self.backend
        let original = value.shape
        let result = backend.contiguous(value).reshaped(shape)
        return Variable(result, backend: backend, inputs: [self], name: "reshape") { gradient in
            [backend.contiguous(gradient).reshaped(original)]
        }
    }

    public func transposed(_ a: Int, _ b: Int) -> Variable {
        let result = value.transposed(a, b)
        return Variable(result, backend: backend, inputs: [self], name: "transpose") { gradient in
            [gradient.transposed(a, b)]
        }
    }

    public func permuted(_ order: [Int]) -> Variable {
        var inverse = [Int](repeating: 0, count: order.count)
        for (position, axis) in order.enumerated() { inverse[axis] = position }
        return Variable(value.permuted(order), backend: backend, inputs: [self], name: "permute") { gradient in
            [gradient.permuted(inverse)]
        }
    }

    /// Indices `range` along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) -> Variable {
        let backend = self.backend
        let (shape, dtype, resolved) = (value.shape, value.dtype, value.axis(axis))
        return Variable(value.sliced(axis: resolved, range), backend: backend, inputs: [self], name: "slice") { gradient in
            let full = backend.zeros(shape, dtype: dtype)
            backend.copy(gradient, into: full.sliced(axis: resolved, range))
            return [full]
        }
    }

    /// A contiguous copy (a view made dense).
    public func contiguous() -> Variable {
        Variable(backend.contiguous(value), backend: backend, inputs: [self], name: "contiguous") { [$0] }
    }

    public static func concat(_ parts: [Variable], axis: Int) -> Variable {
        precondition(!parts.isEmpty, "concat of no variables")
        let backend = parts[0].backend
        let resolved = parts[0].value.axis(axis)
        let sizes = parts.map { $0.value.shape[resolved] }
        let result = backend.concat(parts.map(\.value), axis: resolved)
        return Variable(result, backend: backend, inputs: parts, name: "concat") { gradient in
            var start = 0
            return sizes.map { size in
                defer { start += size }
                return gradient.sliced(axis: resolved, start..<(start + size))
            }
        }
    }
}

/// Products and reductions.
extension Variable {
    /// Batched matrix product over the last two axes (see `TensorBackend.matmul`).
    public func matmul(_ other: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        let backend = self.backend
        let (a, b) = (value, other.value)
        let result = backend.matmul(a, b, transposeA: transposeA, transposeB: transposeB)
        let (slotA, slotB) = (slot, other.slot)
        return Variable(result, backend: backend, inputs: [self, other], name: "matmul") { gradient in
            // C = op(A)·op(B): dop(A) = dC·op(B)ᵀ, dop(B) = op(A)ᵀ·dC.
            var ga: Tensor? = nil
            var gb: Tensor? = nil
            if slotA.requiresGradient {
                let gradientOfOpA = backend.matmul(gradient, b, transposeA: false, transposeB: !transposeB)
                ga = transposeA ? gradientOfOpA.transposed(-1, -2) : gradientOfOpA
            }
            if slotB.requiresGradient {
                if b.rank == 2 && a.rank > 2 {
                    // A matrix shared by every batch: its gradient sums over the batches.
                    let opA = transposeA ? a.transposed(-1, -2) : a
                    let flatA = backend.contiguous(opA).reshaped([-1, opA.shape[opA.rank - 1]])
                    let flatG = backend.contiguous(gradient).reshaped([-1, gradient.shape[gradient.rank - 1]])
                    gb =
                        transposeB
                        ? backend.matmul(flatG, flatA, transposeA: true, transposeB: false)
                        : backend.matmul(flatA, flatG, transposeA: true, transposeB: false)
                } else {
                    let gradientOfOpB = backend.matmul(a, gradient, transposeA: !transposeA, transposeB: false)
                    gb = transposeB ? gradientOfOpB.transposed(-1, -2) : gradientOfOpB
                }
            }
            return [ga, gb]
        }
    }

    /// `x · Wᵀ` for x [..., in] and a weight [out, in] (PyTorch's and GGUF's layout).
    public func linear(_ weight: Variable) -> Variable {
        let leading = Array(shape.dropLast())
        let flat = rank == 2 ? self : reshaped([-1, shape[rank - 1]])
        let product = flat.matmul(weight, transposeB: true)
        return rank == 2 ? product : product.reshaped(leading + [weight.shape[0]])
    }

    public var rank: Int { value.rank }

    /// Sums over `axes` (all when empty), dropping them unless `keepingAxes`.
    public func sum(axes: [Int] = [], keepingAxes: Bool = false) -> Variable {
        let backend = self.backend
        let shape = value.shape
        let resolved = axes.isEmpty ? Array(0..<rank) : axes.map { value.axis($0) }
        let kept = backend.sum(value, axes: resolved)
        let outShape = keepingAxes ? kept.shape : kept.shape.enumerated().filter { !resolved.contains($0.offset) }.map(\.element)
        return Variable(kept.reshaped(outShape), backend: backend, inputs: [self], name: "sum") { gradient in
            [backend.contiguous(backend.contiguous(gradient).reshaped(kept.shape).broadcast(to: shape))]
        }
    }

    public func mean(axes: [Int] = [], keepingAxes: Bool = false) -> Variable {
        let resolved = axes.isEmpty ? Array(0..<rank) : axes.map { value.axis($0) }
        let count = resolved.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepingAxes: keepingAxes).scaled(by: 1 / Double(max(count, 1)))
    }
}
