/// Training-time augmentation, drawn per image: a random crop of the image zero-padded by
/// `cropPadding` on each side (offsets uniform in 0...2·padding; padding is pixel 0 before
/// normalization), then a horizontal mirror with probability 1/2.
public struct Augmentation: Sendable, Equatable {
    /// 0: no cropping.
    public var cropPadding: Int
    public var horizontalFlip: Bool

    public init(cropPadding: Int, horizontalFlip: Bool) {
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
    }

    public static let none = Augmentation(cropPadding: 0, horizontalFlip: false)
    /// The usual CIFAR recipe (pad 4, random crop, flip).
    public static let cifar = Augmentation(cropPadding: 4, horizontalFlip: true)

    public var isNone: Bool { cropPadding == 0 && !horizontalFlip }
}
