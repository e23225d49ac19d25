import Autograd
import TensorOps
import Tensors
import Testing

/// Central finite differences in f64 against the backward rules: for a scalar function f of some
/// inputs, each input element x gets (f(x+h) − f(x−h)) / 2h, compared with the gradient backward()
/// produced. f is made scalar by a fixed random projection of the op's output, so every output
/// element's gradient path is exercised.
struct GradientCheck {
    let backend: CPUTensorBackend

    init(threads: Int = 2) { backend = CPUTensorBackend(threads: threads) }

    /// A seeded f64 tensor with entries in [-1, 1) (xorshift; reproducible).
    func random(_ shape: [Int], seed: UInt64, scale: Double = 1) -> Tensor {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let values = (0..<shape.reduce(1, *)).map { _ -> Double in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return (Double(state >> 11) / Double(1 << 53) * 2 - 1) * scale
        }
        return backend.tensor(values, shape: shape)
    }

    /// Checks d(sum(op(inputs) ⊙ projection))/d(inputs) against finite differences.
    /// `op` builds the result from variables; inputs listed in `constant` get no gradient check.
    func check(
        _ inputs: [Tensor], tolerance: Double = 1e-6, step: Double = 1e-5, constant: Set<Int> = [],
        sourceLocation: SourceLocation = #_sourceLocation, _ op: ([Variable]) -> Variable
    ) {
        let variables = inputs.enumerated().map { Variable($0.element, backend: backend, requiresGradient: !constant.contains($0.offset)) }
        let output = op(variables)
        let projection = random(output.shape, seed: 99)
        let projected = (output * Variable(projection, backend: backend)).sum()
        projected.backward()

        func evaluate(_ perturbed: [Tensor]) -> Double {
            withoutGradients {
                let result = op(perturbed.map { Variable($0, backend: backend) })
                let value = backend.doubles(result.value)
                let weights = backend.doubles(projection)
                return zip(value, weights).reduce(0) { $0 + $1.0 * $1.1 }
            }
        }

        for (index, input) in inputs.enumerated() where !constant.contains(index) {
            let analytic = variables[index].gradient.map { backend.doubles($0) } ?? [Double](repeating: 0, count: input.count)
            var values = backend.doubles(input)
            var worst = 0.0
            var numericScale = 0.0
            for element in values.indices {
                let original = values[element]
                values[element] = original + step
                let plus = evaluate(replacing(inputs, at: index, with: values, shape: input.shape))
                values[element] = original - step
                let minus = evaluate(replacing(inputs, at: index, with: values, shape: input.shape))
                values[element] = original
                let numeric = (plus - minus) / (2 * step)
                worst = max(worst, abs(numeric - analytic[element]))
                numericScale = max(numericScale, abs(numeric))
            }
            #expect(
                worst <= tolerance * max(1, numericScale), "input \(index) \(input.shape): max |numeric − analytic| = \(worst)",
                sourceLocation: sourceLocation)
        }
    }

    private func replacing(_ inputs: [Tensor], at index: Int, with values: [Double], shape: [Int]) -> [Tensor] {
        var copy = inputs
        copy[index] = backend.tensor(values, shape: shape)
        return copy
    }
}

/// Every value within `tolerance` of its reference, relative to max(1, |reference|).
func expectClose(_ actual: [Double], _ expected: [Double], tolerance: Double = 1e-12, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    let worst = zip(actual, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    #expect(worst <= tolerance, "worst relative difference \(worst)", sourceLocation: sourceLocation)
}
