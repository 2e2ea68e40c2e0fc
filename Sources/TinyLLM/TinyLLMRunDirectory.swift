import Attention
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The folder a training run writes into, claimed before the first step so that no problem
/// is found only after the work is done, and no finished run is overwritten by accident.
///
/// ``claim(_:)`` creates the folder if needed, checks that it is writable, takes an exclusive
/// lock (`.attend-train.lock`, `flock(2)`: a second `attend train` into the same folder is
/// refused while the first runs) and removes temporary files that an earlier process killed
/// mid-write left behind. ``existingRun`` says whether the folder already holds a run.
public final class TinyLLMRunDirectory: @unchecked Sendable {
    /// The run folder.
    public let url: URL
    private var lockDescriptor: Int32
    private let lockPath: String

    /// The lock file's name inside the run folder.
    public static let lockFileName = ".attend-train.lock"

    private init(url: URL, lockDescriptor: Int32, lockPath: String) {
        self.url = url
        self.lockDescriptor = lockDescriptor
        self.lockPath = lockPath
    }

    deinit { release() }

    /// Claims `url` for a training run (see the type's documentation).
    /// - Throws: ``TinyLLMError/unwritableFile(path:reason:)`` when the folder cannot be
    ///   created or written, or another process is training in it.
    public static func claim(_ url: URL) throws -> TinyLLMRunDirectory {
        if let problem = FileAccess.problemWriting(intoDirectory: url) {
            throw TinyLLMError.unwritableFile(path: url.path, reason: problem)
        }
        let lockPath = url.appendingPathComponent(lockFileName).path
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw TinyLLMError.unwritableFile(path: lockPath, reason: String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw TinyLLMError.unwritableFile(path: url.path,
                reason: "another `attend train` is running in this folder (it holds \(lockFileName)); wait for it or choose another --out")
        }
        let directory = TinyLLMRunDirectory(url: url, lockDescriptor: fd, lockPath: lockPath)
        directory.removeStaleTemporaryFiles()
        return directory
    }

    /// Deletes the temporary files of interrupted atomic writes of this folder's checkpoint
    /// and model (safe: the lock guarantees no other writer is active).
    public func removeStaleTemporaryFiles() {
        let names = [TinyLLMCheckpoint.checkpointFileName, TinyLLMCheckpoint.modelFileName]
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        for name in contents where FileAccess.isStaleTemporary(name, of: names) {
            unlink(url.appendingPathComponent(name).path)
        }
    }

    /// A description of the run this folder already holds (`"checkpoint.safetensors at step
    /// 1000 of 1000 (finished)"`), or nil when it holds neither a checkpoint nor a model.
    public var existingRun: String? {
        let checkpoint = url.appendingPathComponent(TinyLLMCheckpoint.checkpointFileName)
        let model = url.appendingPathComponent(TinyLLMCheckpoint.modelFileName)
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: checkpoint.path) {
            if let file = try? SafeTensorsFile(contentsOf: checkpoint), let json = file.metadata["training"],
               let record = try? JSONDecoder().decode(TinyLLMCheckpoint.TrainingRecord.self, from: Data(json.utf8)) {
                let state = record.step >= record.options.steps ? "finished" : "unfinished"
                return "\(TinyLLMCheckpoint.checkpointFileName) at step \(record.step) of \(record.options.steps) (\(state))"
            }
            return TinyLLMCheckpoint.checkpointFileName
        }
        if fileManager.fileExists(atPath: model.path) { return TinyLLMCheckpoint.modelFileName }
        return nil
    }

    /// Releases the lock (also done when the value is freed).
    public func release() {
        guard lockDescriptor >= 0 else { return }
        unlink(lockPath)
        flock(lockDescriptor, LOCK_UN)
        close(lockDescriptor)
        lockDescriptor = -1
    }
}
