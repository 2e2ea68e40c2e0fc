import Attention
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A learning rate as a function of the step (0-based: the number of updates already taken).
///
/// Linear warmup then decay to a floor, as nanoGPT's `get_lr`:
/// ```
/// step < warmup:            peak · (step + 1) / (warmup + 1)
/// step > decaySteps:        floor
/// otherwise, r = (step − warmup) / (decaySteps − warmup):
///   cosine:  floor + ½(1 + cos πr) · (peak − floor)
///   linear:  floor + (1 − r) · (peak − floor)
///   constant: peak
/// ```
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public enum Decay: String, Sendable, Codable { case cosine, linear, constant }

    public var peak: Float
    public var floor: Float
    public var warmupSteps: Int
    /// The step at which the decay reaches `floor` (nanoGPT's `lr_decay_iters`).
    public var decaySteps: Int
    public var decay: Decay

    public init(peak: Float, floor: Float = 0, warmupSteps: Int = 0, decaySteps: Int, decay: Decay = .cosine) {
        checkPrecondition(warmupSteps >= 0 && decaySteps >= warmupSteps,
            "LearningRateSchedule: need 0 ≤ warmupSteps (\(warmupSteps)) ≤ decaySteps (\(decaySteps))")
        self.peak = peak; self.floor = floor; self.warmupSteps = warmupSteps
        self.decaySteps = decaySteps; self.decay = decay
    }

    /// A constant rate.
    public static func constant(_ rate: Float) -> LearningRateSchedule {
        LearningRateSchedule(peak: rate, floor: rate, warmupSteps: 0, decaySteps: 0, decay: .constant)
    }

    /// The learning rate for the update taken after `step` earlier updates.
    public func callAsFunction(_ step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps + 1) }
        if decay == .constant { return peak }
        if step > decaySteps || decaySteps == warmupSteps { return floor }
        let r = Double(step - warmupSteps) / Double(decaySteps - warmupSteps)
        let coefficient: Double
        switch decay {
        case .cosine: coefficient = 0.5 * (1 + cos(Double.pi * r))
        case .linear: coefficient = 1 - r
        case .constant: coefficient = 1
        }
        return floor + Float(coefficient) * (peak - floor)
    }
}
