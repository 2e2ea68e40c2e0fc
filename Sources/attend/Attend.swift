import ArgumentParser

/// `attend`: one command-line tool for swift-attention.
@main
struct Attend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attend",
        abstract: "Self-attention in Swift: train, generate, explain, view, embed and benchmark.",
        discussion: """
            Every subcommand has its own --help. Colour follows the terminal and NO_COLOR. \
            Set ATTEND_THREADS to limit the worker threads, ATTEND_NO_SIMD=1 to force the portable kernels.
            """,
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
    Attribute.self,
    Bench.self,
]
