import Foundation
import Testing

/// `atelier train classifier` and `atelier predict` as a user runs them: an IDX data set of 12×12
/// pictures of one horizontal (class "horizontal") or vertical (class "vertical") bar, a model
/// trained on it, then a BMP picture of a vertical bar classified from the file.
@Suite(.serialized, .tags(.process)) struct ClassifierCommandTests {
    func workspace() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-classifier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A bar picture: `vertical` or horizontal, at `line`, bright on black.
    static func bar(vertical: Bool, line: Int) -> [UInt8] {
        (0..<144).map { i in (vertical ? i % 12 : i / 12) == line ? 230 : 10 }
    }

    /// IDX files (big-endian header, as LeCun's MNIST page describes them).
    static func writeIDX(_ directory: URL, prefix: String, count: Int) throws {
        var images: [UInt8] = [0, 0, 8, 3], labels: [UInt8] = [0, 0, 8, 1]
        func bigEndian(_ value: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8((value >> $0) & 0xFF) } }
        images += bigEndian(count) + bigEndian(12) + bigEndian(12)
        labels += bigEndian(count)
        for index in 0..<count {
            let vertical = index % 2 == 1
            images += bar(vertical: vertical, line: (index / 2) % 10 + 1)
            labels.append(vertical ? 1 : 0)
        }
        try Data(images).write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
        try Data(labels).write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }

    /// A 24-bit BMP (bottom-up rows of B, G, R padded to 4 bytes) of a gray picture.
    static func bmp(_ gray: [UInt8], width: Int, height: Int) -> Data {
        let rowBytes = (width * 3 + 3) / 4 * 4
        func little(_ value: Int, _ count: Int) -> [UInt8] { (0..<count).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        var bytes: [UInt8] = [0x42, 0x4D] + little(54 + rowBytes * height, 4) + little(0, 4) + little(54, 4)
        bytes += little(40, 4) + little(width, 4) + little(height, 4) + little(1, 2) + little(24, 2) + little(0, 4)
        bytes += little(rowBytes * height, 4) + little(2835, 4) + little(2835, 4) + little(0, 4) + little(0, 4)
        for row in (0..<height).reversed() {
            var line: [UInt8] = []
            for column in 0..<width { line += Array(repeating: gray[row * width + column], count: 3) }
            bytes += line + Array(repeating: 0, count: rowBytes - line.count)
        }
        return Data(bytes)
    }

    @Test func trainsThenPredictsAPicture() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeIDX(directory, prefix: "train", count: 200)
        try Self.writeIDX(directory, prefix: "t10k", count: 40)
        try "horizontal\nvertical\n".write(to: directory.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        let model = directory.appendingPathComponent("bars.gguf").path
        let trained = try AtelierProcess.run([
            "train", "classifier", "--data", directory.path, "--model", "lenet", "--epochs", "3", "--batch", "20", "--threads", "2",
            "--out", model, "--format", "safetensors",
        ])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stderr.contains("epoch 3/3"), "\(trained.stderr)")
        #expect(trained.stderr.contains("Confusion matrix"), "\(trained.stderr)")
        for suffix in [".gguf", ".checkpoint.gguf", ".loss.svg", ".safetensors"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("bars" + suffix).path), "missing bars\(suffix)")
        }

        let picture = directory.appendingPathComponent("vertical.bmp")
        try Self.bmp(Self.bar(vertical: true, line: 6), width: 12, height: 12).write(to: picture)
        let predicted = try AtelierProcess.run(["predict", model, picture.path, "--json", "--top", "2"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let line = try #require(predicted.stdout.split(separator: "\n").first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let predictions = try #require(object["predictions"] as? [[String: Any]])
        #expect(predictions.count == 2)
        #expect(predictions.first?["class"] as? String == "vertical", "\(predictions)")
        let total = predictions.compactMap { $0["probability"] as? Double }.reduce(0, +)
        #expect(abs(total - 1) < 1e-6)

        // A picture that is not one: an error naming the file, a nonzero status.
        let text = directory.appendingPathComponent("notes.png")
        try "not a picture".write(to: text, atomically: true, encoding: .utf8)
        let refused = try AtelierProcess.run(["predict", model, text.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("notes.png"), "\(refused.stderr)")
        // A model file that is not a classifier.
        let wrong = try AtelierProcess.run(["predict", directory.appendingPathComponent("bars.loss.svg").path, picture.path])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("bars.loss.svg"), "\(wrong.stderr)")
    }

    @Test func refusesBadOptionsAndMissingData() throws {
        let bad = try AtelierProcess.run(["train", "classifier", "--model", "vgg", "--data", "random:1x28x28"])
        #expect(bad.status != 0 && bad.stderr.contains("--model vgg"), "\(bad.stderr)")
        let missing = try AtelierProcess.run(["train", "classifier", "--data", "/nonexistent/images"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/images"), "\(missing.stderr)")
        let shape = try AtelierProcess.run(["train", "classifier", "--data", "random:3x32"])
        #expect(shape.status != 0 && shape.stderr.contains("random:CxHxW"), "\(shape.stderr)")
        let precision = try AtelierProcess.run(["train", "classifier", "--data", "random:3x32x32", "--precision", "fp8"])
        #expect(precision.status != 0 && precision.stderr.contains("--precision fp8: expected auto, f32 or bf16"), "\(precision.stderr)")
    }

    /// `--precision f32` and `bf16` both train a ResNet; their first losses differ by bf16's rounding
    /// of the convolutions' operands, no more (and not at all would mean bf16 was not used).
    @Test func convolutionPrecisions() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        var firstLoss: [String: Double] = [:]
        for precision in ["f32", "bf16"] {
            let result = try AtelierProcess.run([
                "train", "classifier", "--data", "random:3x16x16", "--model", "resnet8", "--batch", "16", "--steps", "1",
                "--threads", "2", "--precision", precision, "--out", directory.appendingPathComponent("\(precision).gguf").path,
            ])
            // A CPU without AVX512-BF16 refuses bf16 by name (auto then means f32).
            if precision == "bf16" && result.stderr.contains("lacks AVX512-BF16") { continue }
            #expect(result.status == 0, "\(precision): \(result.stderr)")
            let output = result.stdout + result.stderr
            #expect(output.contains("convolutions in \(precision)"), "\(output)")
            let match = try #require(output.firstMatch(of: /step 1\/\d+\s+loss ([0-9.]+)/), "\(output)")
            // Bound to a non-optional first: #require into the Double? subscript would check a Double??.
            let loss = try #require(Double(match.output.1), "\(output)")
            firstLoss[precision] = loss
        }
        let f32 = try #require(firstLoss["f32"])
        #expect(f32.isFinite && f32 > 0)
        if let bf16 = firstLoss["bf16"] { #expect(abs(bf16 - f32) < 1e-2 * f32 && bf16 != f32, "f32 \(f32), bf16 \(bf16)") }
    }
}
