/// The loss curve as a standalone SVG (no scripts, no external resources): training loss per step
/// (a thin line, smoothed over a window so the noise of single batches does not hide the trend) and
/// validation loss at each evaluation (dots joined by a thicker line).
public enum LossCurve {
    public struct Point: Sendable {
        public var step: Int
        public var trainLoss: Double
        public var validationLoss: Double?

        public init(step: Int, trainLoss: Double, validationLoss: Double?) {
            self.step = step
            self.trainLoss = trainLoss
            self.validationLoss = validationLoss
        }
    }

    /// `accuracy` (step, fraction 0…1), when given, is drawn on a right-hand axis from 0 to 100 %.
    public static func svg(_ points: [Point], title: String = "loss", accuracy: [(step: Int, value: Double)] = []) -> String {
        let (width, height) = (720.0, 420.0)
        let (left, right, top, bottom) = (60.0, accuracy.isEmpty ? 20.0 : 40.0, 30.0, 40.0)
        let finite = points.filter { $0.trainLoss.isFinite }
        guard let first = finite.first, let last = finite.last else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\"></svg>\n"
        }
        let smoothed = smooth(finite.map(\.trainLoss), window: max(1, finite.count / 50))
        let validation = finite.compactMap { point in point.validationLoss.map { (point.step, $0) } }
        let values = smoothed + validation.map(\.1)
        var (low, high) = (values.min() ?? 0, values.max() ?? 1)
        if high - low < 1e-9 { (low, high) = (low - 0.5, high + 0.5) }
        let span = Double(max(1, last.step - first.step))
        func x(_ step: Int) -> Double { left + Double(step - first.step) / span * (width - left - right) }
        func y(_ loss: Double) -> Double { top + (high - loss) / (high - low) * (height - top - bottom) }
        func path(_ pairs: [(Int, Double)]) -> String {
            pairs.map { "\(format(x($0.0))),\(format(y($0.1)))" }.joined(separator: " ")
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(left))" y="18" font-size="14">\(escape(title))</text>

            """
        for tick in 0...4 {
            let value = low + (high - low) * Double(tick) / 4
            svg +=
                "<line x1=\"\(Int(left))\" x2=\"\(Int(width - right))\" y1=\"\(format(y(value)))\" y2=\"\(format(y(value)))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(Int(left) - 6)\" y=\"\(format(y(value) + 4))\" text-anchor=\"end\">\(format(value))</text>\n"
        }
        svg += "<text x=\"\(Int(left))\" y=\"\(Int(height) - 12)\">step \(first.step)</text>"
        svg += "<text x=\"\(Int(width - right))\" y=\"\(Int(height) - 12)\" text-anchor=\"end\">step \(last.step)</text>\n"
        svg +=
            "<polyline fill=\"none\" stroke=\"#4a90d9\" stroke-width=\"1\" points=\"\(path(Array(zip(finite.map(\.step), smoothed))))\"/>\n"
        if !validation.isEmpty {
            svg += "<polyline fill=\"none\" stroke=\"#d9534f\" stroke-width=\"2\" points=\"\(path(validation))\"/>\n"
            for (step, loss) in validation {
                svg += "<circle cx=\"\(format(x(step)))\" cy=\"\(format(y(loss)))\" r=\"3\" fill=\"#d9534f\"/>\n"
            }
        }
        if !accuracy.isEmpty {
            func ay(_ fraction: Double) -> Double { top + (1 - fraction) * (height - top - bottom) }
            let pairs = accuracy.map { "\(format(x($0.step))),\(format(ay($0.value)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"#2e8b57\" stroke-width=\"2\" points=\"\(pairs)\"/>\n"
            for tick in 0...4 {
                svg +=
                    "<text x=\"\(Int(width - right) + 2)\" y=\"\(format(ay(Double(tick) / 4) + 4))\" font-size=\"10\" fill=\"#2e8b57\">\(tick * 25)%</text>"
            }
            if let last = accuracy.last {
                svg +=
                    "<text x=\"\(Int(left) + 4)\" y=\"\(Int(height) - 24)\" fill=\"#2e8b57\">accuracy \(format(last.value * 100))%</text>\n"
            }
        }
        svg += "<text x=\"\(Int(width - right) - 200)\" y=\"18\" fill=\"#4a90d9\">train (smoothed)</text>"
        svg += "<text x=\"\(Int(width - right) - 80)\" y=\"18\" fill=\"#d9534f\">validation</text>\n</svg>\n"
        return svg
    }

    public static func write(records: [Point], to path: String, title: String = "loss") throws {
        try ExportFile.write(Array(svg(records, title: title).utf8), to: path)
    }

    static func smooth(_ values: [Double], window: Int) -> [Double] {
        guard window > 1 else { return values }
        var result: [Double] = []
        var sum = 0.0
        for (index, value) in values.enumerated() {
            sum += value
            if index >= window { sum -= values[index - window] }
            result.append(sum / Double(min(index + 1, window)))
        }
        return result
    }

    static func format(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return "\(scaled)"
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
