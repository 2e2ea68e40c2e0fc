import ArgumentParser
import Foundation
import TinyLLM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns Ctrl-C into a polite request: the first SIGINT sets a flag the training loop polls
/// (it then saves a checkpoint and exits); a second one exits at once with status 130.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var source: DispatchSourceSignal?

    /// Installs the handler (SIGINT is ignored by default handling from now on).
    static func install() -> InterruptFlag {
        let flag = InterruptFlag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [flag] in
            let n = flag.increment()
            if n >= 2 { exit(130) }
            FileHandle.standardError.write(Data("\ninterrupted: saving a checkpoint (Ctrl-C again to quit at once)\n".utf8))
        }
        source.resume()
        flag.source = source
        return flag
    }

    private func increment() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return count > 0 }
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Whether standard error is a terminal and the user has not opted out of decorations.
var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
var colorEnabled: Bool { stderrIsTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }

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

/// Loads `--model PATH` or the bundled model, turning every failure into a clear message.
func loadTinyLLM(modelPath: String?) throws -> TinyLLMModel {
    do {
        if let modelPath { return try TinyLLMCheckpoint.loadModel(from: modelPath) }
        return try TinyLLMCheckpoint.loadBundledModel()
    } catch let error as TinyLLMError {
        throw ValidationError(error.description)
    }
}

/// Runs `body`, reporting TinyLLM errors as `Error: message` with exit status 1.
func reportingTinyLLMErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let error as TinyLLMError {
        printError("Error: \(error.description)")
        throw ExitCode.failure
    }
}
