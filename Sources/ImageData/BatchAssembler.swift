/// Builds one batch: gathers the images of the epoch's order, crops and mirrors them as the
/// augmentation draws, and normalizes through a per-channel table of the 256 pixel values.
struct BatchAssembler: Sendable {
    let set: ImageSet
    let batchSize: Int
    let augmentation: Augmentation
    let seed: UInt64
    private let table: [Float]

    init(set: ImageSet, batchSize: Int, normalization: Normalization, augmentation: Augmentation, seed: UInt64) {
        self.set = set
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.seed = seed
        table = normalization.lookupTable(channels: set.channels)
    }

    /// The order of an epoch: a permutation that depends only on seed and epoch, or the identity.
    func order(epoch: Int, shuffle: Bool) -> [Int32] {
        guard shuffle else { return (0..<Int32(set.count)).map { $0 } }
        var random = SeededRandom(seed: seed, stream: UInt64(bitPattern: Int64(epoch)))
        return random.permutation(set.count)
    }

    /// Batch `index` of an epoch. Its augmentation draws come from a generator of its own (seed,
    /// epoch, batch), so skipping batches needs no draws and a resumed epoch is the same.
    func batch(_ index: Int, of order: [Int32], epoch: Int) -> ImageBatch {
        let first = index * batchSize
        let members = Array(order[first..<min(first + batchSize, order.count)])
        let perImage = set.pixelsPerImage
        var images = [Float](repeating: 0, count: members.count * perImage)
        var random = SeededRandom(seed: seed, stream: UInt64(bitPattern: Int64(epoch)), substream: UInt64(index) + 1)
        let (channels, height, width) = (set.channels, set.height, set.width)
        let padding = augmentation.cropPadding
        set.pixels.withUnsafeBufferPointer { pixels in
            table.withUnsafeBufferPointer { table in
                images.withUnsafeMutableBufferPointer { images in
                    for (slot, member) in members.enumerated() {
                        let source = pixels.baseAddress! + Int(member) * perImage
                        let target = images.baseAddress! + slot * perImage
                        let dy = padding > 0 ? random.below(2 * padding + 1) - padding : 0
                        let dx = padding > 0 ? random.below(2 * padding + 1) - padding : 0
                        let flip = augmentation.horizontalFlip && random.next() >> 63 == 1
                        for channel in 0..<channels {
                            let lookup = table.baseAddress! + channel * 256
                            let plane = source + channel * height * width
                            let out = target + channel * height * width
                            if dy == 0, dx == 0, !flip {
                                for i in 0..<height * width { out[i] = lookup[Int(plane[i])] }
                                continue
                            }
                            // Output (y, x) shows padded (y + dy + p, x' + dx + p), i.e. source (y + dy, x' + dx),
                            // where x' is x mirrored when flipping; outside the source it is padding (pixel 0).
                            let zero = lookup[0]
                            for y in 0..<height {
                                let sy = y + dy
                                let row = out + y * width
                                guard sy >= 0, sy < height else {
                                    for x in 0..<width { row[x] = zero }
                                    continue
                                }
                                let sourceRow = plane + sy * width
                                for x in 0..<width {
                                    let sx = (flip ? width - 1 - x : x) + dx
                                    row[x] = sx >= 0 && sx < width ? lookup[Int(sourceRow[sx])] : zero
                                }
                            }
                        }
                    }
                }
            }
        }
        return ImageBatch(images: images, labels: members.map { set.labels[Int($0)] }, indices: members)
    }
}
