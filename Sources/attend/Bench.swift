import ArgumentParser
import Attention

/// `attend bench`: kernel throughput against the reference path, measured in one run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark attention kernels and GEMM (build with -c release).")

    func run() throws {
        print("attend bench: not yet implemented")
    }
}
