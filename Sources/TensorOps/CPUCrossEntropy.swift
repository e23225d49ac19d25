import Tensors

/// Cross-entropy with the log-softmax fused in, on the CPU.
extension CPUTensorBackend {
    public func crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex: Int32, labelSmoothing: Double)
        -> (loss: Tensor, logSumExp: Tensor, counted: Int)
    {
        checkCrossEntropyOperands(logits, targets, labelSmoothing)
        return dispatch(
            logits.dtype, "crossEntropy", f32: { crossEntropyKernel(Float.self, logits, targets, ignoreIndex, labelSmoothing) },
            f64: { crossEntropyKernel(Double.self, logits, targets, ignoreIndex, labelSmoothing) })
    }

    private func checkCrossEntropyOperands(_ logits: Tensor, _ targets: Tensor, _ labelSmoothing: Double) {
        precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "crossEntropy label smoothing \(labelSmoothing) outside 0...1")
        precondition(logits.rank == 2, "crossEntropy logits must be [rows, vocabulary], not \(logits.shape)")
        precondition(
            targets.dtype == .i32 && targets.count == logits.shape[0],
            "crossEntropy targets \(targets.shape) \(targets.dtype) for logits \(logits.shape) (expected i32 [\(logits.shape[0])])")
    }

    /// Per row: log Σ exp(x − max) + max − x[target] (smoothed: see the protocol). The rows' losses
    /// add up in f64, in row order.
    func crossEntropyKernel<T: TensorScalar>(
        _: T.Type, _ logits: Tensor, _ targets: Tensor, _ ignoreIndex: Int32, _ labelSmoothing: Double
    ) -> (Tensor, Tensor, Int) {
        let (x, t) = (contiguous(logits), contiguous(targets))
        let (rows, width) = (logits.shape[0], logits.shape[1])
        let logSumExp = empty([rows], dtype: logits.dtype)
        let (px, pt, pl) = (
            x.address.assumingMemoryBound(to: T.self), t.address.assumingMemoryBound(to: Int32.self),
            logSumExp.address.assumingMemoryBound(to: T.self)
        )
        let counted = countTargets(pt, rows: rows, width: width, ignoreIndex: ignoreIndex)
        parallel(rows, elements: logits.count) { range in
            for row in range {
                let u = px + row * width
                let largest = RowReduction.maximum(u, count: width)
                pl[row] = T.logarithm(Self.sumOfExponentials(u, count: width, shift: largest)) + largest
            }
        }
        var sum = 0.0
        for row in 0..<rows where pt[row] != ignoreIndex {
            let lse = Double(pl[row])
            var rowLoss = lse - Double(px[row * width + Int(pt[row])])
            if labelSmoothing > 0 {
                var total = 0.0
                for i in 0..<width { total += Double(px[row * width + i]) }
                rowLoss = (1 - labelSmoothing) * rowLoss + labelSmoothing * (lse - total / Double(width))
            }
            sum += rowLoss
        }
        let loss = empty([], dtype: logits.dtype)
        loss.address.assumingMemoryBound(to: T.self)[0] = counted == 0 ? 0 : T(sum / Double(counted))
        return (loss, logSumExp, counted)
    }

    /// Σ exp(u[i] − shift) over a row whose elements are all ≤ shift (f32 eight lanes at a time).
    static func sumOfExponentials<T: TensorScalar>(_ u: UnsafePointer<T>, count: Int, shift: T) -> T {
        if T.self == Float.self {
            return T(
                VectorRows.sumOfExponentials(UnsafeRawPointer(u).assumingMemoryBound(to: Float.self), count: count, shift: Float(shift)))
        }
        var total = T(0)
        for i in 0..<count { total += T.exponential(u[i] - shift) }
        return total
    }

    /// How many targets count; traps on one outside the vocabulary.
    func countTargets(_ pt: UnsafePointer<Int32>, rows: Int, width: Int, ignoreIndex: Int32) -> Int {
        var counted = 0
        for row in 0..<rows where pt[row] != ignoreIndex {
            precondition(pt[row] >= 0 && Int(pt[row]) < width, "crossEntropy target \(pt[row]) outside 0..<\(width)")
            counted += 1
        }
        return counted
    }

    public func crossEntropyBackward(
        lossGradient: Tensor, logits: Tensor, targets: Tensor, logSumExp: Tensor, ignoreIndex: Int32, labelSmoothing: Double, counted: Int
    ) -> Tensor {
        checkCrossEntropyOperands(logits, targets, labelSmoothing)
        precondition(lossGradient.count == 1, "crossEntropy loss gradient must be a scalar, not \(lossGradient.shape)")
        return dispatch(
            logits.dtype, "crossEntropyBackward",
            f32: { crossEntropyBackwardKernel(Float.self, lossGradient, logits, targets, logSumExp, ignoreIndex, labelSmoothing, counted) },
            f64: { crossEntropyBackwardKernel(Double.self, lossGradient, logits, targets, logSumExp, ignoreIndex, labelSmoothing, counted) }
        )
    }

    func crossEntropyBackwardKernel<T: TensorScalar>(
        _: T.Type, _ lossGradient: Tensor, _ logits: Tensor, _ targets: Tensor, _ logSumExp: Tensor, _ ignoreIndex: Int32,
        _ labelSmoothing: Double, _ counted: Int
    ) -> Tensor {
        let (x, t, lse) = (contiguous(logits), contiguous(targets), contiguous(logSumExp))
        let (rows, width) = (logits.shape[0], logits.shape[1])
        let result = empty(logits.shape, dtype: logits.dtype)
        let (px, pt, pl) = (
            x.address.assumingMemoryBound(to: T.self), t.address.assumingMemoryBound(to: Int32.self),
            lse.address.assumingMemoryBound(to: T.self)
        )
        let po = result.address.assumingMemoryBound(to: T.self)
        let scale = counted == 0 ? T(0) : T(ElementReader(lossGradient)(lossGradient.offset) / Double(counted))
        parallel(rows, elements: logits.count) { range in
            for row in range {
                let (u, o) = (px + row * width, po + row * width)
                let target = pt[row]
                if target == ignoreIndex || counted == 0 {
                    o.update(repeating: 0, count: width)
                    continue
                }
                precondition(target >= 0 && Int(target) < width, "crossEntropy target \(target) outside 0..<\(width)")
                let shift = pl[row]
                if T.self == Float.self {
                    VectorRows.scaledExponentials(
                        VectorRows.floats(u), VectorRows.floats(o), count: width, shift: Float(shift), factor: Float(scale))
                } else {
                    for i in 0..<width { o[i] = T.exponential(u[i] - shift) * scale }
                }
                if labelSmoothing > 0 {
                    let spread = scale * T(labelSmoothing / Double(width))
                    for i in 0..<width { o[i] -= spread }
                    o[Int(target)] -= scale * T(1 - labelSmoothing)
                } else {
                    o[Int(target)] -= scale
                }
            }
        }
        return result
    }
}
