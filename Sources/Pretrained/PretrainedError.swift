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

    public var description: String {
        switch self {
        case .missingFile(let path, let hint):
            return "missing file: \(path)\(hint.isEmpty ? "" : " (\(hint))")"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .unsupportedArchitecture(let what):
            return "unsupported architecture: \(what); this encoder implements BERT-family models (model_type bert, absolute positions, GELU)"
        case .invalidConfiguration(let path, let reason):
            return "invalid configuration in \(path): \(reason)"
        case .missingTensor(let name, let file):
            return "tensor \"\(name)\" is missing from \(file); is this a BERT checkpoint?"
        case .shapeMismatch(let name, let expected, let actual):
            return "tensor \"\(name)\" has shape \(actual) but config.json implies \(expected)"
        case .missingSpecialToken(let token):
            return "vocab.txt has no \(token) token"
        case .invalidInput(let reason):
            return "invalid input: \(reason)"
        }
    }
}

extension PretrainedError: LocalizedError {
    public var errorDescription: String? { description }
}
