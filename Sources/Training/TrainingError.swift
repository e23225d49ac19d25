/// Why training could not start or had to stop, in words a user can act on.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case missingParameter(String)
    case parameterShape(String, expected: [Int], found: [Int])
    case unexpectedParameter(String)
    case dataTooShort(split: String, tokens: Int, needed: Int)
    case nonFiniteLoss(step: Int, loss: Double, checkpoint: String?)
    case checkpoint(path: String, reason: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .missingParameter(let name): "parameter \(name) is missing"
        case .parameterShape(let name, let expected, let found): "parameter \(name) has shape \(found), expected \(expected)"
        case .unexpectedParameter(let name): "unexpected parameter \(name) for this configuration"
        case .dataTooShort(let split, let tokens, let needed):
            "the \(split) split has \(tokens) tokens; a context window needs at least \(needed) (use more data, a smaller --context or a different --val-fraction)"
        case .nonFiniteLoss(let step, let loss, let checkpoint):
            "loss became \(loss) at step \(step); stopped"
                + (checkpoint.map { " (the last good checkpoint is \($0); resume with --resume after lowering --lr)" }
                    ?? " before any checkpoint was written")
        case .checkpoint(let path, let reason): "checkpoint \(path): \(reason)"
        case .invalidOption(let message): message
        }
    }
}
