import Foundation

/// Why a safetensors file could not be read or written.
///
/// Every case names the file's problem in words a user can act on; nothing read from a file
/// is trusted before it has been checked, so a damaged file is one of these errors, never a
/// crash or an out-of-bounds read.
public enum SafeTensorsError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The file could not be written (the previous file, if any, is untouched).
    case unwritable(path: String, reason: String)
    /// Fewer than the 8 bytes of the header-length prefix.
    case tooShort(byteCount: Int)
    /// The header-length prefix points past the end of the file, or beyond the 100 MB limit.
    case headerLengthOutOfRange(headerLength: UInt64, fileSize: Int)
    /// The header is not a JSON object (or not UTF-8).
    case headerNotJSON(reason: String)
    /// `__metadata__` is present but not an object of string values.
    case invalidMetadata(reason: String)
    /// A tensor entry lacks a field or has a malformed one.
    case invalidEntry(name: String, reason: String)
    /// A dtype the format does not define, or (from `tensor(named:)`) one that is not F32, F16 or BF16.
    case unsupportedDType(name: String, dtype: String)
    /// `data_offsets` lie outside the data section, or are reversed.
    case offsetsOutOfRange(name: String, begin: Int, end: Int, dataSize: Int)
    /// The byte range's length differs from `dtype size × shape`.
    case byteCountMismatch(name: String, expected: Int, actual: Int)
    /// Two tensors share bytes.
    case overlappingTensors(first: String, second: String)
    /// Bytes of the data section that belong to no tensor.
    case uncoveredData(offset: Int, byteCount: Int)
    /// A tensor the caller asked for is not in the file.
    case missingTensor(name: String)
    /// A tensor has a different shape than the caller requires.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// The file's recorded ``SafeTensorsDigest`` differs from its content: it was damaged
    /// after it was written.
    case digestMismatch(recorded: String, actual: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read safetensors file '\(terminalSafe(path))': \(terminalSafe(reason, limit: 400))"
        case let .unwritable(path, reason):
            return "cannot write safetensors file '\(terminalSafe(path))': \(terminalSafe(reason, limit: 400))"
        case let .tooShort(byteCount):
            return "not a safetensors file: \(byteCount) bytes is shorter than the 8-byte header length"
        case let .headerLengthOutOfRange(headerLength, fileSize):
            return "corrupt safetensors file: header length \(headerLength) does not fit in a file of \(fileSize) bytes"
                + " (limit \(SafeTensorsFile.maximumHeaderLength) bytes)"
        case let .headerNotJSON(reason):
            return "corrupt safetensors header: \(terminalSafe(reason, limit: 400))"
        case let .invalidMetadata(reason):
            return "corrupt safetensors header: __metadata__ \(reason)"
        case let .invalidEntry(name, reason):
            return "corrupt safetensors header: tensor '\(terminalSafe(name))' \(reason)"
        case let .unsupportedDType(name, dtype):
            return "tensor '\(terminalSafe(name))' has dtype \(terminalSafe(dtype, limit: 20)); supported dtypes are F32, F16 and BF16"
        case let .offsetsOutOfRange(name, begin, end, dataSize):
            return "corrupt safetensors file: tensor '\(terminalSafe(name))' data_offsets [\(begin), \(end)] lie outside the \(dataSize)-byte data section"
        case let .byteCountMismatch(name, expected, actual):
            return "corrupt safetensors file: tensor '\(terminalSafe(name))' needs \(expected) bytes for its dtype and shape but its data_offsets span \(actual)"
        case let .overlappingTensors(first, second):
            return "corrupt safetensors file: tensors '\(terminalSafe(first))' and '\(terminalSafe(second))' overlap"
        case let .uncoveredData(offset, byteCount):
            return "corrupt safetensors file: \(byteCount) bytes at data offset \(offset) belong to no tensor"
        case let .missingTensor(name):
            return "tensor '\(terminalSafe(name))' is missing from the safetensors file"
        case let .shapeMismatch(name, expected, actual):
            return "tensor '\(terminalSafe(name))' has shape \(actual), expected \(expected)"
        case let .digestMismatch(recorded, actual):
            return "damaged safetensors file: its content digest is \(terminalSafe(actual, limit: 40)) but it was written with \(terminalSafe(recorded, limit: 40)); the file changed after it was saved (a disk or copy error?)"
        }
    }

    public var errorDescription: String? { description }
}
