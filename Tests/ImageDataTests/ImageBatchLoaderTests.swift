import ImageData
import Testing

@Suite struct ImageBatchLoaderTests {
    /// `count` gray images of 3×4 whose pixels are all the image's index (so every image is recognizable), labels index % 3.
    static func numberedSet(count: Int) throws -> ImageSet {
        try ImageSet(
            channels: 1, height: 3, width: 4, pixels: (0..<count).flatMap { [UInt8](repeating: UInt8($0), count: 12) },
            labels: (0..<count).map { Int32($0 % 3) }, classNames: ["a", "b", "c"])
    }

    static let identity = Normalization(mean: [0], std: [1.0 / 255])

    static func epoch(_ loader: ImageBatchLoader, _ epoch: Int, skip: Int = 0) -> [ImageBatch] {
        loader.start(epoch: epoch, skipBatches: skip)
        var batches: [ImageBatch] = []
        while let batch = loader.next() { batches.append(batch) }
        return batches
    }

    @Test func shuffleIsASeededPermutationPerEpoch() throws {
        let set = try Self.numberedSet(count: 100)
        let loader = ImageBatchLoader(
            set: set, batchSize: 16, normalization: Self.identity, augmentation: .none, shuffle: true, seed: 42)
        #expect(loader.batchesPerEpoch == 7)
        let first = Self.epoch(loader, 0)
        #expect(first.map(\.count) == [16, 16, 16, 16, 16, 16, 4])
        let order = first.flatMap(\.indices)
        #expect(order.sorted() == (0..<100).map { Int32($0) })
        #expect(order != (0..<100).map { Int32($0) })
        // Pixels and labels follow the index (pixel value = index with the identity-like normalization).
        for batch in first {
            for (slot, index) in batch.indices.enumerated() {
                #expect(batch.labels[slot] == index % 3)
                #expect(batch.images[slot * 12..<(slot + 1) * 12].allSatisfy { abs($0 - Float(index)) < 1e-3 })
            }
        }
        #expect(Self.epoch(loader, 0).flatMap(\.indices) == order)
        let again = ImageBatchLoader(set: set, batchSize: 16, normalization: Self.identity, augmentation: .none, shuffle: true, seed: 42)
        #expect(Self.epoch(again, 0).flatMap(\.indices) == order)
        let second = Self.epoch(loader, 1).flatMap(\.indices)
        #expect(second != order && second.sorted() == order.sorted())
        let otherSeed = ImageBatchLoader(
            set: set, batchSize: 16, normalization: Self.identity, augmentation: .none, shuffle: true, seed: 43)
        #expect(Self.epoch(otherSeed, 0).flatMap(\.indices) != order)
    }

    @Test func inOrderAndDropLast() throws {
        let set = try Self.numberedSet(count: 10)
        let loader = ImageBatchLoader(
            set: set, batchSize: 4, normalization: Self.identity, augmentation: .none, shuffle: false, seed: 0, dropLast: true)
        #expect(loader.batchesPerEpoch == 2)
        #expect(Self.epoch(loader, 3).flatMap(\.indices) == (0..<8).map { Int32($0) })
        #expect(loader.next() == nil)
    }

    @Test func skipBatchesGivesTheSameRemainingBatches() throws {
        let set = try Self.numberedSet(count: 50)
        let loader = ImageBatchLoader(
            set: set, batchSize: 8, normalization: Self.identity, augmentation: Augmentation(cropPadding: 1, horizontalFlip: true),
            shuffle: true, seed: 7)
        let full = Self.epoch(loader, 2)
        let resumed = Self.epoch(loader, 2, skip: 3)
        #expect(resumed.count == full.count - 3)
        for (a, b) in zip(full.dropFirst(3), resumed) {
            #expect(a.indices == b.indices && a.images == b.images && a.labels == b.labels)
        }
        #expect(Self.epoch(loader, 2, skip: 100).isEmpty)
    }

    @Test func restartMidEpochDropsQueuedBatches() throws {
        let set = try Self.numberedSet(count: 64)
        let loader = ImageBatchLoader(set: set, batchSize: 4, normalization: Self.identity, augmentation: .none, shuffle: true, seed: 1)
        let reference = Self.epoch(loader, 5).flatMap(\.indices)
        loader.start(epoch: 0)
        _ = loader.next()
        #expect(Self.epoch(loader, 5).flatMap(\.indices) == reference)
    }

    @Test func normalizationValues() throws {
        // Two channels of a 1×2 image: channel 0 pixels 0 and 255, channel 1 pixels 51 and 102.
        let set = try ImageSet(channels: 2, height: 1, width: 2, pixels: [0, 255, 51, 102], labels: [0], classNames: ["x"])
        let normalization = Normalization(mean: [0.5, 0.1], std: [0.25, 0.2])
        let loader = ImageBatchLoader(set: set, batchSize: 1, normalization: normalization, augmentation: .none, shuffle: false, seed: 0)
        loader.start(epoch: 0)
        let images = try #require(loader.next()).images
        // (0 − 0.5)/0.25 = −2, (1 − 0.5)/0.25 = 2, (0.2 − 0.1)/0.2 = 0.5, (0.4 − 0.1)/0.2 = 1.5
        let expected: [Float] = [-2, 2, 0.5, 1.5]
        for (value, want) in zip(images, expected) { #expect(abs(value - want) < 1e-5) }
        // Measured: channel 0 mean 0.5 std 0.5; channel 1 mean 0.3 std 0.1.
        let measured = Normalization.measured(from: set)
        #expect(abs(measured.mean[0] - 0.5) < 1e-6 && abs(measured.std[0] - 0.5) < 1e-6)
        #expect(abs(measured.mean[1] - 0.3) < 1e-6 && abs(measured.std[1] - 0.1) < 1e-6)
    }

    /// One 3×3 image with distinct pixels 1…9, repeated so many augmentation draws are seen.
    static func distinctSet(copies: Int) throws -> ImageSet {
        try ImageSet(
            channels: 1, height: 3, width: 3, pixels: (0..<copies).flatMap { _ in (1...9).map { UInt8($0) } },
            labels: [Int32](repeating: 0, count: copies), classNames: ["x"])
    }

    @Test func flipIsAMirror() throws {
        let loader = ImageBatchLoader(
            set: try Self.distinctSet(copies: 64), batchSize: 64, normalization: Self.identity,
            augmentation: Augmentation(cropPadding: 0, horizontalFlip: true), shuffle: false, seed: 3)
        let images = Self.epoch(loader, 0)[0].images.map { Int($0.rounded()) }
        var flipped = 0
        for image in 0..<64 {
            let pixels = Array(images[image * 9..<(image + 1) * 9])
            #expect(pixels == [1, 2, 3, 4, 5, 6, 7, 8, 9] || pixels == [3, 2, 1, 6, 5, 4, 9, 8, 7])
            if pixels[0] == 3 { flipped += 1 }
        }
        // Probability 1/2 each: 64 draws land in 16…48 except with probability < 1e-4.
        #expect(flipped >= 16 && flipped <= 48)
    }

    @Test func cropShiftsContentAndPadsWithZero() throws {
        let loader = ImageBatchLoader(
            set: try Self.distinctSet(copies: 200), batchSize: 50, normalization: Self.identity,
            augmentation: Augmentation(cropPadding: 1, horizontalFlip: false), shuffle: false, seed: 9)
        let source = (1...9).map { $0 }
        var shifts = Set<[Int]>()
        for batch in Self.epoch(loader, 0) {
            let images = batch.images.map { Int($0.rounded()) }
            for image in 0..<batch.count {
                let pixels = Array(images[image * 9..<(image + 1) * 9])
                // Find the shift (dy, dx) in −1…1 that explains the picture: out(y, x) = source(y + dy, x + dx) or 0 outside.
                let match = (-1...1).flatMap { dy in (-1...1).map { dx in [dy, dx] } }.first { shift in
                    (0..<9).allSatisfy { i in
                        let (y, x) = (i / 3 + shift[0], i % 3 + shift[1])
                        return pixels[i] == (y >= 0 && y < 3 && x >= 0 && x < 3 ? source[y * 3 + x] : 0)
                    }
                }
                #expect(match != nil, "\(pixels) is no shift of 1…9")
                if let match { shifts.insert(match) }
            }
        }
        #expect(shifts.count == 9)
    }

    @Test func queueStaysBounded() throws {
        let set = try Self.numberedSet(count: 200)
        let loader = ImageBatchLoader(
            set: set, batchSize: 2, normalization: Self.identity, augmentation: .none, shuffle: true, seed: 0, ahead: 3)
        loader.start(epoch: 0)
        var seen = 0
        while let batch = loader.next() {
            seen += batch.count
            // A slow consumer: the worker fills the queue meanwhile but never past `ahead`.
            if seen % 20 == 0 { usleepForTest(2000) }
        }
        #expect(seen == 200)
        #expect(loader.queuedHighWater <= 3 && loader.queuedHighWater >= 1)
    }
}
