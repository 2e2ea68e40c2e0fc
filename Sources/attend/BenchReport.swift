import Foundation

/// One measured (or deliberately skipped) line of `attend bench kernels`.
///
/// Shapes are carried in the row so scripts (scripts/bench_peers.py) can rerun exactly the
/// same problems; fields that do not apply to a kind are omitted from the JSON.
struct BenchRow: Codable, Sendable {
    /// "attention", "gemm" or "long".
    var kind: String
    var name: String
    /// "reference" or "fused" for attention rows, "packed" for GEMM.
    var implementation: String
    var batch: Int?, queryHeads: Int?, keyValueHeads: Int?, length: Int?, headDimension: Int?
    var causal: Bool?
    var m: Int?, n: Int?, k: Int?, transposeB: Bool?
    /// Effective FLOPs of the problem (4·B·H·N²·D for attention, halved when causal; 2·m·n·k for GEMM).
    var flops: Double
    /// Median wall time; absent when the line was not run (see `note`).
    var milliseconds: Double?
    var gflops: Double?
    /// Peak resident memory above the pre-run level (VmHWM − VmRSS), MiB; absent where unmeasurable.
    var peakExtraMiB: Double?
    var repeats: Int?
    /// On fused rows: reference time / fused time, measured in the same run.
    var speedupOverReference: Double?
    var note: String?

    init(attention c: AttentionBenchCase, kind: String = "attention", implementation: String) {
        self.kind = kind
        name = c.name
        self.implementation = implementation
        (batch, queryHeads, keyValueHeads, length, headDimension, causal) =
            (c.batch, c.queryHeads, c.keyValueHeads, c.length, c.headDimension, c.causal)
        flops = c.flops
    }

    init(gemm c: GemmBenchCase) {
        kind = "gemm"
        name = c.name
        implementation = "packed"
        (m, n, k, transposeB) = (c.m, c.n, c.k, c.transposeB)
        flops = c.flops
    }

    mutating func record(_ measurement: Measurement) {
        milliseconds = measurement.milliseconds
        gflops = flops / (measurement.milliseconds * 1e-3) / 1e9
        peakExtraMiB = measurement.peakExtraBytes.map { Double($0) / 1_048_576 }
        repeats = measurement.repeats
    }
}

/// The whole run: what produced the numbers, then the rows.
struct BenchReport: Codable, Sendable {
    var simd: String
    var cpu: String
    var threads: Int
    var configuration: String
    var repeats: Int
    var quick: Bool
    var rows: [BenchRow]

    var header: String {
        "attend bench kernels: CPU \(cpu), SIMD \(simd), \(threads) thread\(threads == 1 ? "" : "s"), \(configuration) build, "
            + "median of \(repeats) after a warm-up (1 run when a warm-up exceeds 3 s)"
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Human-readable tables: attention pairs (reference | fused | speed-up), GEMM, long line.
    func table() -> String {
        var lines = [header, ""]
        let attention = rows.filter { $0.kind == "attention" }
        if !attention.isEmpty {
            lines.append("attention, B=1 H=8            |        reference         |          fused           |")
            lines.append("case                          |     ms  GFLOP/s  +MiB    |     ms  GFLOP/s  +MiB    | fused/ref")
            for reference in attention where reference.implementation == "reference" {
                let fused = attention.first { $0.implementation == "fused" && $0.name == reference.name }
                let speedup = fused?.speedupOverReference.map { fixed($0, 2) + "×" } ?? "-"
                lines.append(
                    pad(reference.name, 30) + "| " + cells(reference) + " | " + (fused.map(cells) ?? pad("-", 24))
                        + " | " + speedup)
            }
            lines.append("")
        }
        let gemm = rows.filter { $0.kind == "gemm" }
        if !gemm.isEmpty {
            lines.append("gemm (m×n×k)                  |     ms  GFLOP/s")
            for row in gemm {
                lines.append(pad(row.name, 30) + "| " + leftPad(fixed(row.milliseconds, 2), 6) + "  " + leftPad(fixed(row.gflops, 1), 7))
            }
            lines.append("")
        }
        for row in rows where row.kind == "long" {
            var text = "long \(row.name) \(row.implementation): "
            if row.milliseconds != nil {
                text += "\(fixed(row.milliseconds, 0)) ms, \(fixed(row.gflops, 1)) GFLOP/s, +\(fixed(row.peakExtraMiB, 1)) MiB"
            } else {
                text += "not run"
            }
            if let note = row.note { text += " (\(note))" }
            lines.append(text)
        }
        return lines.joined(separator: "\n")
    }

    private func cells(_ row: BenchRow) -> String {
        leftPad(fixed(row.milliseconds, 2), 7) + "  " + leftPad(fixed(row.gflops, 1), 7) + "  "
            + leftPad(row.peakExtraMiB.map { fixed($0, 1) } ?? "n/a", 6) + " "
    }
}

/// `value` with `digits` decimals ("-" when absent), independent of the locale.
func fixed(_ value: Double?, _ digits: Int) -> String {
    guard let value else { return "-" }
    return String(format: "%.\(digits)f", value)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func leftPad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
