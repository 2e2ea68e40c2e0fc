import Foundation

/// The element types of a safetensors file. F32, F16 and BF16 are read (widened to `Float`);
/// the integer, boolean and F64 types are validated like any entry, so a file that carries them
/// beside its weights opens (Hugging Face BERT checkpoints hold an I64 `position_ids` buffer),
/// but `tensor(named:)` on such an entry throws ``SafeTensorsError/unsupportedDType(name:dtype:)``.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// IEEE 754 binary32.
    case float32 = "F32"
    /// IEEE 754 binary16 (1 sign, 5 exponent, 10 fraction bits).
    case float16 = "F16"
    /// bfloat16: the top 16 bits of a binary32.
    case bfloat16 = "BF16"
    /// Validated but not readable as `Float` (see the type's documentation).
    case float64 = "F64", int64 = "I64", int32 = "I32", int16 = "I16", int8 = "I8"
    case uint64 = "U64", uint32 = "U32", uint16 = "U16", uint8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// Whether `tensor(named:)` can read this type (F32, F16, BF16).
    public var isReadable: Bool { self == .float32 || self == .float16 || self == .bfloat16 }
}

/// One tensor's description in a safetensors header.
public struct SafeTensorsEntry: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// The tensor's bytes, relative to the start of the data section.
    public var byteRange: Range<Int>
}

/// A parsed, fully validated safetensors file.
///
/// The format (<https://github.com/huggingface/safetensors>) is
///
/// ```
/// [8 bytes: header length n, little-endian UInt64]
/// [n bytes: UTF-8 JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
///                       "__metadata__": {"key": "value"}}]
/// [data section: the raw little-endian tensors, at the offsets above]
/// ```
///
/// Everything is checked before any tensor is read: the header length lies inside the file and
/// under ``maximumHeaderLength``, every entry has a supported dtype and a non-negative shape,
/// every byte range lies inside the data section and spans exactly `dtype size × element count`,
/// no two ranges overlap, and together they cover the data section with no gap. When the
/// metadata carries a ``SafeTensorsDigest`` (every file this package writes does), the digest
/// of the tensor table, metadata and data must match it.
///
/// ```swift
/// let file = try SafeTensorsFile(contentsOf: url)
/// let weight = try file.tensor(named: "encoder.layer.0.attention.self.query.weight")
/// ```
public struct SafeTensorsFile: Sendable {
    /// The largest header accepted (the reference implementation's limit).
    public static let maximumHeaderLength = 100_000_000

    /// The `__metadata__` strings (empty when absent).
    public let metadata: [String: String]
    /// Every tensor's description, in data-offset order.
    public let entries: [SafeTensorsEntry]
    private let entryIndex: [String: Int]
    private let bytes: Data
    private let dataStart: Int

    /// The tensor names, in data-offset order.
    public var tensorNames: [String] { entries.map(\.name) }

    /// Reads and validates the file at `url`.
    public init(contentsOf url: URL) throws(SafeTensorsError) {
        let data: Data
        do {
            data = try FileAccess.read(url.path)
        } catch {
            throw .unreadable(path: url.path, reason: error.reason)
        }
        try self.init(data: data)
    }

    /// Parses and validates a safetensors file held in memory.
    public init(data: Data) throws(SafeTensorsError) {
        let bytes = Data(data)  // rebase so indices start at 0
        guard bytes.count >= 8 else { throw .tooShort(byteCount: bytes.count) }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(Self.maximumHeaderLength), Int(headerLength) <= bytes.count - 8 else {
            throw .headerLengthOutOfRange(headerLength: headerLength, fileSize: bytes.count)
        }
        let dataStart = 8 + Int(headerLength)
        let header = try Self.parseHeader(bytes[8..<dataStart])
        let dataSize = bytes.count - dataStart

        var metadata: [String: String] = [:]
        var entries: [SafeTensorsEntry] = []
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = try Self.parseMetadata(value)
            } else {
                entries.append(try Self.parseEntry(name: name, value: value, dataSize: dataSize))
            }
        }
        entries.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name) }
        var covered = 0
        for (index, entry) in entries.enumerated() {
            if entry.byteRange.lowerBound < covered {
                throw .overlappingTensors(first: entries[index - 1].name, second: entry.name)
            }
            if entry.byteRange.lowerBound > covered {
                throw .uncoveredData(offset: covered, byteCount: entry.byteRange.lowerBound - covered)
            }
            covered = entry.byteRange.upperBound
        }
        if covered != dataSize { throw .uncoveredData(offset: covered, byteCount: dataSize - covered) }
        if let recorded = metadata[SafeTensorsDigest.metadataKey] {
            let actual = bytes.withUnsafeBytes {
                SafeTensorsDigest.compute(entries: entries, metadata: metadata, data: UnsafeRawBufferPointer(rebasing: $0[dataStart...]))
            }
            guard actual == recorded else { throw .digestMismatch(recorded: recorded, actual: actual) }
        }

        self.metadata = metadata
        self.entries = entries
        self.entryIndex = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
        self.bytes = bytes
        self.dataStart = dataStart
    }

    /// The description of tensor `name`, or `nil` when the file has no such tensor.
    public func entry(named name: String) -> SafeTensorsEntry? {
        entryIndex[name].map { entries[$0] }
    }

    /// Loads tensor `name`, widening F16 and BF16 to `Float`.
    public func tensor(named name: String) throws(SafeTensorsError) -> Tensor {
        guard let entry = entry(named: name) else { throw .missingTensor(name: name) }
        guard entry.dtype.isReadable else { throw .unsupportedDType(name: name, dtype: entry.dtype.rawValue) }
        let count = entry.shape.reduce(1, *)
        let start = dataStart + entry.byteRange.lowerBound
        let scalars = bytes.withUnsafeBytes { raw -> [Float] in
            let source = UnsafeRawBufferPointer(rebasing: raw[start..<(start + entry.byteRange.count)])
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                switch entry.dtype {
                case .float32:
                    for i in 0..<count {
                        buffer[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                case .float16:
                    for i in 0..<count {
                        buffer[i] = floatFromHalfBits(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                case .bfloat16:
                    for i in 0..<count {
                        let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        buffer[i] = Float(bitPattern: UInt32(bits) << 16)
                    }
                default:
                    fatalError("SafeTensorsFile: dtype \(entry.dtype) reached the conversion though it was checked above")
                }
                initialized = count
            }
        }
        return Tensor(shape: entry.shape, scalars: scalars)
    }

    /// Loads tensor `name` and checks that its shape is `shape`.
    public func tensor(named name: String, shape: [Int]) throws(SafeTensorsError) -> Tensor {
        let tensor = try tensor(named: name)
        guard tensor.shape == shape else { throw .shapeMismatch(name: name, expected: shape, actual: tensor.shape) }
        return tensor
    }

    // MARK: - Header parsing

    private static func parseHeader(_ slice: Data) throws(SafeTensorsError) -> [String: Any] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(slice), options: [])
        } catch {
            throw .headerNotJSON(reason: "not valid UTF-8 JSON (\(error.localizedDescription))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw .headerNotJSON(reason: "the header is JSON but not an object")
        }
        return dictionary
    }

    private static func parseMetadata(_ value: Any) throws(SafeTensorsError) -> [String: String] {
        guard let dictionary = value as? [String: Any] else { throw .invalidMetadata(reason: "is not an object") }
        var metadata: [String: String] = [:]
        for (key, value) in dictionary {
            guard let string = value as? String else {
                throw .invalidMetadata(reason: "value for '\(terminalSafe(key))' is not a string")
            }
            metadata[key] = string
        }
        return metadata
    }

    private static func parseEntry(name: String, value: Any, dataSize: Int) throws(SafeTensorsError) -> SafeTensorsEntry {
        guard let fields = value as? [String: Any] else { throw .invalidEntry(name: name, reason: "is not an object") }
        guard let dtypeName = fields["dtype"] as? String else {
            throw .invalidEntry(name: name, reason: "has no string 'dtype'")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw .unsupportedDType(name: name, dtype: dtypeName)
        }
        guard let shapeValues = fields["shape"] as? [Any] else {
            throw .invalidEntry(name: name, reason: "has no 'shape' array")
        }
        let shape = try shapeValues.map { v throws(SafeTensorsError) -> Int in
            guard let extent = exactInteger(v) else {
                throw .invalidEntry(name: name, reason: "has a shape entry that is not a non-negative integer")
            }
            return extent
        }
        guard let offsets = fields["data_offsets"] as? [Any], offsets.count == 2,
              let begin = exactInteger(offsets[0]), let end = exactInteger(offsets[1]) else {
            throw .invalidEntry(name: name, reason: "has no 'data_offsets' pair of non-negative integers")
        }
        guard begin <= end, end <= dataSize else {
            throw .offsetsOutOfRange(name: name, begin: begin, end: end, dataSize: dataSize)
        }
        // A hostile shape can overflow the byte count; that is a corrupt entry, not a crash.
        var expected = dtype.byteSize
        for extent in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: extent)
            if overflow { throw .invalidEntry(name: name, reason: "has a shape \(shape) too large to address") }
            expected = product
        }
        guard expected == end - begin else {
            throw .byteCountMismatch(name: name, expected: expected, actual: end - begin)
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// A JSON number that is a non-negative integer below 2⁵³ (exactly representable), else `nil`.
    private static func exactInteger(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double >= 0, double < 9_007_199_254_740_992, double.rounded() == double else { return nil }
        return Int(double)
    }
}
