#if canImport(Glibc)
import Glibc
#endif

/// The one-cycle learning rate (Smith & Topin 2019) as PyTorch's OneCycleLR computes it with cosine
/// annealing and two phases: from peak/divisor up to the peak over the first `warmupFraction` of
/// the steps, then down to peak/(divisor·finalDivisor).
public struct OneCycleSchedule: Sendable, Equatable, Codable {
    public var peak: Double
    public var totalSteps: Int
    public var warmupFraction: Double
    public var divisor: Double
    public var finalDivisor: Double

    public init(peak: Double, totalSteps: Int, warmupFraction: Double = 0.25, divisor: Double = 25, finalDivisor: Double = 1e4) {
        self.peak = peak
        self.totalSteps = totalSteps
        self.warmupFraction = warmupFraction
        self.divisor = divisor
        self.finalDivisor = finalDivisor
    }

    /// The rate for `step` (from 0); steps past the end keep the final rate.
    public func learningRate(at step: Int) -> Double {
        let initial = peak / divisor, final = initial / finalDivisor
        // PyTorch's phase boundaries are fractional step numbers.
        let warmupEnd = warmupFraction * Double(totalSteps) - 1, end = Double(totalSteps - 1)
        let position = Double(min(step, totalSteps - 1))
        if position <= warmupEnd {
            return Self.cosine(from: initial, to: peak, progress: warmupEnd > 0 ? position / warmupEnd : 1)
        }
        let span = end - warmupEnd
        return Self.cosine(from: peak, to: final, progress: span > 0 ? (position - warmupEnd) / span : 1)
    }

    static func cosine(from start: Double, to end: Double, progress: Double) -> Double {
        end + (start - end) / 2 * (1 + cos(Double.pi * progress))
    }
}
