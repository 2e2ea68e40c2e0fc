import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

/// Runs the built `attend` binary the way a user or script does, with a chosen environment
/// and standard input, and returns what it printed.
enum AttendProcess {
    struct Result {
        var status: Int32
        var exitedNormally: Bool
        var stdout: String
        var stderr: String
        /// Standard output as raw bytes (``stdout`` repairs invalid UTF-8).
        var stdoutData = Data()
    }

    /// The `attend` executable SwiftPM built beside this test bundle.
    static func binary() -> URL? {
        var directories: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        // macOS: the .xctest bundle sits in the products directory.
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        return directories.map { $0.appendingPathComponent("attend") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// - Parameters:
    ///   - environment: added to (or, with a nil value, removed from) the test's environment;
    ///     NO_COLOR=1 is set unless overridden.
    ///   - launcher: a command that starts `attend` (`["/usr/bin/mpirun", "-np", "2"]`): the
    ///     launcher runs with its arguments, then the binary's path, then `arguments`.
    static func run(_ arguments: [String], environment: [String: String?] = [:], input: Data? = nil,
                    launcher: [String] = []) throws -> Result {
        let executable = try #require(binary(), "no built `attend` next to the test bundle")
        let process = Process()
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(input ?? Data())
        try stdin.fileHandleForWriting.close()
        // Read stderr on another thread so neither pipe can fill up and stall the child.
        let errorBox = Box()
        let reader = Thread { errorBox.data = err.fileHandleForReading.readDataToEndOfFile(); errorBox.done.signal() }
        reader.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        errorBox.done.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, exitedNormally: process.terminationReason == .exit,
                      stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: errorBox.data, as: UTF8.self), stdoutData: stdout)
    }

    /// Starts `attend`, waits until its standard output contains `marker`, sends `signal`
    /// (SIGINT as Ctrl-C, SIGTERM as `kill`), and returns its exit status and all it printed.
    static func signal(_ arguments: [String], after marker: String, with signal: Int32) throws -> (status: Int32, stdout: String) {
        let executable = try #require(binary(), "no built `attend` next to the test bundle")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains(marker) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        kill(process.processIdentifier, signal)
        seen.append(out.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: seen, as: UTF8.self))
    }

    final class Box: @unchecked Sendable {
        var data = Data()
        let done = DispatchSemaphore(value: 0)
    }

    /// A fresh temporary folder, removed by the caller.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("attend-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
