import ArgumentParser

/// `attend`: one command-line tool for swift-attention.
@main
struct Attend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attend",
        abstract: "Self-attention in Swift: train, generate, explain, view, embed and benchmark.",
        discussion: """
            Every subcommand has its own --help. Colour follows the terminal and NO_COLOR. \
            Set ATTEND_THREADS to limit the worker threads, ATTEND_SIMD=portable|avx2|avx512 to choose the \
            kernels' SIMD level (ATTEND_NO_SIMD=1 is the same as portable); --version shows the level in use.
            """,
        version: MachineInfo.versionText,
        subcommands: attendSubcommands
    )
}

/// Every subcommand, in the order `--help` lists them.
let attendSubcommands: [any ParsableCommand.Type] = [
    Train.self,
    Generate.self,
    Eval.self,
    Explain.self,
    View.self,
    Embed.self,
    AttentionCommand.self,
    Similarity.self,
    Bench.self,
]
