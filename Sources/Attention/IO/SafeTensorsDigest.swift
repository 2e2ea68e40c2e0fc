/// The integrity fingerprint that files written by ``SafeTensorsWriter`` carry in their
/// metadata, and that ``SafeTensorsFile`` verifies when present.
///
/// `digest = "fnv1a64:" + hex(FNV-1a 64 of T ‖ M ‖ 0xFF ‖ data)` where `T` lists every tensor
/// entry in data order (`name 0 dtype 0 shape 0 begin 0 end 0`), `M` every other metadata
/// pair in key order (`key 0 value 0`), and `data` is the whole data section. So a flipped bit
/// anywhere in the weights, the tensor table or the metadata (a configuration, a training
/// state) is found on load instead of giving a silently different model. Files from elsewhere
/// have no digest and are still read (their every range is validated all the same).
public enum SafeTensorsDigest {
    /// The metadata key holding the digest.
    public static let metadataKey = "swift-attention.digest"
    static let prefix = "fnv1a64:"

    /// The digest string for this content (the metadata without ``metadataKey``).
    public static func compute(entries: [SafeTensorsEntry], metadata: [String: String], data: UnsafeRawBufferPointer) -> String {
        var hash = FNV1a64()
        for entry in entries {
            hash.update(Array(entry.name.utf8) + [0] + Array(entry.dtype.rawValue.utf8) + [0])
            hash.update(Array(entry.shape.map(String.init).joined(separator: ",").utf8) + [0])
            hash.update(Array("\(entry.byteRange.lowerBound)".utf8) + [0] + Array("\(entry.byteRange.upperBound)".utf8) + [0])
        }
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != metadataKey {
            hash.update(Array(key.utf8) + [0] + Array(value.utf8) + [0])
        }
        hash.update([0xFF])
        hash.update(data)
        return prefix + hash.hexDigest
    }
}
