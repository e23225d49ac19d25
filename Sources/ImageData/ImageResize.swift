/// One axis of a separable resampling: for each output position, the first source index and
/// the weights of the consecutive source pixels it takes.
struct ResampleAxis {
    let starts: [Int]
    let counts: [Int]
    /// `stride` weights per output position (unused ones are 0).
    let weights: [Float]
    let stride: Int

    /// Shrinking: area averaging, output i covers source [i·s, (i+1)·s) with s = source/target and
    /// each source pixel weighs its overlap (OpenCV's INTER_AREA; PIL's BOX and torch's "area"
    /// give the same for whole ratios but weigh partly covered pixels fully).
    /// Enlarging: bilinear with pixel centers at i + 0.5 (align_corners=False, as PIL and PyTorch):
    /// output i samples source x = (i + 0.5)·s − 0.5, clamped to the first and last pixel.
    init(source: Int, target: Int) {
        var starts: [Int] = []
        var counts: [Int] = []
        var weights: [Float] = []
        let scale = Double(source) / Double(target)
        if target < source {
            stride = Int(scale.rounded(.up)) + 1
            for i in 0..<target {
                let low = Double(i) * scale
                let high = Double(i + 1) * scale
                let first = Int(low.rounded(.down))
                let last = min(source - 1, Int(high.rounded(.up)) - 1)
                var row = [Float](repeating: 0, count: stride)
                for j in first...last {
                    let overlap = min(high, Double(j + 1)) - max(low, Double(j))
                    row[j - first] = Float(max(0, overlap) / scale)
                }
                starts.append(first)
                counts.append(last - first + 1)
                weights += row
            }
        } else {
            stride = 2
            for i in 0..<target {
                let x = min(Double(source - 1), max(0, (Double(i) + 0.5) * scale - 0.5))
                let first = min(Int(x.rounded(.down)), source - 1)
                let fraction = x - Double(first)
                starts.append(first)
                counts.append(first + 1 < source ? 2 : 1)
                weights += [Float(1 - fraction), Float(fraction)]
            }
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
    }
}

extension DecodedImage {
    /// Luma weights of ITU-R BT.601 (as PIL's convert("L")).
    static let luma: (r: Float, g: Float, b: Float) = (0.299, 0.587, 0.114)

    /// To a model's input: `channels` 1 (BT.601 luma) or 3 (gray replicated), resized to
    /// width×height (area averaging when shrinking, bilinear when enlarging, each axis on its own),
    /// as C×H×W bytes so the training set's Normalization applies unchanged. The aspect ratio is
    /// not kept: the picture is stretched to the model's input, as its training images were.
    public func resized(width targetWidth: Int, height targetHeight: Int, channels targetChannels: Int) -> [UInt8] {
        precondition(targetWidth > 0 && targetHeight > 0, "resized: target size must be positive")
        precondition(targetChannels == 1 || targetChannels == 3, "resized: 1 or 3 channels, got \(targetChannels)")
        let planes = self.planes(targetChannels)
        let horizontal = ResampleAxis(source: width, target: targetWidth)
        let vertical = ResampleAxis(source: height, target: targetHeight)
        var output = [UInt8](repeating: 0, count: targetChannels * targetWidth * targetHeight)
        var rows = [Float](repeating: 0, count: height * targetWidth)
        for channel in 0..<targetChannels {
            planes.withUnsafeBufferPointer { planes in
                let plane = planes.baseAddress! + channel * width * height
                rows.withUnsafeMutableBufferPointer { rows in
                    for y in 0..<height {
                        resample(plane + y * width, step: 1, axis: horizontal, into: rows.baseAddress! + y * targetWidth, outStep: 1)
                    }
                }
            }
            var column = [Float](repeating: 0, count: targetHeight)
            rows.withUnsafeBufferPointer { rows in
                column.withUnsafeMutableBufferPointer { column in
                    output.withUnsafeMutableBufferPointer { output in
                        for x in 0..<targetWidth {
                            resample(rows.baseAddress! + x, step: targetWidth, axis: vertical, into: column.baseAddress!, outStep: 1)
                            let out = output.baseAddress! + channel * targetWidth * targetHeight + x
                            for y in 0..<targetHeight {
                                out[y * targetWidth] = UInt8(min(255, max(0, column[y] + 0.5)))
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Channel-planar floats in the wanted channel count, at the picture's own size.
    private func planes(_ targetChannels: Int) -> [Float] {
        let area = width * height
        var planes = [Float](repeating: 0, count: targetChannels * area)
        pixels.withUnsafeBufferPointer { pixels in
            planes.withUnsafeMutableBufferPointer { planes in
                for i in 0..<area {
                    if channels == 1 {
                        for c in 0..<targetChannels { planes[c * area + i] = Float(pixels[i]) }
                    } else if targetChannels == 3 {
                        for c in 0..<3 { planes[c * area + i] = Float(pixels[3 * i + c]) }
                    } else {
                        planes[i] =
                            Self.luma.r * Float(pixels[3 * i]) + Self.luma.g * Float(pixels[3 * i + 1]) + Self.luma.b
                            * Float(pixels[3 * i + 2])
                    }
                }
            }
        }
        return planes
    }

    private func resample(
        _ source: UnsafePointer<Float>, step: Int, axis: ResampleAxis, into target: UnsafeMutablePointer<Float>, outStep: Int
    ) {
        axis.weights.withUnsafeBufferPointer { weights in
            for i in 0..<axis.starts.count {
                var sum: Float = 0
                let start = axis.starts[i]
                for k in 0..<axis.counts[i] { sum += weights[i * axis.stride + k] * source[(start + k) * step] }
                target[i * outStep] = sum
            }
        }
    }
}
