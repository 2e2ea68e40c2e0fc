import Foundation

/// The models bundled with this build, by the name `--model NAME` takes.
public enum TinyLLMBundledModel: String, CaseIterable, Sendable {
    /// `tinyllm`: the `default` preset trained on tinyshakespeare (ASCII only).
    case shakespeare = "tinyllm"
    /// `tinyllm-utf8`: trained on `utf8-multilingual.txt` (nine languages and the emoji list;
    /// characters of 1–4 bytes). See docs/notes/utf8-model.md.
    case utf8 = "tinyllm-utf8"

    /// The resource folder holding its `model.safetensors`.
    public var resourceFolder: String { self == .shakespeare ? "BundledModel" : "BundledModelUTF8" }
    /// The environment variable that overrides its file.
    public var environmentOverride: String { self == .shakespeare ? "ATTEND_TINYLLM_MODEL" : "ATTEND_TINYLLM_UTF8_MODEL" }

    /// The bundled model a `--model` argument names (exactly `tinyllm` or `tinyllm-utf8`), or nil.
    public static func named(_ name: String) -> TinyLLMBundledModel? { TinyLLMBundledModel(rawValue: name) }
}

extension TinyLLMCheckpoint {
    /// The bundled model file (`Resources/BundledModel/model.safetensors`, copied into the
    /// package's resource bundle), or nil when this build carries none.
    ///
    /// The resource bundle is looked up the way SwiftPM's generated `Bundle.module` does
    /// (beside the executable), but without its `fatalError` when the bundle is absent, so a
    /// missing model is an error message, never a crash. `ATTEND_TINYLLM_MODEL` overrides it.
    public static var bundledModelURL: URL? { bundledModelURL(.shakespeare) }

    /// The file of one bundled model (see ``bundledModelURL``); its environment variable
    /// (``TinyLLMBundledModel/environmentOverride``) overrides it.
    public static func bundledModelURL(_ which: TinyLLMBundledModel) -> URL? {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment[which.environmentOverride], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        let bundleNames = ["swift-attention_TinyLLM.resources", "swift-attention_TinyLLM.bundle"]
        var roots = [Bundle.main.bundleURL]
        if let resources = Bundle.main.resourceURL { roots.append(resources) }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        roots.append(executable)
        for root in roots {
            for name in bundleNames {
                for inner in ["", "Contents/Resources/"] {
                    let candidate = root.appendingPathComponent(name).appendingPathComponent(inner + which.resourceFolder + "/" + modelFileName)
                    if fileManager.fileExists(atPath: candidate.path) { return candidate }
                }
            }
        }
        return nil
    }

    /// Loads the bundled model.
    /// - Throws: ``TinyLLMError/noBundledModel`` (saying how to train one) when there is none.
    public static func loadBundledModel() throws -> TinyLLMModel { try loadBundledModel(.shakespeare) }

    /// Loads one bundled model.
    /// - Throws: ``TinyLLMError/noBundledModel`` when this build carries none.
    public static func loadBundledModel(_ which: TinyLLMBundledModel) throws -> TinyLLMModel {
        guard let url = bundledModelURL(which) else { throw TinyLLMError.noBundledModel }
        return try loadModel(from: url.path)
    }
}
