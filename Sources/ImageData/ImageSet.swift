/// Images as 8-bit pixels, channel-planar per image (C×H×W, like PyTorch's NCHW), with labels.
public struct ImageSet: Sendable {
    public let channels: Int
    public let height: Int
    public let width: Int
    /// count × channels × height × width
    public let pixels: [UInt8]
    /// count, each in 0..<classNames.count
    public let labels: [Int32]
    public let classNames: [String]

    public var count: Int { labels.count }
    public var pixelsPerImage: Int { channels * height * width }

    public init(channels: Int, height: Int, width: Int, pixels: [UInt8], labels: [Int32], classNames: [String]) throws {
        guard channels > 0, height > 0, width > 0 else {
            throw ImageDataError("image set: channels, height and width must be positive, got \(channels)×\(height)×\(width)")
        }
        guard !classNames.isEmpty else { throw ImageDataError("image set: at least one class name is needed") }
        let (perImage, overflow1) = channels.multipliedReportingOverflow(by: height * width)
        let (expected, overflow2) = perImage.multipliedReportingOverflow(by: labels.count)
        guard !overflow1, !overflow2, expected == pixels.count else {
            throw ImageDataError(
                "image set: \(labels.count) labels of \(channels)×\(height)×\(width) images need \(labels.count)×\(perImage) pixels, got \(pixels.count)"
            )
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classNames.count }) {
            throw ImageDataError("image set: label \(labels[bad]) of image \(bad) is outside 0..<\(classNames.count) (the class count)")
        }
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
        self.labels = labels
        self.classNames = classNames
    }
}
