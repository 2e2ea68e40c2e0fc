import Attention
import Foundation
import Testing
import Training

/// Training throughput of a `baby`-sized GPT (4 layers, 4 heads, width 128, context 64, batch
/// 12): forward + backward + AdamW per step, in tokens/s. Opt-in (it measures, it does not
/// check): `TRAINING_BENCH=1 swift test -c release --filter ThroughputTests`.
@Suite(.serialized) struct ThroughputTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TRAINING_BENCH"] != nil))
    func babyTrainingStep() throws {
        let env = ProcessInfo.processInfo.environment
        let batch = Int(env["TRAINING_BENCH_BATCH"] ?? "") ?? 12
        let steps = Int(env["TRAINING_BENCH_STEPS"] ?? "") ?? 20
        let context = 64
        var model = TinyGPT(layers: 4, heads: 4, width: 128, context: context)
        var optimizer = AdamW(learningRate: 1e-3, weightDecay: 0.1)
        var times: [Double] = []
        var phase = [Double](repeating: 0, count: 3)
        var cpuStart = 0.0
        var lastLoss: Float = 0
        for step in 0..<(steps + 2) {
            if step == 2 { cpuStart = processCPUSeconds() }
            let (tokens, targets) = byteBatch(batch: batch, length: context, seed: UInt64(step))
            let t0 = DispatchTime.now().uptimeNanoseconds
            let tape = Tape(seed: UInt64(step))
            let loss = model.loss(tokens: tokens, targets: targets, on: tape)
            let t1 = DispatchTime.now().uptimeNanoseconds
            let gradients = try tape.backward(loss, step: step)
            lastLoss = loss.value.scalars[0]
            let t2 = DispatchTime.now().uptimeNanoseconds
            try optimizer.update(&model, with: gradients)
            let t3 = DispatchTime.now().uptimeNanoseconds
            if step >= 2 {
                times.append(Double(t3 - t0) / 1e9)
                phase[0] += Double(t1 - t0) / 1e9; phase[1] += Double(t2 - t1) / 1e9; phase[2] += Double(t3 - t2) / 1e9
            }
        }
        let cpu = (processCPUSeconds() - cpuStart) / Double(steps)
        let sorted = times.sorted()
        let median = sorted[sorted.count / 2]
        let tokens = Double(batch * context)
        print(String(format: "baby step: batch %d × %d tokens, threads %d: median %.2f ms (min %.2f) → %.0f tokens/s (best %.0f); CPU %.2f ms/step → %.0f tokens per CPU-second; forward %.1f%%, backward %.1f%%, AdamW %.1f%%",
            batch, context, Threading.threadCount, median * 1e3, sorted[0] * 1e3, tokens / median, tokens / sorted[0], cpu * 1e3, tokens / cpu,
            100 * phase[0] / times.reduce(0, +), 100 * phase[1] / times.reduce(0, +), 100 * phase[2] / times.reduce(0, +)))
        // Printed in full so runs with different ATTEND_THREADS can be compared bit for bit.
        print("baby step: loss after \(steps + 2) steps = \(lastLoss) (bit pattern \(String(lastLoss.bitPattern, radix: 16)))")
    }
}

extension ThroughputTests {
    /// The ceiling: only the GEMMs of one baby step (forward, dX, dW of every Linear and the
    /// tied head), with no tape, at the same shapes.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TRAINING_BENCH"] != nil))
    func babyStepGemmsOnly() {
        let rows = (Int(ProcessInfo.processInfo.environment["TRAINING_BENCH_BATCH"] ?? "") ?? 12) * 64
        // (out, in) of every Linear in the step: 4 blocks × (wq, wk, wv, wo, up, down) + head.
        let layers = Array(repeating: [(128, 128), (128, 128), (128, 128), (128, 128), (512, 128), (128, 512)], count: 4).flatMap { $0 } + [(256, 128)]
        let x = Tensor.randomNormal([rows, 512], seed: 1), w = Tensor.randomNormal([512, 512], seed: 2)
        var y = Tensor.zeros([rows, 512]), dw = Tensor.zeros([512, 512])
        var times: [Double] = []
        let cpuStart = processCPUSeconds()
        for _ in 0..<12 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in dw.withUnsafeMutableBufferPointer { dwp in
                    for (o, i) in layers {
                        MatrixMultiply.gemm(m: rows, n: o, k: i, a: xp.baseAddress!, lda: i, transposeA: false,
                            b: wp.baseAddress!, ldb: i, transposeB: true, c: yp.baseAddress!, ldc: o, accumulate: false)
                        MatrixMultiply.gemm(m: rows, n: i, k: o, a: xp.baseAddress!, lda: o, transposeA: false,
                            b: wp.baseAddress!, ldb: i, transposeB: false, c: yp.baseAddress!, ldc: i, accumulate: false)
                        MatrixMultiply.gemm(m: o, n: i, k: rows, a: xp.baseAddress!, lda: o, transposeA: true,
                            b: wp.baseAddress!, ldb: i, transposeB: false, c: dwp.baseAddress!, ldc: i, accumulate: false)
                    }
                } }
            } }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let cpu = (processCPUSeconds() - cpuStart) / 12
        let flops = Double(layers.reduce(0) { $0 + 3 * 2 * rows * $1.0 * $1.1 })
        let best = times.sorted()[0], median = times.sorted()[times.count / 2]
        print(String(format: "baby GEMMs only: %d rows: median %.2f ms (best %.2f), %.1f GFLOP/s (best %.1f) → ceiling %.0f tokens/s; CPU %.2f ms → %.0f tokens per CPU-second",
            rows, median * 1e3, best * 1e3, flops / median / 1e9, flops / best / 1e9, Double(rows) / best, cpu * 1e3, Double(rows) / cpu))
    }
}

/// User + system CPU time of the whole process so far (all threads), in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
