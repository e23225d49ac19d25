import Tensors

/// Activation functions and gated units (SwiGLU, GeGLU) with their derivatives, on the CPU.
extension CPUTensorBackend {
    public func activation(_ kind: Activation, _ x: Tensor) -> Tensor {
        dispatch(x.dtype, "\(kind)", f32: { activationKernel(Float.self, kind, x) }, f64: { activationKernel(Double.self, kind, x) })
    }

    func activationKernel<T: TensorScalar>(_: T.Type, _ kind: Activation, _ x: Tensor) -> Tensor {
        let input = contiguous(x)
        let result = empty(x.shape, dtype: x.dtype)
        let (p, o) = (input.address.assumingMemoryBound(to: T.self), result.address.assumingMemoryBound(to: T.self))
        parallel(x.count, elements: x.count) { range in
            switch kind {
            case .relu: for i in range { o[i] = ActivationMath.relu(p[i]) }
            case .silu where T.self == Float.self: VectorRows.silu(VectorRows.floats(p), VectorRows.floats(o), range)
            case .silu: for i in range { o[i] = ActivationMath.silu(p[i]) }
            case .gelu: for i in range { o[i] = ActivationMath.gelu(p[i]) }
            case .geluTanh: for i in range { o[i] = ActivationMath.geluTanh(p[i]) }
            }
        }
        return result
    }

    public func activationBackward(_ kind: Activation, gradient: Tensor, input: Tensor) -> Tensor {
        precondition(gradient.shape == input.shape, "\(kind) gradient \(gradient.shape) for input \(input.shape)")
        return dispatch(
            input.dtype, "\(kind) backward", f32: { activationBackwardKernel(Float.self, kind, gradient, input) },
            f64: { activationBackwardKernel(Double.self, kind, gradient, input) })
    }

    func activationBackwardKernel<T: TensorScalar>(_: T.Type, _ kind: Activation, _ gradient: Tensor, _ input: Tensor) -> Tensor {
        let (g, x) = (contiguous(gradient), contiguous(input))
        let result = empty(input.shape, dtype: input.dtype)
        let (pg, px) = (g.address.assumingMemoryBound(to: T.self), x.address.assumingMemoryBound(to: T.self))
        let o = result.address.assumingMemoryBound(to: T.self)
        parallel(input.count, elements: input.count) { range in
            switch kind {
            case .relu: for i in range { o[i] = pg[i] * ActivationMath.reluDerivative(px[i]) }
            case .silu where T.self == Float.self:
                VectorRows.siluBackward(VectorRows.floats(pg), VectorRows.floats(px), VectorRows.floats(o), range)
            case .silu: for i in range { o[i] = pg[i] * ActivationMath.siluDerivative(px[i]) }
            case .gelu: for i in range { o[i] = pg[i] * ActivationMath.geluDerivative(px[i]) }
            case .geluTanh: for i in range { o[i] = pg[i] * ActivationMath.geluTanhDerivative(px[i]) }
            }
        }
        return result
    }

    public func gated(_ kind: Activation, gate: Tensor, up: Tensor) -> Tensor {
        precondition(gate.shape == up.shape && gate.dtype == up.dtype, "gated \(kind): gate \(gate.shape) and up \(up.shape) differ")
        return dispatch(
            gate.dtype, "gated \(kind)", f32: { gatedKernel(Float.self, kind, gate, up) }, f64: { gatedKernel(Double.self, kind, gate, up) }
        )
    }

    func gatedKernel<T: TensorScalar>(_: T.Type, _ kind: Activation, _ gate: Tensor, _ up: Tensor) -> Tensor {
        let (a, b) = (contiguous(gate), contiguous(up))
        let result = empty(gate.shape, dtype: gate.dtype)
        let (pa, pb) = (a.address.assumingMemoryBound(to: T.self), b.address.assumingMemoryBound(to: T.self))
        let o = result.address.assumingMemoryBound(to: T.self)
        parallel(gate.count, elements: gate.count) { range in
            switch kind {
            case .relu: for i in range { o[i] = ActivationMath.relu(pa[i]) * pb[i] }
            case .silu where T.self == Float.self:
                VectorRows.swiGLU(VectorRows.floats(pa), VectorRows.floats(pb), VectorRows.floats(o), range)
            case .silu: for i in range { o[i] = ActivationMath.silu(pa[i]) * pb[i] }
            case .gelu: for i in range { o[i] = ActivationMath.gelu(pa[i]) * pb[i] }
            case .geluTanh: for i in range { o[i] = ActivationMath.geluTanh(pa[i]) * pb[i] }
            }
        }
        return result
    }

    public func gatedBackward(_ kind: Activation, gradient: Tensor, gate: Tensor, up: Tensor) -> (gate: Tensor, up: Tensor) {
        precondition(
            gate.shape == up.shape && gradient.shape == gate.shape && gate.dtype == up.dtype,
            "gated \(kind) backward: gradient \(gradient.shape), gate \(gate.shape), up \(up.shape)")
        return dispatch(
            gate.dtype, "gated \(kind) backward", f32: { gatedBackwardKernel(Float.self, kind, gradient, gate, up) },
            f64: { gatedBackwardKernel(Double.self, kind, gradient, gate, up) })
    }

    /// d/dgate = g·up·f′(gate), d/dup = g·f(gate), both from one pass.
    func gatedBackwardKernel<T: TensorScalar>(_: T.Type, _ kind: Activation, _ gradient: Tensor, _ gate: Tensor, _ up: Tensor) -> (
        Tensor, Tensor
    ) {
        let (g, a, b) = (contiguous(gradient), contiguous(gate), contiguous(up))
        let (gateGradient, upGradient) = (empty(gate.shape, dtype: gate.dtype), empty(gate.shape, dtype: gate.dtype))
        let (pg, pa, pb) = (
            g.address.assumingMemoryBound(to: T.self), a.address.assumingMemoryBound(to: T.self), b.address.assumingMemoryBound(to: T.self)
        )
        let (da, db) = (gateGradient.address.assumingMemoryBound(to: T.self), upGradient.address.assumingMemoryBound(to: T.self))
        parallel(gate.count, elements: gate.count) { range in
            switch kind {
            case .relu:
                for i in range {
                    da[i] = pg[i] * pb[i] * ActivationMath.reluDerivative(pa[i])
                    db[i] = pg[i] * ActivationMath.relu(pa[i])
                }
            case .silu where T.self == Float.self:
                VectorRows.swiGLUBackward(
                    VectorRows.floats(pg), VectorRows.floats(pa), VectorRows.floats(pb), VectorRows.floats(da), VectorRows.floats(db), range
                )
            case .silu:
                for i in range {
                    let sigmoid = ActivationMath.sigmoid(pa[i])
                    da[i] = pg[i] * pb[i] * sigmoid * (1 + pa[i] * (1 - sigmoid))
                    db[i] = pg[i] * pa[i] * sigmoid
                }
            case .gelu:
                for i in range {
                    da[i] = pg[i] * pb[i] * ActivationMath.geluDerivative(pa[i])
                    db[i] = pg[i] * ActivationMath.gelu(pa[i])
                }
            case .geluTanh:
                for i in range {
                    da[i] = pg[i] * pb[i] * ActivationMath.geluTanhDerivative(pa[i])
                    db[i] = pg[i] * ActivationMath.geluTanh(pa[i])
                }
            }
        }
        return (gateGradient, upGradient)
    }
}

/// The activation functions and their derivatives, one element at a time.
enum ActivationMath {
    /// √(2/π), the tanh approximation's scale.
    static let tanhScale = 0.797_884_560_802_865_4
    static let tanhCubic = 0.044_715
    /// 1/√2 and 1/√(2π), for Φ and φ.
    static let inverseRoot2 = 0.707_106_781_186_547_5
    static let inverseRoot2Pi = 0.398_942_280_401_432_7

    @inline(__always) static func relu<T: TensorScalar>(_ x: T) -> T { x > 0 ? x : 0 }
    @inline(__always) static func reluDerivative<T: TensorScalar>(_ x: T) -> T { x > 0 ? 1 : 0 }

    @inline(__always) static func sigmoid<T: TensorScalar>(_ x: T) -> T { 1 / (1 + T.exponential(-x)) }
    @inline(__always) static func silu<T: TensorScalar>(_ x: T) -> T { x * sigmoid(x) }
    /// d(x·σ(x))/dx = σ(x)·(1 + x·(1 − σ(x))).
    @inline(__always) static func siluDerivative<T: TensorScalar>(_ x: T) -> T {
        let s = sigmoid(x)
        return s * (1 + x * (1 - s))
    }

    /// x·Φ(x), Φ(x) = (1 + erf(x/√2))/2.
    @inline(__always) static func gelu<T: TensorScalar>(_ x: T) -> T { x * 0.5 * (1 + T.errorFunction(x * T(inverseRoot2))) }
    /// Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
    @inline(__always) static func geluDerivative<T: TensorScalar>(_ x: T) -> T {
        0.5 * (1 + T.errorFunction(x * T(inverseRoot2))) + x * T(inverseRoot2Pi) * T.exponential(-0.5 * x * x)
    }

    /// x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))/2.
    @inline(__always) static func geluTanh<T: TensorScalar>(_ x: T) -> T {
        x * 0.5 * (1 + T.hyperbolicTangent(T(tanhScale) * (x + T(tanhCubic) * x * x * x)))
    }
    @inline(__always) static func geluTanhDerivative<T: TensorScalar>(_ x: T) -> T {
        let t = T.hyperbolicTangent(T(tanhScale) * (x + T(tanhCubic) * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * T(tanhScale) * (1 + 3 * T(tanhCubic) * x * x)
    }
}
