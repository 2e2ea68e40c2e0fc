import Attention
import Foundation

/// How token states become one sentence vector (sentence-transformers' `Pooling` and
/// `Normalize` modules).
public struct SentencePooling: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable {
        /// `(1/L) Σᵢ hᵢ` over the real tokens (including `[CLS]` and `[SEP]`).
        case mean
        /// `Σᵢ hᵢ / √L`.
        case meanSquareRootLength
        /// Elementwise maximum over the real tokens.
        case max
        /// The `[CLS]` token's state.
        case classToken
    }

    public var mode: Mode
    /// Divide by the Euclidean norm afterwards (cosine similarity becomes a dot product).
    public var normalizes: Bool

    public init(mode: Mode = .mean, normalizes: Bool = true) {
        self.mode = mode
        self.normalizes = normalizes
    }

    /// Reads `modules.json` and the pooling module's `config.json`. A folder without
    /// `modules.json` (a plain Hugging Face model) gets mean pooling without normalisation,
    /// sentence-transformers' default for such folders.
    public init(modelDirectory directory: URL) throws {
        let modulesURL = directory.appendingPathComponent("modules.json")
        guard FileManager.default.fileExists(atPath: modulesURL.path) else {
            self.init(mode: .mean, normalizes: false)
            return
        }
        let text = try ModelFiles.readText(modulesURL, hint: "")
        guard let modules = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw PretrainedError.unreadableFile(path: modulesURL.path, reason: "expected a JSON array of module objects")
        }
        let types = modules.map { ($0["type"] as? String) ?? "" }
        let normalizes = types.contains { $0.hasSuffix(".Normalize") }
        guard let pooling = modules.first(where: { (($0["type"] as? String) ?? "").hasSuffix(".Pooling") }) else {
            throw PretrainedError.unsupportedArchitecture("modules.json lists no Pooling module (\(terminalSafe("\(types)", limit: 200)))")
        }
        let path = (pooling["path"] as? String) ?? "1_Pooling"
        let configURL = try ModelFiles.inside(directory, path, file: modulesURL).appendingPathComponent("config.json")
        let config = try ModelFiles.readJSONObject(configURL, hint: "the Pooling module's configuration")
        let modes: [(String, Mode)] = [
            ("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .classToken),
            ("pooling_mode_max_tokens", .max), ("pooling_mode_mean_sqrt_len_tokens", .meanSquareRootLength),
        ]
        let chosen = modes.filter { (config[$0.0] as? Bool) == true }.map(\.1)
        guard chosen.count == 1 else {
            throw PretrainedError.unsupportedArchitecture(
                "\(configURL.path) enables \(chosen.count) pooling modes; exactly one of mean, cls, max, mean_sqrt_len is supported")
        }
        self.init(mode: chosen[0], normalizes: normalizes)
    }

    /// Pools one sequence's token states `[L, H]` into an `H`-vector.
    public func pool(_ states: Tensor) -> [Float] {
        checkPrecondition(states.rank == 2 && states.shape[0] >= 1,
            "SentencePooling.pool: states must be [L ≥ 1, H], got shape \(states.shape)")
        let (length, width) = (states.shape[0], states.shape[1])
        var vector = [Float](repeating: mode == .max ? -.infinity : 0, count: width)
        states.withUnsafeBufferPointer { h in
            switch mode {
            case .classToken:
                for j in 0..<width { vector[j] = h[j] }
            case .max:
                for i in 0..<length { for j in 0..<width { vector[j] = Swift.max(vector[j], h[i * width + j]) } }
            case .mean, .meanSquareRootLength:
                for i in 0..<length { for j in 0..<width { vector[j] += h[i * width + j] } }
                let divisor = mode == .mean ? Float(length) : Float(length).squareRoot()
                for j in 0..<width { vector[j] /= divisor }
            }
        }
        if normalizes {
            // sentence-transformers divides by max(‖v‖, 1e-12) (torch's F.normalize).
            let norm = Swift.max(vector.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for j in 0..<width { vector[j] /= norm }
        }
        return vector
    }
}
