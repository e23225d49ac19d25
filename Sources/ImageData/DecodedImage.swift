import CStbImage

/// A picture file decoded by stb_image (PNG, JPEG, BMP, GIF's first frame, PNM, TGA, …), as 8-bit
/// gray or RGB: an alpha channel is dropped (stb's conversion), so 2-channel files come out as
/// gray and 4-channel ones as RGB.
public struct DecodedImage: Sendable {
    public let width: Int
    public let height: Int
    /// 1 (gray) or 3 (RGB).
    public let channels: Int
    /// H×W×C interleaved.
    public let pixels: [UInt8]

    public static let maximumFileBytes = 256 << 20
    /// 2^26 pixels (8192 × 8192): a header claiming more is refused before decoding allocates.
    public static let maximumPixels = 1 << 26

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && (channels == 1 || channels == 3) && pixels.count == width * height * channels)
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Errors name the file and stb's reason.
    public static func read(path: String) throws -> DecodedImage {
        let file = try FileBytes(path: path, allowGzip: false)
        guard file.fileSize > 0 else { throw ImageDataError("\(path): empty file, expected a picture (PNG, JPEG, BMP, GIF, …)") }
        guard file.fileSize <= maximumFileBytes else {
            throw ImageDataError("\(path): \(file.fileSize) bytes is over the \(maximumFileBytes)-byte limit for a picture")
        }
        var bytes = [UInt8](repeating: 0, count: file.fileSize)
        try bytes.withUnsafeMutableBytes { try file.readExactly(into: $0, what: "the picture") }
        return try bytes.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress!
            let length = Int32(bytes.count)
            var (width, height, channelsInFile): (Int32, Int32, Int32) = (0, 0, 0)
            var failure: UnsafePointer<CChar>? = nil
            if atl_image_info(base, length, &width, &height, &channelsInFile) == 1 {
                guard width > 0, height > 0, Int(width) * Int(height) <= maximumPixels else {
                    throw ImageDataError(
                        "\(path): the header says \(width)×\(height) pixels; at most \(maximumPixels) pixels (8192×8192) are accepted")
                }
            } else {
                // stb reads the header again in decode and says why it cannot; nothing large is allocated then.
                width = 0
            }
            let wanted: Int32 = channelsInFile == 1 || channelsInFile == 2 ? 1 : 3
            guard let decoded = atl_image_decode(base, length, &width, &height, &channelsInFile, wanted, &failure) else {
                let reason = failure.map { String(cString: $0) } ?? "unknown reason"
                throw ImageDataError("\(path): cannot decode as a picture (PNG, JPEG, BMP, GIF, …): \(reason)")
            }
            defer { atl_image_free(decoded) }
            guard Int(width) * Int(height) <= maximumPixels else {
                throw ImageDataError("\(path): \(width)×\(height) pixels; at most \(maximumPixels) pixels (8192×8192) are accepted")
            }
            let count = Int(width) * Int(height) * Int(wanted)
            let pixels = [UInt8](UnsafeBufferPointer(start: decoded, count: count))
            return DecodedImage(width: Int(width), height: Int(height), channels: Int(wanted), pixels: pixels)
        }
    }
}
