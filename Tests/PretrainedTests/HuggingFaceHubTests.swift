import Attention
import Foundation
import Pretrained
import Testing

/// Models by repository id: the Hugging Face cache layout (shared with Python) and downloads
/// from a local stand-in for the hub on 127.0.0.1, including a connection cut mid-file.
@Suite(.serialized) struct HuggingFaceHubTests {
    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/python3" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The local hub: serves `root/ORG/NAME/FILE`; stopped by the caller.
    final class LocalHub {
        let process = Process()
        let port: Int
        init(root: URL, dropOnce: [String] = []) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/hub_server.py")
            process.executableURL = URL(fileURLWithPath: try #require(HuggingFaceHubTests.python))
            process.arguments = [script.path, "--root", root.path, "--lifetime", "60"] + dropOnce.flatMap { ["--drop-once", $0] }
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            var line = Data()
            while !line.contains(10) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            port = try #require(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }
        /// SIGKILL: a child spawned from a test thread may inherit a mask that blocks SIGTERM.
        func stop() { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    /// A hub root holding the tiny BERT folder as `test-org/tiny-bert`, and an empty cache.
    static func setUp() throws -> (tiny: TinyBert, root: URL, cache: URL) {
        let tiny = try TinyBert()
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("attend-hub-\(UUID().uuidString)")
        let repo = base.appendingPathComponent("root/test-org")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: tiny.folder, to: repo.appendingPathComponent("tiny-bert"))
        return (tiny, base.appendingPathComponent("root"), base.appendingPathComponent("cache"))
    }

    @Test func repositoryIDsAreRecognised() {
        #expect(HuggingFaceHub.isRepositoryID("sentence-transformers/all-MiniLM-L6-v2"))
        for notAnID in ["model", "/abs/path", "a/b/c", "../x", "./x", "a/..", "org/na me", "", "org/"] {
            #expect(!HuggingFaceHub.isRepositoryID(notAnID), "\(notAnID)")
        }
    }

    @Test func cacheFolderFollowsTheEnvironment() {
        #expect(HuggingFaceHub(environment: ["HF_HUB_CACHE": "/a"]).cacheDirectory.path == "/a")
        #expect(HuggingFaceHub(environment: ["HF_HOME": "/h"]).cacheDirectory.path == "/h/hub")
        #expect(HuggingFaceHub(environment: ["HF_HOME": "/h", "HF_HUB_CACHE": "/c"]).cacheDirectory.path == "/c")
        #expect(HuggingFaceHub(environment: ["XDG_CACHE_HOME": "/x"]).cacheDirectory.path == "/x/huggingface/hub")
        #expect(HuggingFaceHub(environment: [:]).cacheDirectory.path.hasSuffix(".cache/huggingface/hub"))
        #expect(HuggingFaceHub(environment: ["HF_HUB_OFFLINE": "1"]).offline)
        #expect(HuggingFaceHub(environment: ["HF_ENDPOINT": "http://127.0.0.1:9"]).endpoint.absoluteString == "http://127.0.0.1:9")
    }

    /// A folder laid out as `huggingface_hub` lays it out (refs/main → snapshots/COMMIT with
    /// links into blobs/) is found and loads.
    @Test func aCacheMadeByPythonIsUsedAsItIs() throws {
        let (tiny, _, cache) = try Self.setUp()
        defer { tiny.remove(); try? FileManager.default.removeItem(at: cache.deletingLastPathComponent()) }
        let repo = cache.appendingPathComponent("models--test-org--tiny-bert")
        let commit = "fedcba9876543210fedcba9876543210fedcba98"
        let snapshot = repo.appendingPathComponent("snapshots/\(commit)")
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: snapshot.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try commit.write(to: repo.appendingPathComponent("refs/main"), atomically: true, encoding: .utf8)
        for (index, file) in ["config.json", "vocab.txt", "model.safetensors", "modules.json", "1_Pooling/config.json"].enumerated() {
            try FileManager.default.copyItem(at: tiny.folder.appendingPathComponent(file), to: repo.appendingPathComponent("blobs/blob\(index)"))
            let up = String(repeating: "../", count: file.split(separator: "/").count + 1)
            try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent(file).path, withDestinationPath: up + "blobs/blob\(index)")
        }
        let hub = HuggingFaceHub(cacheDirectory: cache, endpoint: URL(string: "http://127.0.0.1:9")!, offline: true)
        let found = try hub.snapshot("test-org/tiny-bert")
        #expect(found.lastPathComponent == commit)
        let encoder = try SentenceEncoder(modelDirectory: found)
        #expect(encoder.embed(["the cat"]) == (try SentenceEncoder(modelDirectory: tiny.folder)).embed(["the cat"]))
        #expect(throws: PretrainedError.self) { try hub.snapshot("test-org/absent") }
    }

    /// A cut connection leaves nothing that looks complete; the next attempt downloads the
    /// model into the cache layout Python uses, and it loads with the same numbers.
    @Test(.enabled(if: python != nil, "needs python3 for the local hub server"))
    func downloadsIntoTheCacheAndSurvivesACutConnection() throws {
        let (tiny, root, cache) = try Self.setUp()
        defer { tiny.remove(); try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }
        let server = try LocalHub(root: root, dropOnce: ["model.safetensors"])
        defer { server.stop() }
        let hub = HuggingFaceHub(cacheDirectory: cache, endpoint: server.endpoint)
        do {
            _ = try hub.snapshot("test-org/tiny-bert")
            Issue.record("a download cut in the middle of model.safetensors succeeded")
        } catch {
            #expect("\(error)".contains("model.safetensors"), "\(error)")
        }
        let repo = hub.repositoryFolder("test-org/tiny-bert")
        let weightsSize = try Data(contentsOf: tiny.weightsURL).count
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: repo.appendingPathComponent("blobs").path)) ?? []
        for blob in blobs {
            let size = (try? FileManager.default.attributesOfItem(atPath: repo.appendingPathComponent("blobs/\(blob)").path)[.size] as? Int) ?? 0
            #expect(size != weightsSize / 2 && !blob.hasSuffix(".incomplete"), "a partial file stayed: \(blob) (\(size) bytes)")
        }
        #expect(hub.cachedSnapshot("test-org/tiny-bert") == nil, "a snapshot was published after a failed download")

        let folder = try hub.snapshot("test-org/tiny-bert")
        #expect(folder.path.contains("models--test-org--tiny-bert/snapshots/0123456789abcdef"))
        let reference = try String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8)
        #expect(reference == "0123456789abcdef0123456789abcdef01234567")
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent("model.safetensors").path)
        #expect(link.hasPrefix("../../blobs/"), "\(link)")
        let downloaded = try SentenceEncoder(modelDirectory: folder)
        let original = try SentenceEncoder(modelDirectory: tiny.folder)
        #expect(downloaded.embed(["it was the cat"]) == original.embed(["it was the cat"]))
        // Offline, the cached snapshot is used; an absent model is a clear error.
        let offline = HuggingFaceHub(cacheDirectory: cache, endpoint: server.endpoint, offline: true)
        #expect(try offline.snapshot("test-org/tiny-bert").standardizedFileURL.path == folder.standardizedFileURL.path)
        do { _ = try offline.snapshot("test-org/other"); Issue.record("offline download succeeded") } catch {
            #expect("\(error)".contains("HF_HUB_OFFLINE"), "\(error)")
        }
    }

    /// No server listening: a clear error that says what to check.
    @Test func unreachableEndpointIsAClearError() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("attend-hub-none-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let hub = HuggingFaceHub(cacheDirectory: cache, endpoint: URL(string: "http://127.0.0.1:9")!)
        do { _ = try hub.snapshot("test-org/tiny-bert"); Issue.record("no server, yet it succeeded") } catch {
            #expect("\(error)".contains("HF_ENDPOINT") || "\(error)".contains("HTTP"), "\(error)")
        }
    }
}
