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

/// `attend bench kernels` (the default `attend bench`): attention reference vs fused, GEMM,
/// and the long-sequence line, from the case list in BenchCases.swift.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time attention (reference vs fused), GEMM and a 65 536-token line.",
        discussion: """
            Attention lines: B=1, H=8, D=64, N in {128, 512, 1024, 2048, 4096}, causal and not, plus a \
            D=128 and a grouped-query (Hq=8, Hkv=2) case, each through the reference and the fused \
            implementation of scaledDotProductAttention. GFLOP/s counts 4·B·H·N²·D (half when causal). \
            +MiB is the measured peak resident memory above the level before the call (Linux only). \
            GEMM lines time MatrixMultiply.gemm on preallocated matrices. The long line runs the fused \
            path once at N=65536 (the reference would need 137 GB for its scores). \
            Build with -c release; compare with numpy/torch via scripts/bench_peers.py.
            """)

    enum Part: String, ExpressibleByArgument, CaseIterable {
        case gemm, attention, long
    }

    @Flag(help: "Print one JSON object (header fields and an array of rows) instead of tables.")
    var json = false

    @Flag(help: "Smoke test: small N only, one small GEMM, no long line.")
    var quick = false

    @Option(help: "Timed runs per line after one warm-up; the median is reported.")
    var repeats = 3

    @Option(help: "Run only one part: gemm, attention or long.")
    var only: Part?

    @Option(help: "Worker threads (default: ATTEND_THREADS, else every core).")
    var threads: Int?

    @Flag(help: "Run the long line even when the fused path's memory could not be shown to be O(N·D).")
    var forceLong = false

    func validate() throws {
        try validateBenchTiming(repeats: repeats, threads: threads)
    }

    func run() throws {
        // Threading.threadCount reads ATTEND_THREADS once, on first use, which is after this.
        if let threads { setenv("ATTEND_THREADS", String(threads), 1) }
        #if DEBUG
        let configuration = "debug"
        FileHandle.standardError.write(Data("""
            WARNING: this is a DEBUG build: the C kernels are unoptimised and every number below is meaningless.
            WARNING: run `swift run -c release attend bench` instead.\n
            """.utf8))
        #else
        let configuration = "release"
        #endif
        var report = BenchReport(
            simd: MachineInfo.simd, cpu: MachineInfo.cpuModel, threads: Threading.threadCount,
            configuration: configuration, repeats: repeats, quick: quick, rows: [])
        let progress = Progress(enabled: isatty(STDERR_FILENO) != 0)
        if !json { print(report.header) }

        if only == nil || only == .attention {
            report.rows += runAttention(AttentionBenchCase.standard(quick: quick), progress: progress)
        }
        if only == nil || only == .gemm {
            report.rows += GemmBenchCase.standard(quick: quick).map { runGemm($0, progress: progress) }
        }
        if only == .long || (only == nil && !quick) {
            report.rows.append(runLong(after: report.rows, progress: progress))
        }
        progress.finish()
        if json {
            print(try report.json())
        } else {
            print(report.table().split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n"))
        }
    }

    private func runAttention(_ cases: [AttentionBenchCase], progress: Progress) -> [BenchRow] {
        var rows: [BenchRow] = []
        for (index, c) in cases.enumerated() {
            let inputs = AttentionInputs(c)
            progress.show("attention \(index + 1)/\(cases.count): \(c.name) reference")
            var reference = BenchRow(attention: c, implementation: "reference")
            reference.record(Stopwatch.measure(repeats: repeats) { inputs.run(.reference) })
            progress.show("attention \(index + 1)/\(cases.count): \(c.name) fused")
            var fused = BenchRow(attention: c, implementation: "fused")
            fused.record(Stopwatch.measure(repeats: repeats) { inputs.run(.fused) })
            if let r = reference.milliseconds, let f = fused.milliseconds { fused.speedupOverReference = r / f }
            rows += [reference, fused]
        }
        return rows
    }

    private func runGemm(_ c: GemmBenchCase, progress: Progress) -> BenchRow {
        progress.show("gemm \(c.name)")
        var generator = SeededGenerator(seed: 42)
        let a = (0..<(c.m * c.k)).map { _ in generator.nextNormal() }
        let b = (0..<(c.k * c.n)).map { _ in generator.nextNormal() }
        var out = [Float](repeating: 0, count: c.m * c.n)
        var row = BenchRow(gemm: c)
        row.record(Stopwatch.measure(repeats: max(repeats, 5), peakMemory: false) {
            out.withUnsafeMutableBufferPointer { pc in
                MatrixMultiply.gemm(
                    m: c.m, n: c.n, k: c.k, a: a, lda: c.k, transposeA: false,
                    b: b, ldb: c.transposeB ? c.k : c.n, transposeB: c.transposeB,
                    c: pc.baseAddress!, ldc: c.n, accumulate: false)
                return pc[0]
            }
        })
        return row
    }

    /// The long line runs only once the fused path has been seen to stay far below the
    /// reference's O(N²) memory (its placeholder routes to the reference, which at N=65536
    /// would need 137 GB): measured on the largest fused attention row, or a probe at N=2048.
    private func runLong(after rows: [BenchRow], progress: Progress) -> BenchRow {
        let c = AttentionBenchCase.long
        var row = BenchRow(attention: c, kind: "long", implementation: "fused")
        let scoresGB = fixed(c.referenceScoreBytes / 1e9, 0)
        var evidence = rows.filter { $0.kind == "attention" && $0.implementation == "fused" && $0.peakExtraMiB != nil }
            .max { ($0.length ?? 0) < ($1.length ?? 0) }
        if evidence == nil {
            progress.show("long: probing the fused path's memory at N=2048")
            let probe = AttentionBenchCase(batch: 1, queryHeads: 8, keyValueHeads: 8, length: 2048, headDimension: 64, causal: true)
            var probeRow = BenchRow(attention: probe, implementation: "fused")
            let inputs = AttentionInputs(probe)
            probeRow.record(Stopwatch.measure(repeats: 1, warmUp: false) { inputs.run(.fused) })
            evidence = probeRow.peakExtraMiB == nil ? nil : probeRow
        }
        if !forceLong {
            guard let evidence, let peak = evidence.peakExtraMiB, let n = evidence.length else {
                row.note = "skipped: peak memory cannot be measured here to confirm the fused path is O(N·D); use --force-long"
                return row
            }
            let scoresMiB = Double(8 * n * n * 4) / 1_048_576
            if peak > scoresMiB / 2 {
                row.note = "skipped: the fused path used \(fixed(peak, 0)) MiB at N=\(n), as much as the reference's "
                    + "\(fixed(scoresMiB, 0)) MiB of scores, so at N=65536 it would need ~\(scoresGB) GB"
                return row
            }
        }
        progress.show("long: fused N=65536 causal, one run")
        let inputs = AttentionInputs(c)
        row.record(Stopwatch.measure(repeats: 1, warmUp: false) { inputs.run(.fused) })
        row.note = "reference not run: its 8×65536×65536 Float32 scores would need \(scoresGB) GB"
        return row
    }
}

/// Unit-normal queries, keys and values for one case (seeded, so every run times the same data).
private struct AttentionInputs {
    let spec: AttentionBenchCase
    let queries: Tensor, keys: Tensor, values: Tensor

    init(_ spec: AttentionBenchCase) {
        self.spec = spec
        let (b, hq, hkv, n, d) = (spec.batch, spec.queryHeads, spec.keyValueHeads, spec.length, spec.headDimension)
        queries = Tensor.randomNormal([b, hq, n, d], seed: 1)
        keys = Tensor.randomNormal([b, hkv, n, d], seed: 2)
        values = Tensor.randomNormal([b, hkv, n, d], seed: 3)
    }

    func run(_ implementation: AttentionImplementation) -> Float {
        let out = scaledDotProductAttention(
            queries: queries, keys: keys, values: values, mask: spec.causal ? .causal : .none,
            implementation: implementation)
        return out.scalars[out.count - 1]
    }
}

/// One overwritten status line on stderr while a terminal watches; silent otherwise.
private struct Progress {
    let enabled: Bool

    func show(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r" + pad(text, 72)).utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: 72) + "\r").utf8))
    }
}
