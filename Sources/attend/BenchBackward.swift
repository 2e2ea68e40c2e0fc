import ArgumentParser
import Attention
import CKernels
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `attend bench backward`: attention forward + backward (the training step of one attention
/// call) for the shapes of `attend bench kernels`, and a long line at N = 16 384.
struct BenchBackward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backward",
        abstract: "Time attention forward+backward (fused, and reference up to N=1024).",
        discussion: """
            For each shape of `attend bench kernels` (B=1, H=8, D=64, N in {128 … 4096}, causal and \
            not, D=128, Hq=8/Hkv=2): the forward that keeps the log-sum-exp \
            (scaledDotProductAttentionWithLogSumExp) and scaledDotProductAttentionBackward, timed \
            separately. GFLOP/s count the forward as 4·B·H·N²·D (half when causal) and the backward \
            as 2.5× that, as FlashAttention-2 does; fwd+bwd GFLOP/s = 3.5× forward FLOPs / total time. \
            +MiB is the backward's peak resident memory above the level before it (Linux only). \
            The long line runs the fused backward once at N=16384 causal (the reference's \
            probabilities alone would take 8.6 GB). Build with -c release.
            """)

    @Flag(help: "Print one JSON array of rows instead of a table.")
    var json = false

    @Flag(help: "Smoke test: small N only, no long line.")
    var quick = false

    @Option(help: "Timed runs per line after one warm-up; the median is reported.")
    var repeats = 3

    @Option(help: "Worker threads (default: ATTEND_THREADS, else every core).")
    var threads: Int?

    /// Which lines to run.
    enum Part: String, ExpressibleByArgument, CaseIterable {
        case fused, reference, long
    }

    @Option(help: "Run only one part: fused (the standard shapes), reference (N ≤ 1024) or long (N=16384).")
    var only: Part?

    @Option(help: ArgumentHelp("Run only these sequence lengths (comma-separated, e.g. 1024,2048).",
                               valueName: "n,n,…"))
    var lengths: String?

    func validate() throws {
        try validateBenchTiming(repeats: repeats, threads: threads)
        _ = try lengthFilter()
    }

    /// The lengths of `--lengths`, or nil for every length.
    private func lengthFilter() throws -> Set<Int>? {
        guard let lengths else { return nil }
        let parts = lengths.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == parts.count, !values.isEmpty, values.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--lengths must be positive integers separated by commas, got '\(lengths)'")
        }
        return Set(values)
    }

    /// One measured line.
    struct Row: Codable {
        var name: String, implementation: String
        var batch: Int, queryHeads: Int, keyValueHeads: Int, length: Int, headDimension: Int, causal: Bool
        var forwardMilliseconds: Double, backwardMilliseconds: Double
        var forwardGFLOPs: Double, backwardGFLOPs: Double, forwardBackwardGFLOPs: Double
        var backwardPeakExtraMiB: Double?
    }

    func run() throws {
        if let threads { setenv("ATTEND_THREADS", String(threads), 1) }
        var cases: [(AttentionBenchCase, String)] = []
        if only == nil || only == .fused { cases += AttentionBenchCase.standard(quick: quick).map { ($0, "fused") } }
        if only == nil || only == .reference {
            cases += AttentionBenchCase.standard(quick: quick).filter { $0.length <= 1024 }.map { ($0, "reference") }
        }
        if only == .long || (only == nil && !quick) {
            cases.append((AttentionBenchCase(batch: 1, queryHeads: 8, keyValueHeads: 8, length: 16_384,
                                             headDimension: 64, causal: true), "fused"))
        }
        if let keep = try lengthFilter() { cases = cases.filter { keep.contains($0.0.length) } }
        var rows: [Row] = []
        if !json {
            #if DEBUG
            print("WARNING: DEBUG build; run `swift run -c release attend bench backward` for meaningful numbers.")
            #endif
            print("attend bench backward: CPU \(MachineInfo.cpuModel), SIMD \(MachineInfo.simd), \(Threading.threadCount) threads, "
                  + "median of \(repeats) after a warm-up (1 run when a warm-up exceeds 3 s)")
            print("case                          impl      |  fwd ms  GFLOP/s |   bwd ms  GFLOP/s   +MiB | fwd+bwd GFLOP/s")
        }
        for (c, implementation) in cases {
            let row = measure(c, implementation: implementation == "fused" ? .fused : .reference)
            rows.append(row)
            if !json {
                print(pad(c.name, 30) + pad(implementation, 10) + "| " + leftPad(fixed(row.forwardMilliseconds, 1), 7)
                      + leftPad(fixed(row.forwardGFLOPs, 1), 9) + " | " + leftPad(fixed(row.backwardMilliseconds, 1), 8)
                      + leftPad(fixed(row.backwardGFLOPs, 1), 9) + leftPad(fixed(row.backwardPeakExtraMiB, 1), 7)
                      + " | " + leftPad(fixed(row.forwardBackwardGFLOPs, 1), 8))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        }
    }

    private func measure(_ c: AttentionBenchCase, implementation: AttentionImplementation) -> Row {
        let (b, hq, hkv, n, d) = (c.batch, c.queryHeads, c.keyValueHeads, c.length, c.headDimension)
        let q = Tensor.randomNormal([b, hq, n, d], seed: 1), k = Tensor.randomNormal([b, hkv, n, d], seed: 2)
        let v = Tensor.randomNormal([b, hkv, n, d], seed: 3), dO = Tensor.randomNormal([b, hq, n, d], seed: 4)
        let mask: AttentionMask = c.causal ? .causal : .none
        let long = n > 4096
        var forward = scaledDotProductAttentionWithLogSumExp(queries: q, keys: k, values: v, mask: mask, implementation: implementation)
        let forwardTime = Stopwatch.measure(repeats: long ? 1 : repeats, warmUp: !long) {
            forward = scaledDotProductAttentionWithLogSumExp(queries: q, keys: k, values: v, mask: mask, implementation: implementation)
            return forward.output.scalars[0]
        }
        let backwardTime = Stopwatch.measure(repeats: long ? 1 : repeats, warmUp: !long) {
            let g = scaledDotProductAttentionBackward(
                outputGradient: dO, queries: q, keys: k, values: v, output: forward.output,
                logSumExp: forward.logSumExp, mask: mask, implementation: implementation)
            return g.queries.scalars[0] + g.keys.scalars[0] + g.values.scalars[0]
        }
        let (f, bw) = (forwardTime.milliseconds * 1e-3, backwardTime.milliseconds * 1e-3)
        return Row(
            name: c.name, implementation: implementation == .fused ? "fused" : "reference",
            batch: b, queryHeads: hq, keyValueHeads: hkv, length: n, headDimension: d, causal: c.causal,
            forwardMilliseconds: f * 1000, backwardMilliseconds: bw * 1000,
            forwardGFLOPs: c.flops / f / 1e9, backwardGFLOPs: 2.5 * c.flops / bw / 1e9,
            forwardBackwardGFLOPs: 3.5 * c.flops / (f + bw) / 1e9,
            backwardPeakExtraMiB: backwardTime.peakExtraBytes.map { Double($0) / 1_048_576 })
    }
}
