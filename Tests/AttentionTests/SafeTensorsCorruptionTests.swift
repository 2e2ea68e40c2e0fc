import Attention
import Foundation
import Testing

/// Every damaged file is a thrown `SafeTensorsError` naming the problem, never a crash.
@Suite struct SafeTensorsCorruptionTests {
    static func file(header: String, dataBytes: Int) -> Data {
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(Data(count: dataBytes))
        return data
    }

    static let cases: [(String, Data, SafeTensorsError)] = [
        ("empty file", Data(), .tooShort(byteCount: 0)),
        ("header length past the end", file(header: "{}", dataBytes: 0).replacing8(with: 1_000), .headerLengthOutOfRange(headerLength: 1_000, fileSize: 10)),
        ("header length over 100 MB", file(header: "{}", dataBytes: 0).replacing8(with: UInt64.max), .headerLengthOutOfRange(headerLength: .max, fileSize: 10)),
        ("unknown dtype", file(header: #"{"x":{"dtype":"Q4","shape":[1],"data_offsets":[0,8]}}"#, dataBytes: 8), .unsupportedDType(name: "x", dtype: "Q4")),
        ("offsets past the data", file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 4), .offsetsOutOfRange(name: "x", begin: 0, end: 8, dataSize: 4)),
        ("reversed offsets", file(header: #"{"x":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, dataBytes: 4), .offsetsOutOfRange(name: "x", begin: 4, end: 0, dataSize: 4)),
        ("shape disagrees with bytes", file(header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8), .byteCountMismatch(name: "x", expected: 12, actual: 8)),
        ("huge shape", file(header: #"{"x":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#, dataBytes: 8), .invalidEntry(name: "x", reason: "has a shape [4294967296, 4294967296, 4] too large to address")),
        ("overlap", file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, dataBytes: 8), .overlappingTensors(first: "x", second: "y")),
        ("gap", file(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, dataBytes: 8), .uncoveredData(offset: 0, byteCount: 4)),
        ("trailing bytes", file(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 8), .uncoveredData(offset: 4, byteCount: 4)),
        ("negative extent", file(header: #"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, dataBytes: 4), .invalidEntry(name: "x", reason: "has a shape entry that is not a non-negative integer")),
        ("fractional offset", file(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}"#, dataBytes: 4), .invalidEntry(name: "x", reason: "has no 'data_offsets' pair of non-negative integers")),
        ("missing dtype", file(header: #"{"x":{"shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4), .invalidEntry(name: "x", reason: "has no string 'dtype'")),
        ("metadata not strings", file(header: #"{"__metadata__":{"a":1}}"#, dataBytes: 0), .invalidMetadata(reason: "value for 'a' is not a string")),
        ("header is an array", file(header: "[1,2]", dataBytes: 0), .headerNotJSON(reason: "the header is JSON but not an object")),
    ]

    /// Hugging Face BERT checkpoints carry an I64 `position_ids` buffer beside F32 weights: the
    /// file opens, the weights read, and only reading the integer entry throws.
    @Test func integerEntriesOpenButDoNotRead() throws {
        let header = #"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        var data = Self.file(header: header, dataBytes: 8)
        data.append(contentsOf: [0, 0, 0x80, 0x3F])  // 1.0 as little-endian F32
        let file = try SafeTensorsFile(data: data)
        #expect(try file.tensor(named: "w").scalars == [1])
        #expect(throws: SafeTensorsError.unsupportedDType(name: "ids", dtype: "I64")) { try file.tensor(named: "ids") }
    }

    @Test(arguments: cases.indices)
    func rejectsWithTheRightError(index: Int) {
        let (name, data, expected) = Self.cases[index]
        #expect(throws: expected, "case: \(name)") { try SafeTensorsFile(data: data) }
    }

    @Test func badJSONIsRejected() {
        let data = Self.file(header: #"{"x": {"dtype": "F32", "#, dataBytes: 0)
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(data: data) }
        do { _ = try SafeTensorsFile(data: data) } catch {
            #expect(String(describing: error).contains("corrupt safetensors header"))
        }
    }

    /// Every truncation and many random byte corruptions of a valid file either parse into a
    /// file that still passes validation, or throw; none may crash or read out of bounds.
    @Test func fuzzedFilesNeverCrash() throws {
        var generator = SeededGenerator(seed: 99)
        let valid = SafeTensorsWriter.encode(
            [("a", Tensor.randomNormal([3, 4], generator: &generator)), ("b", Tensor(shape: [2], scalars: [1, 2]))],
            metadata: ["k": "v"], storage: .float16)
        for length in 0..<valid.count {
            #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(data: valid.prefix(length)) }
        }
        var parsed = 0
        for _ in 0..<3_000 {
            var data = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<data.count, using: &generator)
                data[position] = UInt8.random(in: 0...255, using: &generator)
            }
            if let file = try? SafeTensorsFile(data: data) {
                parsed += 1
                for name in file.tensorNames { _ = try file.tensor(named: name) }
            }
        }
        #expect(parsed > 0, "some corruptions only touch tensor data and must still parse")
    }
}

extension Data {
    /// The same bytes with the 8-byte header length replaced.
    fileprivate func replacing8(with value: UInt64) -> Data {
        var copy = self
        for i in 0..<8 { copy[i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        return copy
    }
}
