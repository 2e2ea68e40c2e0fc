import ArgumentParser

/// `attend bench`: a group of benchmarks; plain `attend bench` runs `attend bench kernels`.
///
/// Other benchmarks (e.g. `attend bench encoder`) live in their own `Bench<Name>.swift` file
/// and are listed in `benchSubcommands` below.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the kernels (build with -c release).",
        discussion: """
            `attend bench` runs `attend bench kernels`: attention (reference vs fused), GEMM and a \
            long-sequence line, timed in one run. See `attend bench kernels --help` for options.
            """,
        subcommands: benchSubcommands,
        defaultSubcommand: BenchKernels.self
    )
}

/// Every `attend bench` subcommand, in the order `--help` lists them (the first is the default).
let benchSubcommands: [any ParsableCommand.Type] = [
    BenchKernels.self,
    BenchBackward.self,
    BenchPretrained.self,
    BenchPrecision.self,
]
