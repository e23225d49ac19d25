/// How a 2-D window slides over an image (convolution kernels and pooling windows alike), with
/// PyTorch's meaning for every field, so a model described in PyTorch's terms has the same shapes here.
public struct Window2D: Sendable, Equatable, Codable {
    public var kernel: (height: Int, width: Int)
    public var stride: (height: Int, width: Int)
    public var padding: (height: Int, width: Int)
    public var dilation: (height: Int, width: Int)

    public init(kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
        self.init(
            kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation))
    }

    public init(
        kernel: (height: Int, width: Int), stride: (height: Int, width: Int), padding: (height: Int, width: Int),
        dilation: (height: Int, width: Int)
    ) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    /// ⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1 for each axis; nil when the
    /// window does not fit even once.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int)? {
        let spanH = dilation.height * (kernel.height - 1) + 1, spanW = dilation.width * (kernel.width - 1) + 1
        let paddedH = height + 2 * padding.height, paddedW = width + 2 * padding.width
        guard paddedH >= spanH, paddedW >= spanW else { return nil }
        return ((paddedH - spanH) / stride.height + 1, (paddedW - spanW) / stride.width + 1)
    }

    /// Whether every field is in range (kernel, stride, dilation ≥ 1; padding ≥ 0).
    public var isValid: Bool {
        kernel.height >= 1 && kernel.width >= 1 && stride.height >= 1 && stride.width >= 1 && dilation.height >= 1
            && dilation.width >= 1 && padding.height >= 0 && padding.width >= 0
    }

    public static func == (a: Window2D, b: Window2D) -> Bool {
        a.kernel == b.kernel && a.stride == b.stride && a.padding == b.padding && a.dilation == b.dilation
    }

    enum CodingKeys: String, CodingKey { case kernel, stride, padding, dilation }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func pair(_ key: CodingKeys) throws -> (Int, Int) {
            let values = try container.decode([Int].self, forKey: key)
            guard values.count == 2 else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "expected [height, width]")
            }
            return (values[0], values[1])
        }
        self.init(kernel: try pair(.kernel), stride: try pair(.stride), padding: try pair(.padding), dilation: try pair(.dilation))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode([kernel.height, kernel.width], forKey: .kernel)
        try container.encode([stride.height, stride.width], forKey: .stride)
        try container.encode([padding.height, padding.width], forKey: .padding)
        try container.encode([dilation.height, dilation.width], forKey: .dilation)
    }
}

public enum Pooling: String, Sendable, Codable {
    /// The largest element of each window (padding never wins).
    case max
    /// The mean of each window, padding counted as zeros (PyTorch's count_include_pad=True).
    case average
}
