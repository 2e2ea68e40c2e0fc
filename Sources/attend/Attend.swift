import ArgumentParser
import Attention
import Foundation
import Training

/// `attend`: one command-line tool for swift-attention.
@main
struct Attend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attend",
        abstract: "Self-attention in Swift: train, generate, explain, view, embed and benchmark.",
        discussion: """
            Every subcommand has its own --help. Colour follows the terminal and NO_COLOR (a \
            non-empty value turns it off). Set ATTEND_THREADS to limit the worker threads, \
            ATTEND_SIMD=portable|avx2|avx512 to choose the kernels' SIMD level (ATTEND_NO_SIMD=1 is \
            the same as portable); --version shows the level in use.

            \(AttendExitCode.table)
            """,
        version: MachineInfo.versionText,
        subcommands: attendSubcommands
    )

    /// Parses, checks the environment, runs; every failure ends with the exit status of
    /// ``AttendExitCode`` and a message fit for a terminal, the same in every subcommand.
    static func main() async {
        let command: ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        let name = "attend " + type(of: command)._commandName
        if let problem = EnvironmentCheck.problem() {
            printError("Error: \(problem)")
            Foundation.exit(AttendExitCode.usage)
        }
        // Running a model allocates and frees the same large activation buffers again and again
        // (a training step, an encoder layer, a decoded token): keep them in the heap instead of
        // page-faulting fresh mmaps each time (−15% CPU per `baby` step, −30% for `eval`; see
        // AllocatorTuning; ATTEND_KEEP_MALLOC=1 vetoes it). Not for the kernel benchmarks, whose +MiB column measures fresh memory.
        if !(command is BenchKernels || command is BenchBackward) { AllocatorTuning.keepTrainingBuffersInHeap() }
        do {
            var command = command
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ValidationError {
            printError("Error: \(safeMessage(error.message))\nSee '\(name) --help'.")
            Foundation.exit(AttendExitCode.usage)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            exit(withError: error)  // --help reached through a subcommand, and the parser's own errors
        } catch {
            printError("Error: \(safeMessage(String(describing: error)))")
            Foundation.exit(AttendExitCode.failure)
        }
    }
}

/// A message with every line made terminal-safe (see `terminalSafe`), newlines kept.
func safeMessage(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false)
        .map { terminalSafe(String($0), limit: 2000) }.joined(separator: "\n")
}

/// The environment variables `attend` reads, checked before any work: an invalid value is a
/// usage error naming the variable, never silently ignored.
enum EnvironmentCheck {
    static func problem(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let text = environment["ATTEND_THREADS"] {
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), (1...4096).contains(n) else {
                return "ATTEND_THREADS must be a whole number of threads in 1...4096, got '\(terminalSafe(text, limit: 40))'"
            }
        }
        if let text = environment["ATTEND_SIMD"], !["", "auto", "portable", "none", "neon", "avx2", "avx2+fma", "avx512"].contains(text) {
            return "ATTEND_SIMD must be portable, avx2, avx512, neon or auto (a level the CPU lacks falls back to the best below it), got '\(terminalSafe(text, limit: 40))'"
        }
        if let text = environment["ATTEND_NO_SIMD"], !["", "0", "1"].contains(text) {
            return "ATTEND_NO_SIMD must be 1 (force the portable kernels), 0 or empty, got '\(terminalSafe(text, limit: 40))'"
        }
        if let text = environment["ATTEND_MPI_TIMEOUT"] {
            guard mpiTimeout(environment) != nil else {
                return "ATTEND_MPI_TIMEOUT must be a number of seconds in 1...86400 (how long a rank waits for the others), got '\(terminalSafe(text, limit: 40))'"
            }
        }
        if let text = environment["ATTEND_MPI_BUCKET_MB"] {
            guard mpiBucketBytes(environment) != nil else {
                return "ATTEND_MPI_BUCKET_MB must be a number of megabytes in 0...4096 (the gradient bucket size for data-parallel training; 0: one all-reduce after the backward pass), got '\(terminalSafe(text, limit: 40))'"
            }
        }
        return nil
    }

    /// `ATTEND_MPI_BUCKET_MB` (MB of 2²⁰ bytes, fractions allowed) in bytes; the default
    /// bucket size when unset, nil when invalid. 0 turns the overlap off (one all-reduce
    /// after the backward pass).
    static func mpiBucketBytes(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        guard let text = environment["ATTEND_MPI_BUCKET_MB"] else { return GradientBucketPlan.defaultBucketBytes }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value >= 0, value <= 4096 else { return nil }
        return Int((value * 1_048_576).rounded())
    }

    /// `ATTEND_MPI_TIMEOUT` in seconds (default 300), nil when invalid.
    static func mpiTimeout(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Double? {
        guard let text = environment["ATTEND_MPI_TIMEOUT"] else { return 300 }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value >= 1, value <= 86_400 else { return nil }
        return value
    }
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
