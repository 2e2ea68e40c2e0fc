import Foundation
import Testing

/// End-to-end: the built `attend` binary, run the way scripts run it.
@Suite struct BenchCommandTests {
    /// Runs `attend` with `arguments`; returns (exit status, stdout, stderr).
    static func runAttend(_ arguments: [String]) throws -> (Int32, String, String) {
        let result = try AttendProcess.run(arguments)
        return (result.status, result.stdout, result.stderr)
    }

    @Test func quickJSONHasTheDocumentedShape() throws {
        let (status, stdout, stderr) = try Self.runAttend(["bench", "--quick", "--json", "--repeats", "1", "--threads", "2"])
        #expect(status == 0, "attend bench --quick --json exited \(status): \(stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        let report = try #require(object, "stdout is not a JSON object: \(stdout.prefix(200))")
        #expect(report["simd"] is String && report["configuration"] is String, "header fields in \(report.keys)")
        #expect(report["threads"] as? Int == 2, "--threads 2 is reported, got \(report["threads"] ?? "nil")")
        let rows = try #require(report["rows"] as? [[String: Any]], "rows array")
        for row in rows {
            let name = row["name"] as? String ?? "?"
            for key in ["kind", "name", "implementation", "flops", "milliseconds", "gflops", "repeats"] {
                #expect(row[key] != nil, "row \(name) lacks \(key)")
            }
            #expect((row["gflops"] as? Double ?? 0) > 0, "row \(name) has no positive GFLOP/s")
        }
        let attention = rows.filter { $0["kind"] as? String == "attention" }
        #expect(Set(attention.compactMap { $0["implementation"] as? String }) == ["reference", "fused"])
        #expect(attention.contains { $0["causal"] as? Bool == true } && attention.contains { $0["keyValueHeads"] as? Int == 2 })
        #expect(attention.filter { $0["implementation"] as? String == "fused" }.allSatisfy { $0["speedupOverReference"] != nil })
        #expect(rows.contains { $0["kind"] as? String == "gemm" }, "a GEMM row")
    }

    @Test func backwardOnlyAndLengthsPickTheLines() throws {
        let (status, stdout, stderr) = try Self.runAttend(
            ["bench", "backward", "--quick", "--json", "--repeats", "1", "--only", "fused", "--lengths", "128"])
        #expect(status == 0, "attend bench backward --only fused --lengths 128 exited \(status): \(stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]], "a JSON array: \(stdout.prefix(200))")
        #expect(!rows.isEmpty, "at least one line")
        #expect(rows.allSatisfy { $0["implementation"] as? String == "fused" && $0["length"] as? Int == 128 },
                "only fused lines of N=128: \(rows.map { ($0["implementation"] ?? "?", $0["length"] ?? "?") })")
        #expect(rows.allSatisfy { ($0["forwardBackwardGFLOPs"] as? Double ?? 0) > 0 }, "positive GFLOP/s")
        let (bad, _, badError) = try Self.runAttend(["bench", "backward", "--lengths", "128,x"])
        #expect(bad == 64, "a malformed --lengths is a usage error (64), got \(bad)")
        #expect(badError.contains("--lengths"), "the error names the option: \(badError)")
    }

    @Test func badRepeatsIsAUsageError() throws {
        let (status, _, stderr) = try Self.runAttend(["bench", "kernels", "--repeats", "0"])
        #expect(status != 0, "--repeats 0 must fail")
        #expect(stderr.contains("--repeats"), "the error names the option: \(stderr)")
    }
}
