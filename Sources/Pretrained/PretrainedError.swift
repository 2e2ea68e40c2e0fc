import Attention
import Foundation

/// Everything that can be wrong with a model folder or its files, as a thrown error that says
/// what was wrong and what to do about it. Programmer errors (wrong shapes passed to the API)
/// are preconditions instead.
public enum PretrainedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model folder, or a file it must contain, does not exist.
    case missingFile(path: String, hint: String)
    /// A file exists but cannot be read or parsed.
    case unreadableFile(path: String, reason: String)
    /// `config.json` describes a model this encoder does not implement.
    case unsupportedArchitecture(String)
    /// A configuration value is missing or out of range.
    case invalidConfiguration(path: String, reason: String)
    /// A tensor the architecture needs is absent from the weights.
    case missingTensor(name: String, file: String)
    /// A tensor has a shape other than the configuration implies.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// The vocabulary lacks a token the tokenizer needs (e.g. `[CLS]`).
    case missingSpecialToken(String)
    /// Input that cannot be encoded (e.g. an empty list of texts).
    case invalidInput(String)
    /// A weight holds NaN or ±∞: the model would give NaN or meaningless outputs.
    case nonFiniteWeight(name: String, file: String, index: Int, value: Float)

    public var description: String {
        switch self {
        case .missingFile(let path, let hint):
            return "missing file: \(terminalSafe(path))\(hint.isEmpty ? "" : " (\(hint))")"
        case .unreadableFile(let path, let reason):
            return "cannot read \(terminalSafe(path)): \(terminalSafe(reason, limit: 600))"
        case .unsupportedArchitecture(let what):
            return "unsupported architecture: \(terminalSafe(what, limit: 600)); this encoder implements BERT-family models (model_type bert, absolute positions, GELU)"
        case .invalidConfiguration(let path, let reason):
            return "invalid configuration in \(terminalSafe(path)): \(terminalSafe(reason, limit: 600))"
        case .missingTensor(let name, let file):
            return "tensor \"\(terminalSafe(name))\" is missing from \(terminalSafe(file)); is this a BERT checkpoint?"
        case .shapeMismatch(let name, let expected, let actual):
            return "tensor \"\(terminalSafe(name))\" has shape \(actual) but config.json implies \(expected)"
        case .missingSpecialToken(let token):
            return "vocab.txt has no \(terminalSafe(token, limit: 60)) token"
        case .nonFiniteWeight(let name, let file, let index, let value):
            return "tensor \"\(terminalSafe(name))\" in \(terminalSafe(file)) holds a non-finite value (\(value)) at element \(index); the weights are damaged"
        case .invalidInput(let reason):
            return "invalid input: \(terminalSafe(reason, limit: 600))"
        }
    }
}

extension PretrainedError: LocalizedError {
    public var errorDescription: String? { description }
}
