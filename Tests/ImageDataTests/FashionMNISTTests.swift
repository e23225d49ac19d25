import Glibc
import ImageData
import Testing

/// The real Fashion-MNIST files. The expected numbers were computed at dev time with numpy from the
/// same .gz files (gzip.open + np.frombuffer(offset=16/8)): label histograms, the first ten labels,
/// the sum of all pixels, Σ (i+1)·pixel[i] over the first training image, and its row 14.
@Suite struct FashionMNISTTests {
    static let directory = "/usr/share/datasets/fashion-mnist"
    static var present: Bool { access(directory + "/train-images-idx3-ubyte.gz", R_OK) == 0 }

    @Test(.enabled(if: present, "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"))
    func realFilesThroughTheLocator() throws {
        let (train, test) = try ImageDatasetLocator.locate("fashion-mnist")
        #expect(train.count == 60000 && test.count == 10000)
        #expect(train.channels == 1 && train.height == 28 && train.width == 28)
        #expect(train.classNames == ClassNames.fashionMNIST && train.classNames[9] == "Ankle boot")
        #expect(Array(train.labels[0..<10]) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        #expect(Array(test.labels[0..<10]) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        var trainHistogram = [Int](repeating: 0, count: 10)
        var testHistogram = [Int](repeating: 0, count: 10)
        for label in train.labels { trainHistogram[Int(label)] += 1 }
        for label in test.labels { testHistogram[Int(label)] += 1 }
        #expect(trainHistogram == [Int](repeating: 6000, count: 10))
        #expect(testHistogram == [Int](repeating: 1000, count: 10))
        #expect(train.pixels.reduce(0) { $0 + Int($1) } == 3_431_114_169)
        #expect(test.pixels.reduce(0) { $0 + Int($1) } == 573_469_082)
        let weighted = train.pixels[0..<784].enumerated().reduce(0) { $0 + ($1.offset + 1) * Int($1.element) }
        #expect(weighted == 35_954_273)
        #expect(
            Array(train.pixels[14 * 28..<15 * 28]) == [
                0, 0, 1, 4, 6, 7, 2, 0, 0, 0, 0, 0, 237, 226, 217, 223, 222, 219, 222, 221, 216, 223, 229, 215, 218, 255, 77, 0,
            ])
        // numpy: (train / 255).mean() = 0.2860405969887955, .std() = 0.35302424451492254
        let normalization = Normalization.measured(from: train)
        #expect(abs(normalization.mean[0] - 0.286_040_6) < 1e-6)
        #expect(abs(normalization.std[0] - 0.353_024_2) < 1e-6)
    }

    @Test(.enabled(if: present, "Fashion-MNIST is not installed"))
    func loaderIsFastEnough() throws {
        let (train, _) = try ImageDatasetLocator.locate("fashion-mnist")
        let loader = ImageBatchLoader(
            set: train, batchSize: 128, normalization: Normalization(mean: [0.286], std: [0.353]),
            augmentation: Augmentation(cropPadding: 2, horizontalFlip: true), shuffle: true, seed: 1)
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let begin = Double(clock.tv_sec) + Double(clock.tv_nsec) * 1e-9
        loader.start(epoch: 0)
        var images = 0
        while let batch = loader.next() { images += batch.count }
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let seconds = Double(clock.tv_sec) + Double(clock.tv_nsec) * 1e-9 - begin
        #expect(images == 60000)
        // The brief's floor is 20,000 images/s on one thread.
        #expect(Double(images) / seconds > 20000, "\(Double(images) / seconds) images/s")
        print("ImageBatchLoader: 60000 Fashion-MNIST images (crop 2 + flip) in \(seconds) s = \(Int(Double(images) / seconds)) images/s")
    }
}
