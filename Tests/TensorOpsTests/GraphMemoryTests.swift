import Autograd
import TensorOps
import Tensors
import Testing

/// The graph keeps what backward rules read and nothing else: an intermediate no rule captured is
/// freed once the forward code drops it, while its gradient still flows.
@Suite struct GraphMemoryTests {
    @Test func anIntermediateNoRuleReadsIsFreedAndGradientsStillFlow() {
        let backend = CPUTensorBackend(threads: 1)
        let x = Variable(backend.tensor([1, 2, 3, 4] as [Double], shape: [4]), backend: backend, requiresGradient: true)
        weak var sumBuffer: DeviceBuffer?
        weak var productBuffer: DeviceBuffer?
        let loss: Variable
        do {
            // x·3 + x: the sum's rule reads neither summand, the product's rule reads both factors.
            let tripled = x.scaled(by: 3)
            let sum = tripled + x
            sumBuffer = tripled.value.buffer
            let product = sum * sum
            productBuffer = sum.value.buffer
            loss = product.sum()
        }
        #expect(sumBuffer == nil, "the scaled intermediate outlived the forward pass")
        #expect(productBuffer != nil, "the product's factors must stay for its backward rule")
        loss.backward()
        // d/dx Σ (4x)² = 32x
        #expect(backend.doubles(x.gradient!) == [32, 64, 96, 128])
    }
}
