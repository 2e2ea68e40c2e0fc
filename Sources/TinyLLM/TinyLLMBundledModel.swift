import Foundation

extension TinyLLMCheckpoint {
    /// The bundled model file (`Resources/BundledModel/model.safetensors`, copied into the
    /// package's resource bundle), or nil when this build carries none.
    ///
    /// The resource bundle is looked up the way SwiftPM's generated `Bundle.module` does
    /// (beside the executable), but without its `fatalError` when the bundle is absent, so a
    /// missing model is an error message, never a crash. `ATTEND_TINYLLM_MODEL` overrides it.
    public static var bundledModelURL: URL? {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["ATTEND_TINYLLM_MODEL"], !override.isEmpty {
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
                    let candidate = root.appendingPathComponent(name).appendingPathComponent(inner + "BundledModel/" + modelFileName)
                    if fileManager.fileExists(atPath: candidate.path) { return candidate }
                }
            }
        }
        return nil
    }

    /// Loads the bundled model.
    /// - Throws: ``TinyLLMError/noBundledModel`` (saying how to train one) when there is none.
    public static func loadBundledModel() throws -> TinyLLMModel {
        guard let url = bundledModelURL else { throw TinyLLMError.noBundledModel }
        return try loadModel(from: url.path)
    }
}
