/// The sizes of one 2-D convolution, checked once: what the kernels index by.
struct ConvolutionShape {
    let batch: Int, channels: Int, height: Int, width: Int
    let outputs: Int, groups: Int
    let outputHeight: Int, outputWidth: Int
    let window: Window2D

    init(input: [Int], weight: [Int], window: Window2D, groups: Int) {
        precondition(input.count == 4, "conv2d input must be [batch, channels, height, width], not \(input)")
        precondition(weight.count == 4, "conv2d weight must be [outputs, channels/groups, kh, kw], not \(weight)")
        precondition(window.isValid, "conv2d window \(window) has a size, stride or dilation below 1 or a negative padding")
        precondition(
            groups >= 1 && input[1] % groups == 0 && weight[0] % groups == 0,
            "conv2d groups \(groups) must divide \(input[1]) and \(weight[0])")
        precondition(
            weight[1] == input[1] / groups && weight[2] == window.kernel.height && weight[3] == window.kernel.width,
            "conv2d weight \(weight) does not match \(input[1]) input channels in \(groups) groups and kernel \(window.kernel)")
        guard let output = window.outputSize(height: input[2], width: input[3]) else {
            preconditionFailure("conv2d kernel \(window.kernel) (dilation \(window.dilation)) is larger than the padded input \(input)")
        }
        (batch, channels, height, width) = (input[0], input[1], input[2], input[3])
        (outputs, self.groups) = (weight[0], groups)
        (outputHeight, outputWidth) = output
        self.window = window
    }

    var groupChannels: Int { channels / groups }
    var groupOutputs: Int { outputs / groups }
    /// Rows of one group's column matrix: one per (channel, kernel row, kernel column).
    var patch: Int { groupChannels * window.kernel.height * window.kernel.width }
    var inputPlane: Int { height * width }
    var outputPlane: Int { outputHeight * outputWidth }
    var outputShape: [Int] { [batch, outputs, outputHeight, outputWidth] }
    /// A 1×1 kernel with stride 1 and no padding reads the image itself as its column matrix.
    var isPointwise: Bool {
        window.kernel == (1, 1) && window.stride == (1, 1) && window.padding == (0, 0)
    }

    /// The output columns `ow` whose input column `ow·stride + offset` lies inside the image.
    @inline(__always) func validColumns(offset: Int) -> Range<Int> {
        let step = window.stride.width
        let low = offset >= 0 ? 0 : (-offset + step - 1) / step
        let high = offset > width - 1 ? 0 : min(outputWidth, (width - 1 - offset) / step + 1)
        return low..<max(low, high)
    }
}
