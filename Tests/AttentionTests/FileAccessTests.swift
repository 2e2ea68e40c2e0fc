import Attention
import Foundation
import Testing

/// Plain-words file errors, atomic writes that leave nothing behind, terminal-safe names.
@Suite struct FileAccessTests {
    @Test func problemsAreNamedInPlainWords() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("attend-fileaccess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("pipe").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let file = folder.appendingPathComponent("file.txt")
        try Data("x".utf8).write(to: file)
        #expect(FileAccess.problemReading(folder.path) == "is a folder, not a file")
        #expect(FileAccess.problemReading("/dev/null") == "is a device, not a regular file")
        #expect(FileAccess.problemReading(fifo) == "is a pipe (FIFO), not a regular file")
        #expect(FileAccess.problemReading(folder.appendingPathComponent("missing").path) == "no such file or folder")
        #expect(FileAccess.problemReading(file.appendingPathComponent("below").path) == "a part of the path is a file, not a folder")
        #expect(FileAccess.problemReading(file.path) == nil)
        #expect(throws: FileAccessError.self) { try FileAccess.read(fifo) }   // and does not block
        #expect(FileAccess.problemWriting(intoDirectory: file) == "exists and is not a folder")
        #expect(FileAccess.problemWriting(intoDirectory: folder.appendingPathComponent("new/deeper")) == nil)
    }

    @Test func atomicWriteReplacesAndLeavesNoTemporaryFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("attend-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("out.bin")
        try FileAccess.writeAtomically(Data([1, 2, 3]), to: target)
        try FileAccess.writeAtomically(Data([4, 5]), to: target)
        #expect(try Data(contentsOf: target) == Data([4, 5]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.bin"])
        // Into a folder that does not exist: an error that says so, and nothing written.
        #expect(throws: FileAccessError.self) { try FileAccess.writeAtomically(Data([1]), to: folder.appendingPathComponent("no/out.bin")) }
        #expect(FileAccess.isStaleTemporary(".out.bin.attend-tmp-123-4", of: ["out.bin"]))
        #expect(FileAccess.isStaleTemporary(".out.bin.nosyncAbC", of: ["out.bin"]))
        #expect(!FileAccess.isStaleTemporary("out.bin", of: ["out.bin"]))
    }

    @Test func namesFromFilesAreSafeOnATerminal() {
        #expect(terminalSafe("blocks.0\u{1B}]0;pwned\u{07}\u{1B}[2J") == "blocks.0\\u{1B}]0;pwned\\u{7}\\u{1B}[2J")
        #expect(terminalSafe("a\u{202E}b\u{9B}c") == "a\\u{202E}b\\u{9B}c")
        let huge = String(repeating: "x", count: 5_000_000)
        let shown = terminalSafe(huge)
        #expect(shown.count < 200 && shown.hasSuffix("…(4999840 more)"), "\(shown.suffix(30))")
        #expect(terminalSafe(shown) == shown, "terminalSafe must be idempotent")
        #expect(terminalSafe("Москва 😀 ok") == "Москва 😀 ok")
    }

    /// FNV-1a 64 known answers (the published test vectors).
    @Test func fnvKnownAnswers() {
        var empty = FNV1a64()
        empty.update([UInt8]())
        #expect(empty.hexDigest == "cbf29ce484222325")
        var a = FNV1a64()
        a.update(Array("a".utf8))
        #expect(a.hexDigest == "af63dc4c8601ec8c")
        var foobar = FNV1a64()
        foobar.update(Array("foobar".utf8))
        #expect(foobar.hexDigest == "85944171f73967e8")
    }
}
