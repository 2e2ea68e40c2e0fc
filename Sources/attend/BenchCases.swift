/// The benchmark's case list: every shape `attend bench kernels` measures is described here
/// once (shapes, mask, FLOP count); the runner iterates it and scripts/bench_peers.py reads
/// the shapes back from the `--json` rows, so peers run exactly the same problems.

/// One attention problem: `B` batch, `Hq` query heads, `Hkv` key/value heads, `N` queries =
/// keys, `D` head dimension (= value dimension), causal or not.
struct AttentionBenchCase: Sendable {
    let batch: Int, queryHeads: Int, keyValueHeads: Int, length: Int, headDimension: Int
    let causal: Bool

    /// Effective FLOPs: `Q·Kᵀ` and `P·V` are each `2·B·Hq·N²·D`; a causal mask halves the work.
    var flops: Double {
        let full = 4.0 * Double(batch * queryHeads) * Double(length) * Double(length) * Double(headDimension)
        return causal ? full / 2 : full
    }

    /// Bytes the reference path's `Hq·N²` Float32 score matrix alone would take.
    var referenceScoreBytes: Double {
        Double(batch * queryHeads) * Double(length) * Double(length) * 4
    }

    var name: String {
        var parts = ["N=\(length)", "D=\(headDimension)"]
        if keyValueHeads != queryHeads { parts.append("Hq=\(queryHeads)/Hkv=\(keyValueHeads)") }
        parts.append(causal ? "causal" : "full")
        return parts.joined(separator: " ")
    }

    /// B=1, H=8, D=64 over N (causal and not), plus one D=128 and one grouped-query case.
    static func standard(quick: Bool) -> [AttentionBenchCase] {
        let lengths = quick ? [64, 128] : [128, 512, 1024, 2048, 4096]
        var cases: [AttentionBenchCase] = []
        for n in lengths {
            for causal in [false, true] {
                cases.append(.init(batch: 1, queryHeads: 8, keyValueHeads: 8, length: n, headDimension: 64, causal: causal))
            }
        }
        let n = quick ? 128 : 1024
        cases.append(.init(batch: 1, queryHeads: 8, keyValueHeads: 8, length: n, headDimension: 128, causal: false))
        cases.append(.init(batch: 1, queryHeads: 8, keyValueHeads: 2, length: n, headDimension: 64, causal: true))
        return cases
    }

    /// The long-sequence line: fused only, one repeat.
    static let long = AttentionBenchCase(
        batch: 1, queryHeads: 8, keyValueHeads: 8, length: 65_536, headDimension: 64, causal: true)
}

/// One matrix product `C[m×n] = op(A)[m×k] · op(B)[k×n]`.
struct GemmBenchCase: Sendable {
    let m: Int, n: Int, k: Int
    let transposeB: Bool

    var flops: Double { 2.0 * Double(m) * Double(n) * Double(k) }
    var name: String { "\(m)×\(n)×\(k)" + (transposeB ? " A·Bᵀ" : "") }

    static func standard(quick: Bool) -> [GemmBenchCase] {
        if quick { return [.init(m: 256, n: 256, k: 256, transposeB: false)] }
        return [
            .init(m: 1024, n: 1024, k: 1024, transposeB: false),
            .init(m: 512, n: 512, k: 512, transposeB: false),
            .init(m: 768, n: 128, k: 384, transposeB: false),
            // The shape of one head's scores Q·Kᵀ at N=1024, D=64.
            .init(m: 1024, n: 1024, k: 64, transposeB: true),
            // One decoding token through a 384 → 1536 layer (x·Wᵀ): the few-row path.
            .init(m: 1, n: 1536, k: 384, transposeB: true),
        ]
    }
}
