/// Counts of (true class, predicted class) over a test set.
public struct ConfusionMatrix: Sendable, Equatable {
    public let classes: Int
    public private(set) var counts: [Int]

    public init(classes: Int) {
        self.classes = classes
        counts = Array(repeating: 0, count: classes * classes)
    }

    public mutating func add(truth: Int, predicted: Int) { counts[truth * classes + predicted] += 1 }

    public subscript(truth: Int, predicted: Int) -> Int { counts[truth * classes + predicted] }

    public var total: Int { counts.reduce(0, +) }
    public var correct: Int { (0..<classes).reduce(0) { $0 + self[$1, $1] } }
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    /// Recall per class: the fraction of each true class predicted as itself.
    public func recall(_ truth: Int) -> Double {
        let row = (0..<classes).reduce(0) { $0 + self[truth, $1] }
        return row == 0 ? 0 : Double(self[truth, truth]) / Double(row)
    }

    /// A text table: one row per true class, one column per predicted class, recall at the end.
    public func table(names: [String]) -> String {
        let labels = (0..<classes).map { $0 < names.count ? names[$0] : String($0) }
        let rowNames = labels.enumerated().map { "\($0.offset) \($0.element)" }
        let header = "true \\ predicted"
        let nameWidth = max(header.count, rowNames.map(\.count).max() ?? 0) + 1
        let cellWidth = max(5, String(counts.max() ?? 0).count + 1)
        func pad(_ text: String, _ width: Int, left: Bool = true) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return left ? padding + text : text + padding
        }
        var lines = [pad(header, nameWidth, left: false) + (0..<classes).map { pad(String($0), cellWidth) }.joined() + "  recall"]
        for truth in 0..<classes {
            let cells = (0..<classes).map { pad(String(self[truth, $0]), cellWidth) }.joined()
            let recallText = String(Int((recall(truth) * 1000).rounded())).paddedPercent
            lines.append(pad(rowNames[truth], nameWidth, left: false) + cells + "  " + recallText)
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// "923" (per mille) → "92.3%".
    fileprivate var paddedPercent: String {
        let value = Int(self) ?? 0
        return "\(value / 10).\(value % 10)%"
    }
}
