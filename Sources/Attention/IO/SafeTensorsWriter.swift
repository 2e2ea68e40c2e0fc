import Foundation

/// Writes tensors as a safetensors file that Python's `safetensors` package opens.
///
/// The header lists tensors in the order given, with contiguous data offsets, and is padded
/// with spaces to a multiple of 8 bytes so the data section is aligned. The file is written
/// to a temporary file beside the destination and renamed over it, so a crash mid-write
/// leaves the previous file intact.
public enum SafeTensorsWriter {
    /// How tensors are stored on disk.
    public enum Storage: Sendable {
        /// F32: exact.
        case float32
        /// F16: half the size; values round to nearest binary16 and widen back exactly on load.
        case float16

        var dtype: SafeTensorsDType { self == .float32 ? .float32 : .float16 }
    }

    /// Encodes the tensors and metadata as safetensors bytes.
    ///
    /// Unless `digest` is false, the metadata gains ``SafeTensorsDigest/metadataKey``: a
    /// fingerprint of the tensor table, the other metadata and the data, which
    /// ``SafeTensorsFile`` verifies on load (files without it, from elsewhere, still load).
    ///
    /// - Precondition: tensor names are unique and none is `__metadata__`.
    public static func encode(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], storage: Storage = .float32,
        digest: Bool = true
    ) -> Data {
        var entries: [SafeTensorsEntry] = []
        var offset = 0
        var names = Set<String>()
        for item in tensors {
            checkPrecondition(item.name != "__metadata__" && names.insert(item.name).inserted,
                              "SafeTensorsWriter.encode: duplicate or reserved tensor name '\(item.name)'")
            let byteCount = item.tensor.count * storage.dtype.byteSize
            entries.append(SafeTensorsEntry(name: item.name, dtype: storage.dtype, shape: item.tensor.shape,
                                            byteRange: offset..<(offset + byteCount)))
            offset += byteCount
        }
        var body = Data(capacity: offset)
        for item in tensors {
            switch storage {
            case .float32:
                let littleEndian = item.tensor.scalars.map { $0.bitPattern.littleEndian }
                littleEndian.withUnsafeBytes { body.append(contentsOf: $0) }
            case .float16:
                let halves = item.tensor.scalars.map { halfBitsFromFloat($0).littleEndian }
                halves.withUnsafeBytes { body.append(contentsOf: $0) }
            }
        }
        var metadata = metadata
        metadata[SafeTensorsDigest.metadataKey] = nil
        if digest {
            metadata[SafeTensorsDigest.metadataKey] = body.withUnsafeBytes {
                SafeTensorsDigest.compute(entries: entries, metadata: metadata, data: $0)
            }
        }

        var header = "{"
        for (index, entry) in entries.enumerated() {
            if index > 0 { header += "," }
            header += "\(jsonStringLiteral(entry.name)):{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":\(entry.shape),"
                + "\"data_offsets\":[\(entry.byteRange.lowerBound),\(entry.byteRange.upperBound)]}"
        }
        if !metadata.isEmpty {
            if !tensors.isEmpty { header += "," }
            header += "\"__metadata__\":{"
            header += metadata.sorted(by: { $0.key < $1.key })
                .map { "\(jsonStringLiteral($0.key)):\(jsonStringLiteral($0.value))" }.joined(separator: ",")
            header += "}"
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var data = Data(capacity: 8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        data.append(body)
        return data
    }

    /// Writes the tensors and metadata to `url` atomically (temporary file, then rename; see
    /// ``FileAccess/writeAtomically(_:to:)``), with the digest ``encode(_:metadata:storage:digest:)`` adds.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
        storage: Storage = .float32, to url: URL
    ) throws(SafeTensorsError) {
        let data = encode(tensors, metadata: metadata, storage: storage)
        do {
            try FileAccess.writeAtomically(data, to: url)
        } catch {
            throw .unwritable(path: url.path, reason: error.reason)
        }
    }
}
