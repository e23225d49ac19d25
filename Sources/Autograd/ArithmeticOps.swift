import TensorOps
import Tensors

/// Element-wise arithmetic with broadcasting, and the unary maths functions.
extension Variable {
    public static func + (a: Variable, b: Variable) -> Variable { a.binary(.add, b) }
    public static func - (a: Variable, b: Variable) -> Variable { a.binary(.subtract, b) }
    public static func * (a: Variable, b: Variable) -> Variable { a.binary(.multiply, b) }
    public static func / (a: Variable, b: Variable) -> Variable { a.binary(.divide, b) }

    func binary(_ operation: BinaryOperation, _ other: Variable) -> Variable {
        let backend = self.backend
        let (a, b) = (value, other.value)
        let result = backend.binary(operation, a, b)
        let (shapeA, shapeB) = (a.shape, b.shape)
        // Each rule captures only the operands it reads: a sum or difference keeps neither (a
        // residual connection or a LoRA branch frees its summands once the forward moves on).
        let rule: (Tensor) -> (Tensor, Tensor)
        switch operation {
        case .add: rule = { ($0, $0) }
        case .subtract: rule = { ($0, backend.scale($0, by: -1)) }
        case .multiply: rule = { (backend.binary(.multiply, $0, b), backend.binary(.multiply, $0, a)) }
        case .divide:
            // d(a/b)/db = -a/b² = -(a/b)/b
            rule = {
                (backend.binary(.divide, $0, b), backend.scale(backend.binary(.divide, backend.binary(.multiply, $0, result), b), by: -1))
            }
        }
        return Variable(result, backend: backend, inputs: [self, other], name: "\(operation)") { gradient in
            let (ga, gb) = rule(gradient)
            return [backend.reduce(ga, toShape: shapeA), backend.reduce(gb, toShape: shapeB)]
        }
    }

    public func scaled(by factor: Double) -> Variable {
        let backend = self.backend
        return Variable(backend.scale(value, by: factor), backend: backend, inputs: [self], name: "scale") { gradient in
            [backend.scale(gradient, by: factor)]
        }
    }

    public static prefix func - (x: Variable) -> Variable { x.unary(.negate) }
    public func exp() -> Variable { unary(.exp) }
    public func log() -> Variable { unary(.log) }
    public func squareRoot() -> Variable { unary(.sqrt) }
    public func squared() -> Variable { unary(.square) }
    public func tanh() -> Variable { unary(.tanh) }
    public func reciprocal() -> Variable { unary(.reciprocal) }

    func unary(_ operation: UnaryOperation) -> Variable {
        let backend = self.backend
        let input = value
        let result = backend.unary(operation, input)
        return Variable(result, backend: backend, inputs: [self], name: "\(operation)") { gradient in
            [backend.unaryBackward(operation, gradient: gradient, input: input, output: result)]
        }
    }
}

extension TensorBackend {
    /// Sums a broadcast result's gradient back to an operand's shape (the backward of broadcasting).
    public func reduce(_ gradient: Tensor, toShape shape: [Int]) -> Tensor {
        if gradient.shape == shape { return gradient }
        let lead = gradient.rank - shape.count
        var axes = Array(0..<lead)
        for axis in shape.indices where shape[axis] == 1 && gradient.shape[lead + axis] != 1 { axes.append(lead + axis) }
        let summed = axes.isEmpty ? gradient : sum(gradient, axes: axes)
        return summed.reshaped(shape)
    }

    /// Host copies of a tensor's elements as f64 (for tests, logging and checkpoints of small values).
    public func doubles(_ tensor: Tensor) -> [Double] {
        let converted = zeros(tensor.shape, dtype: .f64)
        copy(tensor, into: converted)
        return [Double](unsafeUninitializedCapacity: tensor.count) { buffer, count in
            download(converted, into: UnsafeMutableRawBufferPointer(buffer))
            count = tensor.count
        }
    }

    public func floats(_ tensor: Tensor) -> [Float] {
        let converted =
            tensor.dtype == .f32
            ? tensor
            : {
                let t = zeros(tensor.shape, dtype: .f32); copy(tensor, into: t); return t
            }()
        return [Float](unsafeUninitializedCapacity: tensor.count) { buffer, count in
            download(converted, into: UnsafeMutableRawBufferPointer(buffer))
            count = tensor.count
        }
    }

    public func tensor(_ values: [Float], shape: [Int]) -> Tensor {
        values.withUnsafeBytes { upload($0, shape: shape, dtype: .f32) }
    }

    public func tensor(_ values: [Double], shape: [Int]) -> Tensor {
        values.withUnsafeBytes { upload($0, shape: shape, dtype: .f64) }
    }

    public func tensor(_ values: [Int32], shape: [Int]) -> Tensor {
        values.withUnsafeBytes { upload($0, shape: shape, dtype: .i32) }
    }
}
