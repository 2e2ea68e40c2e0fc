import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be read or written, in plain words ("is a folder, not a file",
/// "is a device", "no such file", "permission denied") rather than a Cocoa error number.
public struct FileAccessError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The file, as the caller named it.
    public var path: String
    /// What is wrong with it.
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(terminalSafe(path)): \(reason)" }
    public var errorDescription: String? { description }
}

/// Reading and writing files so that nothing already saved is lost and no file can hang or
/// crash the reader.
public enum FileAccess {
    /// Why `path` cannot be read as a regular file, or nil when it can. Checked with `stat(2)`
    /// before anything is opened, so a FIFO (which would block) or a device is never read.
    public static func problemReading(_ path: String) -> String? {
        guard !path.isEmpty else { return "the path is empty" }
        var info = stat()
        guard stat(path, &info) == 0 else {
            switch errno {
            case ENOENT: return "no such file or folder"
            case EACCES: return "permission denied (a folder on the way cannot be searched)"
            case ENOTDIR: return "a part of the path is a file, not a folder"
            case ENAMETOOLONG: return "the path is too long"
            default: return String(cString: strerror(errno))
            }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return "is a folder, not a file"
        case S_IFCHR, S_IFBLK: return "is a device, not a regular file"
        case S_IFIFO: return "is a pipe (FIFO), not a regular file"
        case S_IFSOCK: return "is a socket, not a regular file"
        default: return "is not a regular file"
        }
        guard access(path, R_OK) == 0 else { return "permission denied (the file is not readable)" }
        return nil
    }

    /// The contents of the regular file at `path` (memory-mapped when that is safe).
    /// - Throws: ``FileAccessError`` saying what the path is when it is not a readable file.
    public static func read(_ path: String) throws(FileAccessError) -> Data {
        if let problem = problemReading(path) { throw FileAccessError(path: path, reason: problem) }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw FileAccessError(path: path, reason: plainReason(error))
        }
    }

    /// Everything on standard input (for `-` as a file name).
    public static func readStandardInput() -> Data {
        FileHandle.standardInput.readDataToEndOfFile()
    }

    /// Why `directory` cannot receive files, or nil when it can: it is created if missing,
    /// then a probe file is created and removed in it.
    public static func problemWriting(intoDirectory directory: URL) -> String? {
        let path = directory.path
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { return "exists and is not a folder" }
        } else {
            do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                return "cannot create the folder (\(plainReason(error)))"
            }
        }
        let probe = directory.appendingPathComponent(".attend-write-probe-\(getpid())").path
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { return "the folder is not writable (\(String(cString: strerror(errno))))" }
        close(fd)
        unlink(probe)
        return nil
    }

    /// Writes `data` to `url` atomically: a hidden temporary file beside it (registered so that
    /// ``removeTemporaryFiles()`` can delete it on a signal), flushed to disk, then renamed over
    /// the target. A crash or kill at any point leaves either the old file or the new one,
    /// never half a file; a failure removes the temporary file.
    public static func writeAtomically(_ data: Data, to url: URL) throws(FileAccessError) {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(temporaryName(for: url.lastPathComponent)).path
        TemporaryFiles.shared.insert(temporary)
        defer { TemporaryFiles.shared.remove(temporary) }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw FileAccessError(path: url.path, reason: writeReason(errno, folder: folder)) }
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 { if errno == EINTR { continue }; failure = errno; return }
                offset += written
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0, rename(temporary, url.path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw FileAccessError(path: url.path, reason: String(cString: strerror(failure)))
        }
        // Make the rename itself durable.
        let folderFD = open(folder.path, O_RDONLY)
        if folderFD >= 0 { fsync(folderFD); close(folderFD) }
    }

    /// The hidden temporary name used while writing `name`: `.NAME.attend-tmp-PID-N`.
    static func temporaryName(for name: String) -> String {
        ".\(name)\(temporaryMarker)\(getpid())-\(TemporaryFiles.shared.nextSerial())"
    }

    static let temporaryMarker = ".attend-tmp-"

    /// Whether `fileName` is a temporary file left by an atomic write of one of `names`
    /// (ours, or Foundation's `.NAME.nosync…` from earlier versions).
    public static func isStaleTemporary(_ fileName: String, of names: [String]) -> Bool {
        names.contains { name in
            fileName.hasPrefix(".\(name)\(temporaryMarker)") || fileName.hasPrefix(".\(name).nosync")
                || fileName.hasPrefix("._\(name).nosync")
        }
    }

    /// Removes the temporary files of atomic writes still in progress in this process. Called
    /// from signal handlers before exiting, so an interrupted write leaves nothing behind.
    public static func removeTemporaryFiles() {
        for path in TemporaryFiles.shared.all() { unlink(path) }
    }

    /// A plain-words reason for a Foundation file error.
    public static func plainReason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or folder"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: return "the file system is read-only"
        default: return ns.localizedDescription
        }
    }

    private static func writeReason(_ code: Int32, folder: URL) -> String {
        switch code {
        case ENOENT: return "the folder \(terminalSafe(folder.path)) does not exist"
        case EACCES, EPERM: return "permission denied (the folder is not writable)"
        case ENOSPC: return "no space left on the device"
        case EROFS: return "the file system is read-only"
        default: return String(cString: strerror(code))
        }
    }
}

/// The temporary files of atomic writes in progress, for removal on a signal.
final class TemporaryFiles: @unchecked Sendable {
    static let shared = TemporaryFiles()
    private let lock = NSLock()
    private var paths = Set<String>()
    private var serial = 0

    func insert(_ path: String) { lock.lock(); paths.insert(path); lock.unlock() }
    func remove(_ path: String) { lock.lock(); paths.remove(path); lock.unlock() }
    func all() -> [String] { lock.lock(); defer { lock.unlock() }; return Array(paths) }
    func nextSerial() -> Int { lock.lock(); defer { lock.unlock() }; serial += 1; return serial }
}

/// `text` made safe to print on a terminal: control characters (C0, DEL, C1, and the
/// bidirectional overrides that reorder what is shown) become `\u{…}` escapes, and a text
/// longer than `limit` characters is cut, saying how much was left out. Applied to every name
/// and path that comes from a file before it reaches a message, so a tensor name cannot clear
/// the screen or print megabytes. Idempotent.
public func terminalSafe(_ text: String, limit: Int = 160) -> String {
    // Texts up to `limit + 24` characters are shown whole, so a cut text (limit characters and
    // a short "…(N more)") is never cut again: the function is idempotent.
    let scalarCount = text.unicodeScalars.count
    let keep = scalarCount > limit + 24 ? limit : scalarCount
    var out = ""
    for scalar in text.unicodeScalars.prefix(keep) {
        let v = scalar.value
        let isControl = v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v)
            || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F
        if isControl { out += "\\u{\(String(v, radix: 16, uppercase: true))}" } else { out.unicodeScalars.append(scalar) }
    }
    return keep < scalarCount ? out + "…(\(scalarCount - keep) more)" : out
}

/// FNV-1a, 64-bit: `h ← (h ⊕ byte) · 1099511628211` from the offset basis 14695981039346656037.
/// A fast fingerprint for detecting damaged files (not a cryptographic hash).
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func update<C: Sequence>(_ bytes: C) where C.Element == UInt8 {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = h
    }

    public mutating func update(_ raw: UnsafeRawBufferPointer) {
        var h = value
        for b in raw { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = h
    }

    /// Sixteen lower-case hexadecimal digits.
    public var hexDigest: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
