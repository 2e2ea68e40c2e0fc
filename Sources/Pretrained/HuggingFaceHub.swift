import Attention
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Models named as the ecosystem names them (`sentence-transformers/all-MiniLM-L6-v2`),
/// found in the Hugging Face cache that Python users already have, else downloaded into it.
///
/// The cache layout is `huggingface_hub`'s, so a model downloaded by transformers or
/// sentence-transformers is used as it is, and one downloaded here is found by Python:
///
/// ```
/// $HF_HUB_CACHE (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
/// └── models--ORG--NAME/
///     ├── refs/main                      the commit the revision points to
///     ├── blobs/ETAG                     file contents, one per version
///     └── snapshots/COMMIT/FILE → ../../blobs/ETAG
/// ```
///
/// Downloads come from `$HF_ENDPOINT` (default `https://huggingface.co`) at
/// `/ORG/NAME/resolve/REVISION/FILE`; each file is written to a temporary file, checked
/// against the length the server announced, and only then renamed into `blobs/`, so a cut
/// download never leaves a file that looks complete. `HF_HUB_OFFLINE=1` forbids the network.
public struct HuggingFaceHub: Sendable {
    /// The cache root.
    public var cacheDirectory: URL
    /// The server (`$HF_ENDPOINT`).
    public var endpoint: URL
    /// `HF_HUB_OFFLINE` set to a true value: use the cache only.
    public var offline: Bool
    /// An access token (`$HF_TOKEN`) for gated or private models, sent as a bearer token.
    public var token: String?

    /// The files a BERT-family sentence encoder folder may hold; the first three are required.
    public static let encoderFiles = ["config.json", "vocab.txt", "model.safetensors", "tokenizer_config.json",
                                      "special_tokens_map.json", "sentence_bert_config.json", "modules.json",
                                      "1_Pooling/config.json"]
    static let requiredFiles: Set<String> = ["config.json", "vocab.txt", "model.safetensors"]

    public init(cacheDirectory: URL, endpoint: URL, offline: Bool = false, token: String? = nil) {
        self.cacheDirectory = cacheDirectory
        self.endpoint = endpoint
        self.offline = offline
        self.token = token
    }

    /// The hub as the environment configures it (`HF_HUB_CACHE`, `HF_HOME`, `HF_ENDPOINT`,
    /// `HF_HUB_OFFLINE`, `HF_TOKEN`), with `huggingface_hub`'s defaults.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = URL(fileURLWithPath: NSHomeDirectory())
        if let cache = environment["HF_HUB_CACHE"], !cache.isEmpty {
            cacheDirectory = URL(fileURLWithPath: cache)
        } else if let hfHome = environment["HF_HOME"], !hfHome.isEmpty {
            cacheDirectory = URL(fileURLWithPath: hfHome).appendingPathComponent("hub")
        } else {
            let xdg = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
                ?? home.appendingPathComponent(".cache")
            cacheDirectory = xdg.appendingPathComponent("huggingface/hub")
        }
        endpoint = URL(string: environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co")
            ?? checkNotNil(URL(string: "https://huggingface.co"), "HuggingFaceHub: the default endpoint must parse as a URL")
        let flag = (environment["HF_HUB_OFFLINE"] ?? "").lowercased()
        offline = ["1", "true", "yes", "on"].contains(flag)
        token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether `text` has the shape of a repository id (`ORG/NAME`: two parts of letters,
    /// digits, `-`, `_` and `.`, neither `.` nor `..`). A path that exists is never taken for one.
    public static func isRepositoryID(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 96 && part != "." && part != ".."
                && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        }
    }

    /// `models--ORG--NAME` inside the cache.
    public func repositoryFolder(_ repository: String) -> URL {
        cacheDirectory.appendingPathComponent("models--" + repository.replacingOccurrences(of: "/", with: "--"))
    }

    /// The cached snapshot of `repository` at `revision` (a branch or tag with a file under
    /// `refs/`, or a commit hash), or nil when the cache has none that holds `config.json`.
    public func cachedSnapshot(_ repository: String, revision: String = "main") -> URL? {
        let folder = repositoryFolder(repository)
        var commit = revision
        if let reference = try? String(contentsOf: folder.appendingPathComponent("refs").appendingPathComponent(revision), encoding: .utf8) {
            commit = reference.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard Self.isSafeComponent(commit) else { return nil }
        let snapshot = folder.appendingPathComponent("snapshots").appendingPathComponent(commit)
        return FileManager.default.fileExists(atPath: snapshot.appendingPathComponent("config.json").path) ? snapshot : nil
    }

    /// The model folder for `repository`: the cached snapshot, else (unless offline) a fresh
    /// download of ``encoderFiles`` into the cache. `progress(file, received, total)` reports
    /// each file's bytes as they arrive (total 0 when the server does not say).
    public func snapshot(
        _ repository: String, revision: String = "main",
        progress: @escaping @Sendable (String, Int64, Int64) -> Void = { _, _, _ in }
    ) throws -> URL {
        guard Self.isRepositoryID(repository), Self.isSafeComponent(revision) else {
            throw PretrainedError.invalidInput("\(repository)@\(revision) is not a Hugging Face repository id like sentence-transformers/all-MiniLM-L6-v2")
        }
        if let cached = cachedSnapshot(repository, revision: revision), hasRequiredFiles(cached) { return cached }
        guard !offline else {
            throw PretrainedError.missingFile(path: repositoryFolder(repository).path,
                hint: "\(repository) is not in the Hugging Face cache and HF_HUB_OFFLINE forbids downloading it")
        }
        return try download(repository, revision: revision, progress: progress)
    }

    /// Whether a snapshot folder holds the files an encoder needs (config, vocabulary, weights).
    public func snapshotIsComplete(_ snapshot: URL) -> Bool { hasRequiredFiles(snapshot) }

    func hasRequiredFiles(_ snapshot: URL) -> Bool {
        Self.requiredFiles.allSatisfy { FileManager.default.fileExists(atPath: snapshot.appendingPathComponent($0).path) }
    }

    static func isSafeComponent(_ text: String) -> Bool {
        !text.isEmpty && text != "." && text != ".." && !text.contains("/") && !text.contains("\\") && text.count <= 200
    }

    // MARK: Downloading

    func download(_ repository: String, revision: String, progress: @escaping @Sendable (String, Int64, Int64) -> Void) throws -> URL {
        let folder = repositoryFolder(repository)
        let blobs = folder.appendingPathComponent("blobs")
        do { try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true) } catch {
            throw PretrainedError.unreadableFile(path: blobs.path, reason: "cannot create the cache folder (\(FileAccess.plainReason(error)))")
        }
        var commit: String?
        var fetched: [(file: String, blob: String)] = []
        for file in Self.encoderFiles {
            let url = endpoint.appendingPathComponent(repository).appendingPathComponent("resolve")
                .appendingPathComponent(revision).appendingPathComponent(file)
            let temporary = blobs.appendingPathComponent(".download-\(UUID().uuidString).incomplete")
            defer { try? FileManager.default.removeItem(at: temporary) }
            let response = try HubTransfer.fetch(url, to: temporary, token: token) { progress(file, $0, $1) }
            if response.status == 404 && !Self.requiredFiles.contains(file) { continue }
            guard response.status == 200 else {
                throw PretrainedError.missingFile(path: url.absoluteString,
                    hint: response.status == 401 || response.status == 403
                        ? "the server answered \(response.status): a gated or private model needs HF_TOKEN"
                        : "the server answered HTTP \(response.status)")
            }
            commit = commit ?? response.commit
            let blob = response.etag.flatMap { Self.isSafeComponent($0) ? $0 : nil } ?? UUID().uuidString
            let target = blobs.appendingPathComponent(blob)
            _ = try? FileManager.default.removeItem(at: target)
            do { try FileManager.default.moveItem(at: temporary, to: target) } catch {
                throw PretrainedError.unreadableFile(path: target.path, reason: FileAccess.plainReason(error))
            }
            fetched.append((file, blob))
        }
        let snapshotName = commit.flatMap { Self.isSafeComponent($0) ? $0 : nil } ?? revision
        let snapshot = folder.appendingPathComponent("snapshots").appendingPathComponent(snapshotName)
        for (file, blob) in fetched {
            let link = snapshot.appendingPathComponent(file)
            try? FileManager.default.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: link)
            let depth = file.split(separator: "/").count + 1   // snapshots/COMMIT[/sub]/file → ../../[..]/blobs
            let relative = String(repeating: "../", count: depth) + "blobs/" + blob
            do { try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: relative) } catch {
                throw PretrainedError.unreadableFile(path: link.path, reason: FileAccess.plainReason(error))
            }
        }
        // refs/REVISION last: until it exists the snapshot is not used by a later run.
        let refs = folder.appendingPathComponent("refs")
        try? FileManager.default.createDirectory(at: refs, withIntermediateDirectories: true)
        if snapshotName != revision {
            do { try FileAccess.writeAtomically(Data(snapshotName.utf8), to: refs.appendingPathComponent(revision)) } catch {
                throw PretrainedError.unreadableFile(path: error.path, reason: error.reason)
            }
        }
        return snapshot
    }
}

/// One HTTP GET streamed to a file, with the announced length checked.
enum HubTransfer {
    struct Response {
        var status: Int
        var etag: String?
        var commit: String?
    }

    static func fetch(_ url: URL, to file: URL, token: String?, progress: @escaping @Sendable (Int64, Int64) -> Void) throws -> Response {
        guard FileManager.default.createFile(atPath: file.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: file.path) else {
            throw PretrainedError.unreadableFile(path: file.path, reason: "cannot create a file in the cache")
        }
        defer { try? handle.close() }
        var request = URLRequest(url: url, timeoutInterval: 60)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let delegate = StreamingDelegate(handle: handle, progress: progress)
        let session = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        delegate.done.wait()
        let outcome = delegate.outcome()
        if let error = outcome.error {
            throw PretrainedError.unreadableFile(path: url.absoluteString,
                reason: "the download failed (\(error.localizedDescription)); check the network, HF_ENDPOINT, or use HF_HUB_OFFLINE=1 with a cached model")
        }
        guard let http = outcome.response as? HTTPURLResponse else {
            throw PretrainedError.unreadableFile(path: url.absoluteString, reason: "no HTTP response")
        }
        if http.statusCode == 200, http.expectedContentLength >= 0, outcome.received != http.expectedContentLength {
            throw PretrainedError.unreadableFile(path: url.absoluteString,
                reason: "the connection was cut after \(outcome.received) of \(http.expectedContentLength) bytes; nothing was kept, run the command again")
        }
        func header(_ name: String) -> String? {
            (http.value(forHTTPHeaderField: name)).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
        }
        let etag = (header("X-Linked-Etag") ?? header("ETag")).map { $0.hasPrefix("W/") ? String($0.dropFirst(2)) : $0 }
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        return Response(status: http.statusCode, etag: etag, commit: header("X-Repo-Commit"))
    }

    final class StreamingDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let handle: FileHandle
        let progress: @Sendable (Int64, Int64) -> Void
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var response: URLResponse?
        private var received: Int64 = 0
        private var error: Error?
        private var writeFailed = false

        init(handle: FileHandle, progress: @escaping @Sendable (Int64, Int64) -> Void) {
            self.handle = handle
            self.progress = progress
        }

        func outcome() -> (response: URLResponse?, received: Int64, error: Error?) {
            lock.lock(); defer { lock.unlock() }
            return (response, received, error)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            lock.lock(); self.response = response; lock.unlock()
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            lock.lock()
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if status == 200, !writeFailed {
                do { try handle.write(contentsOf: data) } catch { writeFailed = true; self.error = error }
            }
            received += Int64(data.count)
            let total = response?.expectedContentLength ?? -1
            let now = received
            lock.unlock()
            if status == 200 { progress(now, max(total, 0)) }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            lock.lock()
            if let error, self.error == nil { self.error = error }
            if response == nil { response = task.response }
            lock.unlock()
            done.signal()
        }
    }
}
