/// The validated description of one attention call, shared by every implementation.
///
/// Dimensions: `B` batch, `Hq` query heads, `Hkv` key/value heads (`Hq % Hkv == 0`; query
/// head `h` reads key/value head `h / (Hq / Hkv)`), `Lq` queries, `Lk` keys, `D` query/key
/// width, `Dv` value width.
package struct AttentionProblem: Sendable {
    package let batch: Int, queryHeads: Int, keyValueHeads: Int
    package let queryLength: Int, keyLength: Int, headDimension: Int, valueDimension: Int
    package let scale: Float
    package let mask: AttentionMask
    /// Per query head ALiBi slopes (`Hq` entries) or nil.
    package let alibiSlopes: [Float]?

    /// How many query heads share one key/value head.
    package var groupSize: Int { queryHeads / keyValueHeads }
    /// Offset that aligns query `i` with key position `i + causalOffset` (bottom-right).
    package var causalOffset: Int { keyLength - queryLength }

    /// Validates shapes and the mask at the public boundary; a mismatch stops with a message
    /// naming the argument and both shapes.
    package init(
        function: String, queries: [Int], keys: [Int], values: [Int]?,
        scale: Float?, mask: AttentionMask, alibiSlopes: [Float]?
    ) {
        checkPrecondition(queries.count == 4, "\(function): queries must be [B, Hq, Lq, D], got shape \(queries)")
        checkPrecondition(keys.count == 4, "\(function): keys must be [B, Hkv, Lk, D], got shape \(keys)")
        let (b, hq, lq, d) = (queries[0], queries[1], queries[2], queries[3])
        let (hkv, lk) = (keys[1], keys[2])
        checkPrecondition(
            keys[0] == b, "\(function): keys batch \(keys[0]) differs from queries batch \(b) (keys \(keys), queries \(queries))")
        checkPrecondition(
            keys[3] == d, "\(function): keys width \(keys[3]) differs from queries width \(d) (keys \(keys), queries \(queries))")
        checkPrecondition(hkv > 0 && hq % hkv == 0,
            "\(function): query heads \(hq) must be a multiple of key heads \(hkv) (queries \(queries), keys \(keys))")
        var dv = d
        if let values {
            checkPrecondition(values.count == 4, "\(function): values must be [B, Hkv, Lk, Dv], got shape \(values)")
            checkPrecondition(values[0] == b && values[1] == hkv && values[2] == lk,
                "\(function): values shape \(values) does not match keys shape \(keys) in [B, Hkv, Lk]")
            dv = values[3]
        }
        let full = [b, hq, lq, lk]
        if let w = mask.window {
            checkPrecondition(w >= 1, "\(function): a sliding window needs a window ≥ 1, got \(w)")
        }
        if let lengths = mask.keyLengths {
            checkPrecondition(lengths.count == b, "\(function): keyPadding has \(lengths.count) lengths for batch \(b) (queries \(queries))")
            for (row, n) in lengths.enumerated() {
                checkPrecondition(n >= 0 && n <= lk, "\(function): keyPadding length \(n) for batch row \(row) is outside 0...\(lk) (keys \(keys))")
            }
        }
        if let t = mask.element?.tensor {
            checkPrecondition(t.rank <= 4 && Tensor.broadcastShape(t.shape, full) == full,
                "\(function): mask shape \(t.shape) does not broadcast to scores shape \(full) [B, Hq, Lq, Lk]")
        }
        if let alibiSlopes {
            checkPrecondition(alibiSlopes.count == hq, "\(function): alibiSlopes has \(alibiSlopes.count) entries for \(hq) query heads")
        }
        self.batch = b; self.queryHeads = hq; self.keyValueHeads = hkv
        self.queryLength = lq; self.keyLength = lk; self.headDimension = d; self.valueDimension = dv
        self.scale = scale ?? 1 / Float(d).squareRoot()
        self.mask = mask
        self.alibiSlopes = alibiSlopes
    }

    /// The range of keys query `i` may attend by position alone (causal / sliding window / padding);
    /// element masks (`.boolean`, `.additive`) are applied on top. See ``AttentionMask/keyRange(batch:query:queries:keys:)``.
    package func keyRange(batch b: Int, query i: Int) -> Range<Int> {
        mask.keyRange(batch: b, query: i, queries: queryLength, keys: keyLength)
    }

    /// Strides (elements) to read a `.boolean`/`.additive` tensor as `[B, Hq, Lq, Lk]`.
    package static func maskStrides(_ t: Tensor, batch: Int, heads: Int, queries: Int, keys: Int) -> [Int] {
        Tensor.broadcastStrides(t.shape, to: [batch, heads, queries, keys])
    }
}

/// ALiBi slopes for `heads` heads (Press et al.): a geometric sequence starting at
/// `2^(−8/n)` for the nearest power of two `n ≥ heads`, interleaved for other head counts.
/// The bias added to score `(i, j)` is `−slope · |i + (Lk − Lq) − j|`.
public func alibiSlopes(heads: Int) -> [Float] {
    func powerOfTwoSlopes(_ n: Int) -> [Float] {
        let start = Float.pow2(-8.0 / Float(n))
        return (0..<n).map { Float.powi(start, $0 + 1) }
    }
    var p = 1
    while p * 2 <= heads { p *= 2 }
    if p == heads { return powerOfTwoSlopes(heads) }
    let extra = powerOfTwoSlopes(2 * p)
    return powerOfTwoSlopes(p) + stride(from: 0, to: 2 * p, by: 2).map { extra[$0] }.prefix(heads - p)
}

extension Float {
    static func pow2(_ x: Float) -> Float { Float(_exp2(Double(x))) }
    static func powi(_ x: Float, _ n: Int) -> Float { var r: Float = 1; for _ in 0..<n { r *= x }; return r }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func _exp2(_ x: Double) -> Double { Glibc.exp2(x) }
#elseif canImport(Musl)
import Musl
@usableFromInline func _exp2(_ x: Double) -> Double { Musl.exp2(x) }
#else
import Darwin
@usableFromInline func _exp2(_ x: Double) -> Double { Darwin.exp2(x) }
#endif
