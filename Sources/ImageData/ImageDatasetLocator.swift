#if canImport(Glibc)
import Glibc
#endif

/// Where training data comes from: a name or a directory.
public enum ImageDatasetLocator {
    static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"
    static let mnistDirectory = "/usr/share/datasets/mnist"

    /// "fashion-mnist" → /usr/share/datasets/fashion-mnist (or $ATELIER_FASHION_MNIST); "mnist" →
    /// /usr/share/datasets/mnist (or $ATELIER_MNIST); a directory → IDX files (train-images-idx3-ubyte[.gz],
    /// train-labels-idx1-ubyte[.gz], t10k-…), CIFAR-10 (data_batch_1..5.bin + test_batch.bin, names from
    /// batches.meta.txt when present) or CIFAR-100 (train.bin/test.bin, fine labels).
    public static func locate(_ nameOrDirectory: String) throws -> (train: ImageSet, test: ImageSet) {
        switch nameOrDirectory.lowercased() {
        case "fashion-mnist", "fashion_mnist", "fashionmnist":
            let directory = environment("ATELIER_FASHION_MNIST") ?? fashionMNISTDirectory
            guard isDirectory(directory) else {
                throw ImageDataError(
                    "fashion-mnist: no directory \(directory) (looked for its IDX files there; install them with "
                        + "`apt-get install dataset-fashion-mnist`, or set ATELIER_FASHION_MNIST to a directory holding them)")
            }
            return try readIDX(directory: directory, classNames: ClassNames.fashionMNIST)
        case "mnist":
            let directory = environment("ATELIER_MNIST") ?? mnistDirectory
            guard isDirectory(directory) else {
                throw ImageDataError(
                    "mnist: no directory \(directory) (looked for its IDX files there; set ATELIER_MNIST to a directory holding them)")
            }
            return try readIDX(directory: directory, classNames: ClassNames.mnist)
        default:
            return try locate(directory: nameOrDirectory)
        }
    }

    private static func locate(directory: String) throws -> (train: ImageSet, test: ImageSet) {
        guard isDirectory(directory) else {
            throw ImageDataError(
                "\(directory): neither a known data set name (fashion-mnist, mnist) nor a directory")
        }
        if idxFile(directory, "train-images-idx3-ubyte") != nil {
            return try readIDX(directory: directory, classNames: idxClassNames(directory: directory))
        }
        let cifar10Train = (1...5).map { "\(directory)/data_batch_\($0).bin" }
        if cifar10Train.allSatisfy(isFile), isFile("\(directory)/test_batch.bin") {
            let names = try classNames(file: "\(directory)/batches.meta.txt", count: 10) ?? ClassNames.cifar10
            return (
                try CIFARReader.read(files: cifar10Train, variant: .cifar10, classNames: names),
                try CIFARReader.read(files: ["\(directory)/test_batch.bin"], variant: .cifar10, classNames: names)
            )
        }
        if isFile("\(directory)/train.bin"), isFile("\(directory)/test.bin") {
            let names = try classNames(file: "\(directory)/fine_label_names.txt", count: 100) ?? ClassNames.numbered(100)
            return (
                try CIFARReader.read(files: ["\(directory)/train.bin"], variant: .cifar100Fine, classNames: names),
                try CIFARReader.read(files: ["\(directory)/test.bin"], variant: .cifar100Fine, classNames: names)
            )
        }
        throw ImageDataError(
            "\(directory): found no image data set: looked for IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
                + "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]), CIFAR-10 (data_batch_1.bin … data_batch_5.bin, test_batch.bin) "
                + "and CIFAR-100 (train.bin, test.bin)")
    }

    private static func readIDX(directory: String, classNames: [String]) throws -> (train: ImageSet, test: ImageSet) {
        func required(_ stem: String) throws -> String {
            guard let path = idxFile(directory, stem) else {
                throw ImageDataError(
                    "\(directory): missing \(stem) or \(stem).gz (an IDX data set needs train- and t10k- images and labels)")
            }
            return path
        }
        return (
            try IDXReader.read(
                images: try required("train-images-idx3-ubyte"), labels: try required("train-labels-idx1-ubyte"), classNames: classNames),
            try IDXReader.read(
                images: try required("t10k-images-idx3-ubyte"), labels: try required("t10k-labels-idx1-ubyte"), classNames: classNames)
        )
    }

    /// classes.txt (one name a line) when present; Fashion-MNIST's names for a directory named so; else digits.
    private static func idxClassNames(directory: String) throws -> [String] {
        if let names = try classNames(file: "\(directory)/classes.txt", count: nil) { return names }
        let last = directory.split(separator: "/").last.map { $0.lowercased() } ?? ""
        return last.contains("fashion") ? ClassNames.fashionMNIST : ClassNames.mnist
    }

    private static func idxFile(_ directory: String, _ stem: String) -> String? {
        for candidate in ["\(directory)/\(stem)", "\(directory)/\(stem).gz"] where isFile(candidate) { return candidate }
        return nil
    }

    /// Non-empty lines of a small text file, nil when it is absent.
    static func classNames(file path: String, count: Int?) throws -> [String]? {
        guard isFile(path) else { return nil }
        let bytes = try FileBytes(path: path)
        guard !bytes.isGzip, bytes.fileSize <= 1 << 20 else { throw ImageDataError("\(path): expected a small text file of class names") }
        var data = [UInt8](repeating: 0, count: bytes.fileSize)
        try data.withUnsafeMutableBytes { try bytes.readExactly(into: $0, what: "the class names") }
        let names = data.split(separator: UInt8(ascii: "\n"))
            .map { String(decoding: $0, as: UTF8.self).trimmingSpaces() }
            .filter { !$0.isEmpty }
        if let count, names.count != count {
            throw ImageDataError("\(path): \(names.count) class names, expected \(count)")
        }
        guard !names.isEmpty else { throw ImageDataError("\(path): no class names in it") }
        return names
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func isFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
