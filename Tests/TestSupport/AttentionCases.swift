import Attention

/// One attention test/benchmark case, described once (shapes, mask, ALiBi) and used by the
/// forward, backward and property tests. Sizes are deliberately awkward: not multiples of the
/// kernel tiles, `Lq ≠ Lk` both ways, `D ≠ Dv`, grouped and multi-query heads.
public struct AttentionCase: Sendable, CustomStringConvertible {
    /// The masks, spelled independently of `AttentionMask` so the Float64 side never reuses it.
    public enum MaskKind: Sendable {
        case none, causal, slidingWindow(Int), keyPadding([Int])
        /// A random boolean mask of this (broadcastable) shape; ~30% of pairs forbidden.
        case boolean([Int])
        /// A random additive mask of this shape (unit normal, ~15% `-inf`).
        case additive([Int])
        /// Every listed rule at once (at most one boolean/additive among them).
        case all([MaskKind])

        /// The rules this kind applies, flattened.
        var parts: [MaskKind] {
            if case .all(let list) = self { return list.flatMap(\.parts) }
            return [self]
        }
    }

    public var name: String
    public var batch: Int, queryHeads: Int, keyValueHeads: Int
    public var queryLength: Int, keyLength: Int, headDimension: Int, valueDimension: Int
    public var mask: MaskKind = .none
    public var alibi = false
    public var scale: Float? = nil

    public init(_ name: String, b: Int, hq: Int, hkv: Int, lq: Int, lk: Int, d: Int, dv: Int,
                mask: MaskKind = .none, alibi: Bool = false, scale: Float? = nil) {
        self.name = name
        (batch, queryHeads, keyValueHeads) = (b, hq, hkv)
        (queryLength, keyLength, headDimension, valueDimension) = (lq, lk, d, dv)
        self.mask = mask; self.alibi = alibi; self.scale = scale
    }

    public var description: String {
        "\(name) [B=\(batch) Hq=\(queryHeads) Hkv=\(keyValueHeads) Lq=\(queryLength) Lk=\(keyLength) D=\(headDimension) Dv=\(valueDimension)]"
    }

    /// Unit-normal queries `[B, Hq, Lq, D]`, keys `[B, Hkv, Lk, D]`, values `[B, Hkv, Lk, Dv]`.
    public func inputs(seed: UInt64 = 1) -> (queries: Tensor, keys: Tensor, values: Tensor) {
        var g = SeededGenerator(seed: seed)
        let q = Tensor.randomNormal([batch, queryHeads, queryLength, headDimension], generator: &g)
        let k = Tensor.randomNormal([batch, keyValueHeads, keyLength, headDimension], generator: &g)
        let v = Tensor.randomNormal([batch, keyValueHeads, keyLength, valueDimension], generator: &g)
        return (q, k, v)
    }

    /// The element-mask tensor, if any (deterministic from the case).
    public var maskTensor: Tensor? {
        var g = SeededGenerator(seed: 99)
        let elements = mask.parts.filter { if case .boolean = $0 { return true }; if case .additive = $0 { return true }; return false }
        switch elements.first {
        case .boolean(let shape):
            let u = Tensor.randomUniform(shape, generator: &g)
            return Tensor(shape: shape, scalars: u.scalars.map { $0 < 0.3 ? 0 : 1 })
        case .additive(let shape):
            let n = Tensor.randomNormal(shape, generator: &g)
            let u = Tensor.randomUniform(shape, generator: &g)
            return Tensor(shape: shape, scalars: zip(n.scalars, u.scalars).map { $1 < 0.15 ? -.infinity : $0 })
        default:
            return nil
        }
    }

    public var attentionMask: AttentionMask { Self.attentionMask(mask, tensor: maskTensor) }

    static func attentionMask(_ mask: MaskKind, tensor: Tensor?) -> AttentionMask {
        switch mask {
        case .all(let parts):
            return parts.reduce(AttentionMask.none) { $0.combined(with: attentionMask($1, tensor: tensor)) }
        case .none: return .none
        case .causal: return .causal
        case .slidingWindow(let w): return .slidingWindow(w)
        case .keyPadding(let lengths): return .keyPadding(lengths)
        case .boolean: return .boolean(tensor!)
        case .additive: return .additive(tensor!)
        }
    }

    public var slopes: [Float]? { alibi ? alibiSlopes(heads: queryHeads) : nil }

    /// FLOPs of the forward as benchmarks count them: 4·B·Hq·Lq·Lk·D.
    public var forwardFLOPs: Double { 4 * Double(batch * queryHeads * queryLength * keyLength * headDimension) }

    /// Whether query `i` may attend key `j`, written from the documented definitions.
    public func allowed(_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Bool { rules().allowed(b, h, i, j) }

    /// The additive bias on score `(i, j)`: ALiBi and the additive mask.
    public func bias(_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Double { rules().bias(b, h, i, j) }

    /// Whether query `i` may attend key `j` and the bias on that score, written from the
    /// documented definitions (every rule of a composed mask must allow the pair); the mask
    /// tensor is generated once and captured.
    public func rules() -> (allowed: @Sendable (Int, Int, Int, Int) -> Bool, bias: @Sendable (Int, Int, Int, Int) -> Double) {
        let tensor = maskTensor, parts = mask.parts, slopes = slopes
        let (lq, lk) = (queryLength, keyLength)
        let allowed: @Sendable (Int, Int, Int, Int) -> Bool = { b, h, i, j in
            let last = i + lk - lq   // the key aligned with query i (bottom-right)
            return parts.allSatisfy { part in
                switch part {
                case .none, .all, .additive: return true
                case .causal: return j <= last
                case .slidingWindow(let w): return j <= last && j > last - w
                case .keyPadding(let lengths): return j < lengths[b]
                case .boolean(let shape): return Self.element(tensor!, shape, b, h, i, j) != 0
                }
            }
        }
        let bias: @Sendable (Int, Int, Int, Int) -> Double = { b, h, i, j in
            var total = 0.0
            if let slopes { total -= Double(slopes[h]) * Double(abs(i + lk - lq - j)) }
            for case .additive(let shape) in parts { total += Double(Self.element(tensor!, shape, b, h, i, j)) }
            return total
        }
        return (allowed, bias)
    }

    /// Reads a mask broadcast to `[B, Hq, Lq, Lk]` by explicit index arithmetic.
    static func element(_ t: Tensor, _ shape: [Int], _ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Float {
        let full = [b, h, i, j]
        let pad = 4 - shape.count
        var offset = 0
        for axis in 0..<shape.count {
            let index = shape[axis] == 1 ? 0 : full[axis + pad]
            offset = offset * shape[axis] + index
        }
        return t.scalars[offset]
    }

    /// The Float64 output and log-sum-exp of this case.
    public func float64(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> (output: [Double], logSumExp: [Double]) {
        let (allowed, bias) = rules()
        return Float64Reference.attentionWithLogSumExp(
            queries: q, keys: k, values: v, scale: scale.map(Double.init), allowed: allowed, bias: bias)
    }
}

extension AttentionCase {
    /// The shared grid: every mask kind, GQA/MQA, Lq ≠ Lk both ways, D ≠ Dv, Lq = 1, Lk = 1.
    public static let grid: [AttentionCase] = [
        AttentionCase("none", b: 2, hq: 3, hkv: 3, lq: 7, lk: 65, d: 13, dv: 7),
        AttentionCase("none Lk=1", b: 1, hq: 2, hkv: 1, lq: 5, lk: 1, d: 8, dv: 3),
        AttentionCase("none Lq=1 MQA", b: 2, hq: 4, hkv: 1, lq: 1, lk: 200, d: 64, dv: 64),
        AttentionCase("none scale=0.3", b: 1, hq: 2, hkv: 2, lq: 33, lk: 17, d: 5, dv: 9, scale: 0.3),
        AttentionCase("causal square", b: 1, hq: 2, hkv: 2, lq: 129, lk: 129, d: 64, dv: 64, mask: .causal),
        AttentionCase("causal Lq<Lk GQA", b: 2, hq: 4, hkv: 2, lq: 5, lk: 130, d: 16, dv: 24, mask: .causal),
        AttentionCase("causal Lq>Lk MQA", b: 1, hq: 3, hkv: 1, lq: 70, lk: 33, d: 20, dv: 17, mask: .causal),
        AttentionCase("sliding 17", b: 1, hq: 2, hkv: 1, lq: 150, lk: 150, d: 32, dv: 20, mask: .slidingWindow(17)),
        AttentionCase("sliding 1 Lq<Lk", b: 2, hq: 2, hkv: 2, lq: 9, lk: 40, d: 7, dv: 7, mask: .slidingWindow(1)),
        AttentionCase("keyPadding", b: 3, hq: 2, hkv: 1, lq: 9, lk: 65, d: 12, dv: 10, mask: .keyPadding([65, 0, 1])),
        AttentionCase("boolean [B,1,Lq,Lk]", b: 2, hq: 2, hkv: 2, lq: 31, lk: 47, d: 16, dv: 16, mask: .boolean([2, 1, 31, 47])),
        AttentionCase("boolean [Lk]", b: 1, hq: 4, hkv: 2, lq: 66, lk: 140, d: 24, dv: 8, mask: .boolean([140])),
        AttentionCase("additive [Hq,1,Lk] Lq=1", b: 2, hq: 3, hkv: 1, lq: 1, lk: 200, d: 9, dv: 11, mask: .additive([3, 1, 200])),
        AttentionCase("additive [B,Hq,Lq,Lk]", b: 2, hq: 2, hkv: 1, lq: 19, lk: 23, d: 8, dv: 6, mask: .additive([2, 2, 19, 23])),
        AttentionCase("alibi causal", b: 1, hq: 4, hkv: 4, lq: 100, lk: 100, d: 32, dv: 32, mask: .causal, alibi: true),
        AttentionCase("alibi none Lq<Lk", b: 1, hq: 3, hkv: 1, lq: 10, lk: 77, d: 16, dv: 5, alibi: true),
    ] + combinations

    /// Composed masks: every combination of {none, causal, sliding window} × {no padding,
    /// key padding with an empty and a short row} × {no tensor, boolean, additive}, beyond the
    /// single rules above. The padding rows of length 0 and 2 (with causal, Lq > Lk) leave
    /// fully masked query rows.
    public static let combinations: [AttentionCase] = {
        var cases: [AttentionCase] = []
        let (b, hq, hkv, lq, lk) = (3, 2, 1, 21, 37)
        let positions: [(String, [MaskKind])] = [("", []), ("causal", [.causal]), ("window 5", [.slidingWindow(5)])]
        let paddings: [(String, [MaskKind])] = [("", []), ("padding", [.keyPadding([37, 0, 19])])]
        let tensors: [(String, [MaskKind])] = [("", []), ("boolean", [.boolean([b, 1, lq, lk])]), ("additive", [.additive([hq, 1, lk])])]
        for (pn, p) in positions {
            for (an, a) in paddings {
                for (tn, t) in tensors where (p + a + t).count >= 2 {
                    let name = [pn, an, tn].filter { !$0.isEmpty }.joined(separator: " + ")
                    cases.append(AttentionCase(name, b: b, hq: hq, hkv: hkv, lq: lq, lk: lk, d: 11, dv: 6, mask: .all(p + a + t),
                                               alibi: cases.count % 3 == 0))
                }
            }
        }
        cases.append(AttentionCase("causal + padding Lq>Lk", b: 2, hq: 2, hkv: 2, lq: 30, lk: 20, d: 8, dv: 8,
                                   mask: .all([.causal, .keyPadding([20, 3])])))
        return cases
    }()
}
