import Foundation
import Testing

/// `attend view` end to end: the files it writes and the errors it gives.
@Suite struct ViewCommandTests {
    @Test func writesStandaloneHTMLAndSVG() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let html = folder.appendingPathComponent("view.html"), svg = folder.appendingPathComponent("head.svg")
        let a = try AttendProcess.run(["view", "The cat sat on the mat", "--out", html.path])
        #expect(a.status == 0 && a.stdout.contains("wrote"), "html: \(a.stderr)")
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.hasPrefix("<!doctype html>") && page.contains("attention-data") && !page.contains("https://"), "a standalone page")
        let b = try AttendProcess.run(["view", "naïve café", "--tokens", "bytes", "--words", "--out", svg.path, "--layer", "2", "--head", "2"])
        #expect(b.status == 0, "svg: \(b.stderr)")
        let image = try String(contentsOf: svg, encoding: .utf8)
        #expect(image.hasPrefix("<svg") && image.contains("naïve") && image.contains("layer 2, head 2"), "a labelled word-level heatmap")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "atomic writes leave no temporary files: \(leftovers)")
    }

    static let badViewCases: [([String], String)] = [
        (["view", "x", "--out", "/tmp/attend-view.txt"], "use a name ending in .html"),
        (["view", "x", "--out", "/nonexistent/folder/v.html"], "does not exist"),
        (["view", "x", "--out", "/tmp/attend-v.svg", "--words"], "--words needs a byte-level model"),
        (["view", "", "--out", "/tmp/attend-v.html"], "the text is empty"),
        (["view", "x"], "Missing expected argument '--out"),
    ]

    @Test(arguments: badViewCases)
    func badInputGivesAClearMessageAndNonZeroExit(arguments: [String], message: String) throws {
        let r = try AttendProcess.run(arguments)
        #expect(r.exitedNormally && r.status != 0, "\(arguments): exit \(r.status)")
        #expect(r.stderr.contains(message), "\(arguments): stderr should contain \"\(message)\":\n\(r.stderr)")
    }
}
