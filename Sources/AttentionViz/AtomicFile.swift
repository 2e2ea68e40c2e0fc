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
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            try Data(text.utf8).write(to: temporary)
            // rename(2) replaces the target atomically on the same file system.
            guard rename(temporary.path, url.path) == 0 else {
                throw VizError.unwritableOutput(path: path, reason: String(cString: strerror(errno)))
            }
        } catch let error as VizError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw VizError.unwritableOutput(path: path, reason: error.localizedDescription)
        }
    }
}
