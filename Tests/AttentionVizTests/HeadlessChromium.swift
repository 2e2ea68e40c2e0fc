import Foundation
import Testing

/// Runs the system Chromium headless (path from `ATTEND_CHROMIUM`, exported by
/// `scripts/ci/browser.sh`). Without it the browser tests skip visibly, unless
/// `ATTEND_REQUIRE_BROWSER` is set, in which case they fail.
enum HeadlessChromium {
    static var path: String? {
        guard let path = ProcessInfo.processInfo.environment["ATTEND_CHROMIUM"], !path.isEmpty,
              FileManager.default.isExecutableFile(atPath: path) else { return nil }
        return path
    }

    static var required: Bool {
        let value = ProcessInfo.processInfo.environment["ATTEND_REQUIRE_BROWSER"] ?? ""
        return !value.isEmpty && value != "0"
    }

    /// Whether the browser tests run: a browser is there, or one is required (and its absence fails).
    static var shouldRun: Bool { path != nil || required }

    /// The DOM after the page's scripts ran (`--dump-dom`), within `timeout` seconds.
    static func dumpDOM(of url: URL, timeout: TimeInterval = 60) throws -> String {
        let binary = try #require(path, "ATTEND_REQUIRE_BROWSER is set but ATTEND_CHROMIUM names no executable Chromium")
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("attend-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                             "--disable-extensions", "--window-size=1280,900", "--user-data-dir=\(profile.path)", "--dump-dom", url.absoluteString]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        let reader = Reader()
        let thread = Thread { reader.data = out.fileHandleForReading.readDataToEndOfFile(); reader.finished.signal() }
        thread.start()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            Issue.record("Chromium did not finish within \(Int(timeout)) s on \(url.lastPathComponent)")
        }
        _ = reader.finished.wait(timeout: .now() + 10)
        return String(decoding: reader.data, as: UTF8.self)
    }

    final class Reader: @unchecked Sendable {
        var data = Data()
        let finished = DispatchSemaphore(value: 0)
    }

    /// Writes `html` to a temporary file and returns the self-test's JSON result.
    static func selfTest(html: String, name: String) throws -> [String: Any] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("attend-\(name)-\(UUID().uuidString).html")
        try Data(html.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var components = URLComponents(url: file, resolvingAgainstBaseURL: false)!
        components.fragment = "selftest"
        let dom = try dumpDOM(of: components.url!)
        let marker = "<pre id=\"selftest-result\">"
        guard let start = dom.range(of: marker), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
            Issue.record("\(name): the page wrote no self-test result (script failed to run?); DOM starts: \(dom.prefix(300))")
            return [:]
        }
        let json = String(dom[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(name): result JSON \(json)")
    }
}
