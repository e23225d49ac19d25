import TensorOps
import Tensors

/// The neural-network ops as differentiable operations: each forward keeps what its backward
/// kernel needs (inputs, per-row statistics, masks) and nothing more.
extension Variable {
    /// Rows of this table [vocabulary, width] picked by `indices` (i32, any shape) → indices.shape + [width].
    public func embeddingLookup(_ indices: Tensor) -> Variable {
        let backend = self.backend
        let table = value
        let result = backend.embedding(table: table, indices: indices)
        return Variable(result, backend: backend, inputs: [self], name: "embedding") { gradient in
            let tableGradient = backend.zeros(table.shape, dtype: table.dtype)
            backend.embeddingBackward(gradient: gradient, indices: indices, into: tableGradient)
            return [tableGradient]
        }
    }

    /// `x / sqrt(mean(x²) + ε) ⊙ weight` over the last axis.
    public func rmsNorm(weight: Variable, epsilon: Double) -> Variable {
        let backend = self.backend
        let (x, w) = (value, weight.value)
        let (output, inverseRMS) = backend.rmsNorm(x, weight: w, epsilon: epsilon)
        let weightSlot = weight.slot
        return Variable(output, backend: backend, inputs: [self, weight], name: "rmsNorm") { gradient in
            let gradients = backend.rmsNormBackward(gradient: gradient, input: x, weight: w, inverseRMS: inverseRMS)
            return [gradients.input, weightSlot.requiresGradient ? gradients.weight : nil]
        }
    }

    /// `(x − mean) / sqrt(var + ε) ⊙ weight + bias` over the last axis.
    public func layerNorm(weight: Variable, bias: Variable?, epsilon: Double) -> Variable {
        let backend = self.backend
        let (x, w) = (value, weight.value)
        let (output, mean, inverseStd) = backend.layerNorm(x, weight: w, bias: bias?.value, epsilon: epsilon)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        let (weightSlot, biasSlot) = (weight.slot, bias?.slot)
        return Variable(output, backend: backend, inputs: inputs, name: "layerNorm") { gradient in
            let gradients = backend.layerNormBackward(gradient: gradient, input: x, weight: w, mean: mean, inverseStd: inverseStd)
            var result: [Tensor?] = [gradients.input, weightSlot.requiresGradient ? gradients.weight : nil]
            if let biasSlot { result.append(biasSlot.requiresGradient ? gradients.bias : nil) }
            return result
        }
    }

    /// Rotary position embedding of this [batch, time, heads, headDim] tensor (see `TensorBackend.rope`).
    public func rope(theta: Double, firstPosition: Int = 0) -> Variable {
        rope(RotaryEmbedding(theta: theta), firstPosition: firstPosition)
    }

    public func rope(_ rotary: RotaryEmbedding, firstPosition: Int = 0) -> Variable {
        let backend = self.backend
        let result = backend.rope(value, rotary: rotary, firstPosition: firstPosition, inverse: false)
        return Variable(result, backend: backend, inputs: [self], name: "rope") { gradient in
            // A rotation's transpose is the rotation by the negative angle.
            [backend.rope(gradient, rotary: rotary, firstPosition: firstPosition, inverse: true)]
        }
    }

    public func activation(_ kind: Activation) -> Variable {
        let backend = self.backend
        let input = value
        return Variable(backend.activation(kind, input), backend: backend, inputs: [self], name: "\(kind)") { gradient in
            [backend.activationBackward(kind, gradient: gradient, input: input)]
        }
    }

    /// `kind(gate) ⊙ up` (SwiGLU with .silu, GeGLU with .gelu*).
    public static func gated(_ kind: Activation, gate: Variable, up: Variable) -> Variable {
        let backend = gate.backend
        let (a, b) = (gate.value, up.value)
        let (gateSlot, upSlot) = (gate.slot, up.slot)
        return Variable(backend.gated(kind, gate: a, up: b), backend: backend, inputs: [gate, up], name: "gated \(kind)") { gradient in
            let gradients = backend.gatedBackward(kind, gradient: gradient, gate: a, up: b)
            return [gateSlot.requiresGradient ? gradients.gate : nil, upSlot.requiresGradient ? gradients.up : nil]
        }
    }

    /// Zeroes each element with `probability` and scales the rest by 1/(1 − p); the mask is a pure
    /// function of `seed` and the element index. With probability 0 this is the identity (self).
    public func dropout(probability: Double, seed: UInt64) -> Variable {
        if probability == 0 { return self }
        let backend = self.backend
        let (output, mask) = backend.dropout(value, probability: probability, seed: seed)
        return Variable(output, backend: backend, inputs: [self], name: "dropout") { gradient in
            [backend.binary(.multiply, gradient, mask)]
        }
    }

    /// Softmax over the last axis.
    public func softmax() -> Variable {
        let backend = self.backend
        let output = backend.softmax(value)
        return Variable(output, backend: backend, inputs: [self], name: "softmax") { gradient in
            [backend.softmaxBackward(gradient: gradient, output: output)]
        }
    }

    /// Mean negative log-likelihood of `targets` (i32 [N]) under these logits [N, V], targets equal
    /// to `ignoreIndex` not counted: a scalar of shape [] (0 when no target counts).
    /// With `labelSmoothing` ε the target of each row is (1 − ε)·onehot + ε/V (PyTorch's `label_smoothing`).
    public func crossEntropy(targets: Tensor, ignoreIndex: Int32 = -1, labelSmoothing: Double = 0) -> Variable {
        let backend = self.backend
        let logits = value
        let (loss, logSumExp, counted) = backend.crossEntropy(
            logits: logits, targets: targets, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing)
        return Variable(loss, backend: backend, inputs: [self], name: "crossEntropy") { gradient in
            [
                backend.crossEntropyBackward(
                    lossGradient: gradient, logits: logits, targets: targets, logSumExp: logSumExp, ignoreIndex: ignoreIndex,
                    labelSmoothing: labelSmoothing, counted: counted)
            ]
        }
    }
}
