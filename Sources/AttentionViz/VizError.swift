/// Everything that can go wrong with input from outside (text, files, flags, model folders).
///
/// Each case carries what is needed to tell the user what was wrong and what to type instead;
/// `description` is the message the CLI prints before exiting non-zero.
public enum VizError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text has no tokens (empty or only whitespace).
    case emptyText
    /// The text has more tokens than the model's context; `cut` previews what would be dropped.
    case textTooLong(tokenCount: Int, context: Int, cut: String)
    /// The bytes are not valid UTF-8; `escaped` shows them with invalid bytes as `\xNN`.
    case invalidUTF8(byteOffset: Int, escaped: String)
    /// `--example NAME` named no worked example.
    case unknownExample(name: String, valid: [String])
    /// `--focus TOKEN` matched no token.
    case unknownFocus(token: String, tokens: [String])
    /// `--model DIR` does not exist or is not a folder.
    case modelDirectoryMissing(path: String)
    /// `--model DIR` exists but no adapter in this build can read it, or its files are invalid.
    case unsupportedModel(path: String, detail: String)
    /// `--layer` or `--head` is out of range (both 1-based, as printed).
    case indexOutOfRange(name: String, value: Int, count: Int)
    /// `--out` has an extension the view cannot write.
    case unknownOutputExtension(path: String)
    /// Writing a file failed (folder missing, permission denied, ...).
    case unwritableOutput(path: String, reason: String)
    /// Reading `--file` failed.
    case unreadableInput(path: String, reason: String)

    public var description: String {
        switch self {
        case .emptyText:
            return "the text is empty: give a sentence, e.g. attend explain \"The cat sat on the mat\""
        case let .textTooLong(count, context, cut):
            return "the text has \(count) tokens but the model's context is \(context): tokens \(context + 1)–\(count) "
                + "(\(cut)) would be cut. Shorten the text or pass --truncate to keep the first \(context)."
        case let .invalidUTF8(offset, escaped):
            return "the text is not valid UTF-8 (first bad byte at offset \(offset)): \"\(escaped)\". "
                + "Pass --allow-invalid-utf8 to show each invalid byte as its own \\xNN token."
        case let .unknownExample(name, valid):
            return "no worked example named '\(name)'. Valid names: \(valid.joined(separator: ", ")) (see --list-examples)."
        case let .unknownFocus(token, tokens):
            return "no token '\(token)' to focus on. Tokens: \(tokens.joined(separator: " | ")) "
                + "(use WORD#2 for the second occurrence, or #INDEX from 1)."
        case let .modelDirectoryMissing(path):
            return "model directory not found: \(path)"
        case let .unsupportedModel(path, detail):
            return "cannot use the model at \(path): \(detail)"
        case let .indexOutOfRange(name, value, count):
            return "--\(name) \(value) is out of range: the model has \(count) \(name)s, numbered 1–\(count)."
        case let .unknownOutputExtension(path):
            return "cannot tell what to write for '\(path)': use a name ending in .html (interactive view) or .svg (one heatmap)."
        case let .unwritableOutput(path, reason):
            return "cannot write '\(path)': \(reason)"
        case let .unreadableInput(path, reason):
            return "cannot read '\(path)': \(reason)"
        }
    }
}
