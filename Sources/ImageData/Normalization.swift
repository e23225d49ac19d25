/// Per-channel normalization of pixel/255: (pixel/255 − mean[c]) / std[c].
public struct Normalization: Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }

    /// The exact per-channel mean and population standard deviation of the set's pixel/255, from
    /// per-channel histograms (so the sums are exact integers whatever the set's size). A channel
    /// that never varies gets std 1, not 0, so that normalizing it cannot divide by zero.
    public static func measured(from set: ImageSet) -> Normalization {
        let plane = set.height * set.width
        var histograms = [[Int]](repeating: [Int](repeating: 0, count: 256), count: set.channels)
        set.pixels.withUnsafeBufferPointer { pixels in
            for channel in 0..<set.channels {
                histograms[channel].withUnsafeMutableBufferPointer { histogram in
                    for image in 0..<set.count {
                        let start = (image * set.channels + channel) * plane
                        for value in pixels[start..<start + plane] { histogram[Int(value)] += 1 }
                    }
                }
            }
        }
        var mean: [Float] = []
        var std: [Float] = []
        for histogram in histograms {
            var count = 0
            var sum = 0
            var squares = 0
            for (value, n) in histogram.enumerated() {
                count += n
                sum += n * value
                squares += n * value * value
            }
            guard count > 0 else {
                mean.append(0)
                std.append(1)
                continue
            }
            let m = Double(sum) / Double(count)
            let variance = max(0, Double(squares) / Double(count) - m * m)
            mean.append(Float(m / 255))
            std.append(variance > 0 ? Float(variance.squareRoot() / 255) : 1)
        }
        return Normalization(mean: mean, std: std)
    }

    /// For each channel, the normalized value of each of the 256 pixel values.
    func lookupTable(channels: Int) -> [Float] {
        var table = [Float](repeating: 0, count: channels * 256)
        for channel in 0..<channels {
            let m = mean[channels == mean.count ? channel : 0]
            let s = std[channels == std.count ? channel : 0]
            for value in 0..<256 { table[channel * 256 + value] = (Float(value) / 255 - m) / s }
        }
        return table
    }
}
