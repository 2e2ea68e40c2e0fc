import ArgumentParser
import Attention
import AttentionViz
import Foundation
import TinyLLM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGINT (Ctrl-C) and SIGTERM (`kill`, `timeout`, job schedulers) into a polite
/// request: the first sets a flag the training loop polls (it then saves a checkpoint and the
/// command exits with 128 + the signal's number); a second one removes the temporary files of
/// any write in progress and exits at once with that status.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [Int32] = []
    private var sources: [DispatchSourceSignal] = []

    /// Installs the handlers (the signals' default actions are ignored from now on).
    /// - Parameter rank: `(rank, size)` under mpirun: the message then says that every rank
    ///   stops after the same step and rank 0 saves.
    static func install(rank: (Int, Int)? = nil) -> InterruptFlag {
        let flag = InterruptFlag()
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [flag] in
                if flag.record(number) >= 2 {
                    FileAccess.removeTemporaryFiles()
                    exit(AttendExitCode.interrupted(by: number))
                }
                let name = number == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)"
                let text = rank.map { "\n\(name) on rank \($0.0) of \($0.1): every rank stops after the current step and rank 0 saves a checkpoint (if a rank died, mpirun ends the job instead; the last checkpoint stays loadable)\n" }
                    ?? "\n\(name): saving a checkpoint (signal again to quit at once)\n"
                FileHandle.standardError.write(Data(text.utf8))
            }
            source.resume()
            flag.sources.append(source)
        }
        return flag
    }

    private func record(_ number: Int32) -> Int { lock.lock(); defer { lock.unlock() }; received.append(number); return received.count }

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return !received.isEmpty }

    /// The first signal received, if any.
    var firstSignal: Int32? { lock.lock(); defer { lock.unlock() }; return received.first }
}

/// The exit statuses of every `attend` subcommand (documented in `attend --help`):
///
/// | status | meaning |
/// |---|---|
/// | 0 | success |
/// | 1 | runtime failure: a file, model or input that cannot be used (the message says why) |
/// | 64 | usage: a bad option, argument or environment variable (EX_USAGE) |
/// | 130 / 143 | interrupted by SIGINT / SIGTERM (128 + signal number), after saving |
enum AttendExitCode {
    static let failure: Int32 = 1
    static let usage: Int32 = 64
    static func interrupted(by signal: Int32) -> Int32 { 128 + signal }

    /// The table above, for `--help`.
    static let table = """
        Exit status: 0 success; 1 runtime failure (a file, model or input that cannot be used); \
        64 usage error (bad option, argument or environment variable); 130/143 interrupted by \
        SIGINT/SIGTERM (after saving what can be saved).
        """
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Whether standard error is a terminal and the user has not opted out of decorations
/// (no-color.org: `NO_COLOR` set to a non-empty value disables colour; empty does not).
var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
var colorEnabled: Bool { TerminalStyle.resolve(mode: .auto, standardOutputIsTerminal: stderrIsTerminal).color }

/// `1h02m`, `3m07s`, `12s`.
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
    if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
    return "\(s)s"
}

/// One JSON object per line (for `--json`).
func printJSONLine(_ object: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    print(String(decoding: data, as: UTF8.self))
    fflush(nil)
}

/// nats → bits: `bits = nats / ln 2`.
func bits(_ nats: Double) -> Double { nats / M_LN2 }

/// Loads `--model PATH` or the bundled model; failures are ``TinyLLMError``s (exit status 1).
/// The model in `modelPath` converted to `--precision` (a note on standard error when BF16
/// runs without hardware support).
func loadTinyLLM(modelPath: String?, precision: PrecisionOption) throws -> TinyLLMModel {
    precision.noteIfEmulated()
    return try loadTinyLLM(modelPath: modelPath).converted(to: precision.precision)
}

func loadTinyLLM(modelPath: String?) throws -> TinyLLMModel {
    if let modelPath, let bundled = TinyLLMBundledModel.named(modelPath) { return try TinyLLMCheckpoint.loadBundledModel(bundled) }
    if let modelPath { return try TinyLLMCheckpoint.loadModel(from: modelPath) }
    return try TinyLLMCheckpoint.loadBundledModel()
}
