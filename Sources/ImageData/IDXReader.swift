/// MNIST-style IDX files (LeCun et al.): a big-endian header (magic 0x0000_08_0D where 08 is
/// unsigned bytes and D the number of dimensions, then D 32-bit sizes) and the bytes themselves.
public enum IDXReader {
    static let imagesMagic: UInt32 = 0x0000_0803
    static let labelsMagic: UInt32 = 0x0000_0801
    /// Past this no image set fits in memory anyway; refusing it keeps the products below from overflowing.
    static let maximumBytes = 1 << 34

    /// images: idx3-ubyte (magic 0x00000803), labels: idx1-ubyte (0x00000801), each gzip or not.
    public static func read(images: String, labels: String, classNames: [String]) throws -> ImageSet {
        let labelValues = try readLabels(path: labels, classNames: classNames)
        let imageFile = try FileBytes(path: images)
        let header = try readHeader(imageFile, magic: imagesMagic, dimensions: 3, kind: "idx3-ubyte images")
        let (count, height, width) = (header[0], header[1], header[2])
        guard count == labelValues.count else {
            throw ImageDataError("\(images): holds \(count) images but \(labels) holds \(labelValues.count) labels; they must match")
        }
        guard height > 0, width > 0 else { throw ImageDataError("\(images): image size \(height)×\(width) must be positive") }
        let pixelCount = try checkedProduct([count, height, width], file: imageFile, headerBytes: 16)
        let pixels = try imageFile.readAll(count: pixelCount, what: "\(count) images of \(height)×\(width) pixels")
        try imageFile.expectEnd(afterBytes: 16 + pixelCount)
        return try ImageSet(channels: 1, height: height, width: width, pixels: pixels, labels: labelValues, classNames: classNames)
    }

    static func readLabels(path: String, classNames: [String]) throws -> [Int32] {
        let file = try FileBytes(path: path)
        let count = try readHeader(file, magic: labelsMagic, dimensions: 1, kind: "idx1-ubyte labels")[0]
        _ = try checkedProduct([count], file: file, headerBytes: 8)
        let bytes = try file.readAll(count: count, what: "\(count) labels")
        try file.expectEnd(afterBytes: 8 + count)
        if let bad = bytes.firstIndex(where: { Int($0) >= classNames.count }) {
            throw ImageDataError("\(path): label \(bytes[bad]) of item \(bad) is not below \(classNames.count), the number of classes")
        }
        return bytes.map { Int32($0) }
    }

    private static func readHeader(_ file: FileBytes, magic: UInt32, dimensions: Int, kind: String) throws -> [Int] {
        // The magic first, so that a file of the wrong kind is called that rather than truncated.
        var found: UInt32 = 0
        try withUnsafeMutableBytes(of: &found) { try file.readExactly(into: $0, what: "the \(kind) magic number") }
        guard UInt32(bigEndian: found) == magic else {
            throw ImageDataError(
                "\(file.path): magic number 0x\(hex(UInt32(bigEndian: found))) is not 0x\(hex(magic)) (\(kind)): not an IDX file of that kind"
            )
        }
        var sizes = [UInt32](repeating: 0, count: dimensions)
        try sizes.withUnsafeMutableBytes { try file.readExactly(into: $0, what: "the \(kind) header") }
        return sizes.map { Int(UInt32(bigEndian: $0)) }
    }

    /// The byte count the header claims, refused before allocating when it cannot be in the file.
    private static func checkedProduct(_ sizes: [Int], file: FileBytes, headerBytes: Int) throws -> Int {
        var product = 1
        for size in sizes {
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            guard !overflow, next <= maximumBytes else {
                throw ImageDataError("\(file.path): header sizes \(sizes.map(String.init).joined(separator: "×")) are too large")
            }
            product = next
        }
        guard product + headerBytes <= file.maximumBytes else {
            throw ImageDataError(
                "\(file.path): header claims \(product) data bytes (\(sizes.map(String.init).joined(separator: "×"))) but the file holds \(file.describedSize)"
            )
        }
        return product
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
