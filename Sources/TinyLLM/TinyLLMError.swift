import Attention
import Foundation

/// Everything that can go wrong with input from outside: files, checkpoints, arguments.
public enum TinyLLMError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case invalidConfiguration(String)
    case unknownPreset(String, known: [String])
    /// The corpus cannot provide one window in each split (needs `contextLength + 1` bytes).
    case corpusTooShort(path: String, bytes: Int, needed: Int)
    case unreadableFile(path: String, reason: String)
    case unwritableFile(path: String, reason: String)
    case invalidArgument(String)
    /// A checkpoint file or directory that cannot be loaded, with what is wrong.
    case invalidCheckpoint(path: String, reason: String)
    /// No `--model` was given and this build carries no bundled model.
    case noBundledModel

    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): return "invalid model configuration: \(message)"
        case .unknownPreset(let name, let known):
            return "unknown preset '\(name)'; choose one of: \(known.joined(separator: ", "))"
        case .corpusTooShort(let path, let bytes, let needed):
            return "corpus \(terminalSafe(path)) is too short: \(bytes) bytes; need at least \(needed) so that the 90% training and 10% validation splits each hold context length + 1 bytes"
        case .unreadableFile(let path, let reason): return "cannot read \(terminalSafe(path)): \(terminalSafe(reason, limit: 600))"
        case .unwritableFile(let path, let reason): return "cannot write \(terminalSafe(path)): \(terminalSafe(reason, limit: 600))"
        case .invalidArgument(let message): return terminalSafe(message, limit: 600)
        case .invalidCheckpoint(let path, let reason): return "invalid checkpoint \(terminalSafe(path)): \(terminalSafe(reason, limit: 600))"
        case .noBundledModel:
            return "no trained model is bundled with this build (Sources/TinyLLM/Resources/BundledModel/model.safetensors is absent). Train one, e.g. `attend train --corpus ../shared/data/tinyshakespeare.txt --out runs/shakespeare`, then pass `--model runs/shakespeare`"
        }
    }
}
