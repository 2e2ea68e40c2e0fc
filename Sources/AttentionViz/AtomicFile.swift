import Attention
import Foundation

/// Writing output files atomically: a temporary file beside the target, then a rename, so a
/// reader never sees half a file and a failed write leaves any old file intact.
public enum AtomicFile {
    /// - Throws: ``VizError/unwritableOutput`` with the reason (folder missing, permission).
    public static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VizError.unwritableOutput(path: path, reason: "the folder \(folder.path) does not exist")
        }
        do { try FileAccess.writeAtomically(Data(text.utf8), to: url) } catch {
            throw VizError.unwritableOutput(path: path, reason: error.reason)
        }
    }
}
