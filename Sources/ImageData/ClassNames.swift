/// Class names of the well-known data sets, in label order.
public enum ClassNames {
    /// From Fashion-MNIST's README (Xiao, Rasul and Vollgraf, 2017).
    public static let fashionMNIST = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]
    /// From CIFAR-10's batches.meta.txt (Krizhevsky, 2009).
    public static let cifar10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    public static let mnist = (0..<10).map(String.init)

    /// Numbered names for sets that ship none ("0", "1", …).
    public static func numbered(_ count: Int) -> [String] { (0..<count).map(String.init) }
}
