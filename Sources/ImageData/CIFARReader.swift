/// CIFAR's binary batches (Krizhevsky, 2009): fixed-size records of label bytes then 3072 pixel
/// bytes (1024 red, 1024 green, 1024 blue, each 32×32 row-major), already channel-planar.
public enum CIFARReader {
    public enum Variant: Sendable {
        case cifar10
        case cifar100Fine
        case cifar100Coarse

        var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        /// Which of the record's label bytes this variant uses.
        var labelOffset: Int { self == .cifar100Fine ? 1 : 0 }
        var classCount: Int {
            switch self {
            case .cifar10: 10
            case .cifar100Fine: 100
            case .cifar100Coarse: 20
            }
        }
        var defaultClassNames: [String] { self == .cifar10 ? ClassNames.cifar10 : ClassNames.numbered(classCount) }
    }

    static let side = 32
    static let pixelBytes = 3 * 32 * 32

    public static func read(files: [String], variant: Variant) throws -> ImageSet {
        try read(files: files, variant: variant, classNames: variant.defaultClassNames)
    }

    /// As above with the class names given (e.g. from the set's meta files); their count must be the variant's.
    public static func read(files: [String], variant: Variant, classNames: [String]) throws -> ImageSet {
        guard !files.isEmpty else { throw ImageDataError("CIFAR: no batch files given") }
        guard classNames.count == variant.classCount else {
            throw ImageDataError("CIFAR: \(classNames.count) class names given, \(variant) has \(variant.classCount)")
        }
        let recordBytes = variant.labelBytes + pixelBytes
        var sizes: [Int] = []
        for path in files {
            let file = try FileBytes(path: path)
            guard !file.isGzip else { throw ImageDataError("\(path): gzip-compressed; CIFAR batches are read uncompressed (gunzip it)") }
            guard file.fileSize > 0, file.fileSize % recordBytes == 0 else {
                throw ImageDataError(
                    "\(path): \(file.fileSize) bytes is not a positive multiple of the \(recordBytes)-byte \(variant) record")
            }
            sizes.append(file.fileSize / recordBytes)
        }
        let total = sizes.reduce(0, +)
        var pixels = [UInt8](repeating: 0, count: total * pixelBytes)
        var labels = [Int32](repeating: 0, count: total)
        var first = 0
        for (path, count) in zip(files, sizes) {
            let file = try FileBytes(path: path)
            var records = [UInt8](repeating: 0, count: count * recordBytes)
            try records.withUnsafeMutableBytes { try file.readExactly(into: $0, what: "\(count) records") }
            try records.withUnsafeBufferPointer { source in
                try pixels.withUnsafeMutableBufferPointer { target in
                    for index in 0..<count {
                        let record = index * recordBytes
                        let label = Int(source[record + variant.labelOffset])
                        guard label < variant.classCount else {
                            throw ImageDataError(
                                "\(path): record \(index) has label \(label), not below \(variant.classCount) (the \(variant) class count)")
                        }
                        labels[first + index] = Int32(label)
                        UnsafeMutableRawPointer(target.baseAddress! + (first + index) * pixelBytes)
                            .copyMemory(from: source.baseAddress! + record + variant.labelBytes, byteCount: pixelBytes)
                    }
                }
            }
            first += count
        }
        return try ImageSet(channels: 3, height: side, width: side, pixels: pixels, labels: labels, classNames: classNames)
    }
}
