import Foundation

/// Text from outside (an argument, a file, standard input) as raw bytes, checked before any
/// model sees it: never empty, valid UTF-8 unless the caller allows otherwise.
public enum TextInput {
    /// The raw bytes of a command-line argument. Swift's `CommandLine.arguments` repairs
    /// invalid UTF-8 (each bad byte becomes U+FFFD), which would hide exactly the bytes we
    /// want to show; so find the `argv` entry whose repaired form equals `argument` and take
    /// its bytes. Falls back to the argument's UTF-8.
    public static func rawBytes(ofArgument argument: String) -> [UInt8] {
        let argv = CommandLine.unsafeArgv
        for index in 0..<Int(CommandLine.argc) {
            guard let pointer = argv[index] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                                                  count: strlen(pointer)))
            if String(decoding: bytes, as: UTF8.self) == argument { return bytes }
        }
        return Array(argument.utf8)
    }

    /// Reads a file (`-` for standard input).
    public static func read(path: String) throws -> [UInt8] {
        if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "\(error.localizedDescription)" : "no such file"
            throw VizError.unreadableInput(path: path, reason: reason)
        }
    }

    /// Checks `bytes`: throws ``VizError/emptyText`` when there is nothing but whitespace and
    /// ``VizError/invalidUTF8`` (with the bytes shown as escapes) unless `allowInvalidUTF8`.
    /// A trailing newline (from a file or `echo`) is dropped.
    public static func validated(_ bytes: [UInt8], allowInvalidUTF8: Bool) throws -> [UInt8] {
        var bytes = bytes
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        guard bytes.contains(where: { !isWhitespace($0) }) else { throw VizError.emptyText }
        if !allowInvalidUTF8, let offset = TextSegmentation.firstInvalidUTF8Offset(bytes) {
            let shown = TextSegmentation.label(bytes.prefix(120)) + (bytes.count > 120 ? "…" : "")
            throw VizError.invalidUTF8(byteOffset: offset, escaped: shown)
        }
        return bytes
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// The first few labels of `tokens` joined for a message: `"on" "the" "mat" … (12 tokens)`.
    public static func preview(_ tokens: some Collection<String>) -> String {
        let shown = tokens.prefix(8).map { "\"\($0)\"" }.joined(separator: " ")
        return tokens.count > 8 ? "\(shown) … (\(tokens.count) tokens)" : shown
    }
}
