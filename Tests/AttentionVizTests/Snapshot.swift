import Foundation
import Testing

/// Exact comparison of rendered text with a committed file under `Snapshots/`.
/// Record or update with `ATTEND_UPDATE_SNAPSHOTS=1 swift test --filter AttentionVizTests`.
enum Snapshot {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    static func check(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["ATTEND_UPDATE_SNAPSHOTS"] == "1" {
            try Data(text.utf8).write(to: url, options: .atomic)
            return
        }
        guard let data = try? Data(contentsOf: url) else {
            Issue.record("snapshot \(name) is missing; record it with ATTEND_UPDATE_SNAPSHOTS=1", sourceLocation: sourceLocation)
            return
        }
        let expected = String(decoding: data, as: UTF8.self)
        guard text != expected else { return }
        let got = text.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let line = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
        Issue.record("""
            snapshot \(name) differs at line \(line + 1) (\(got.count) lines, snapshot has \(want.count)):
              got:      \(line < got.count ? String(got[line]).debugDescription : "<end>")
              snapshot: \(line < want.count ? String(want[line]).debugDescription : "<end>")
            (if the change is intended, re-record with ATTEND_UPDATE_SNAPSHOTS=1)
            """, sourceLocation: sourceLocation)
    }
}
