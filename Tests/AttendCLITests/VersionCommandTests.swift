import Foundation
import Testing

/// `attend --version` names the SIMD level the kernels run at, and ATTEND_SIMD / ATTEND_NO_SIMD
/// choose it (a level the CPU lacks falls back to the best one below it).
@Suite struct VersionCommandTests {
    static func version(_ environment: [String: String?]) throws -> String {
        let result = try AttendProcess.run(["--version"], environment: environment)
        #expect(result.status == 0, "attend --version exited \(result.status): \(result.stderr)")
        return result.stdout
    }

    @Test func versionNamesTheSIMDLevel() throws {
        let plain = try Self.version(["ATTEND_SIMD": nil, "ATTEND_NO_SIMD": nil])
        #expect(plain.hasPrefix("attend "), "version line: \(plain)")
        #expect(["avx512", "avx2+fma", "neon", "portable"].contains { plain.contains("SIMD \($0)") }, "no level in: \(plain)")
        // The BF16 kernel: a hardware one by name, or the one on widened values, "(emulated)".
        let bfloat16 = ["amx-bf16", "avx512-bf16", "neon-bf16", "avx2+fma (emulated)", "neon (emulated)", "portable (emulated)"]
        #expect(bfloat16.contains { plain.contains("bf16 \($0);") }, "no BF16 kernel in: \(plain)")

        let portable = try Self.version(["ATTEND_SIMD": "portable", "ATTEND_NO_SIMD": nil])
        #expect(portable.contains("SIMD portable"), "ATTEND_SIMD=portable: \(portable)")
        #expect(portable.contains("bf16 portable (emulated);"), "ATTEND_SIMD=portable: \(portable)")
        let noSIMD = try Self.version(["ATTEND_SIMD": nil, "ATTEND_NO_SIMD": "1"])
        #expect(noSIMD.contains("SIMD portable"), "ATTEND_NO_SIMD=1: \(noSIMD)")

        // Forcing AVX2 runs AVX2 where the CPU has it, else falls back (to portable); the line
        // then names the detected level too whenever it is not the one in use.
        let avx2 = try Self.version(["ATTEND_SIMD": "avx2", "ATTEND_NO_SIMD": nil])
        #expect(avx2.contains("SIMD avx2+fma") || avx2.contains("SIMD portable") || avx2.contains("SIMD neon"), "ATTEND_SIMD=avx2: \(avx2)")
        if plain.contains("SIMD avx512") {
            #expect(avx2.contains("SIMD avx2+fma (detected avx512)"), "ATTEND_SIMD=avx2 on an AVX-512 machine: \(avx2)")
        }
        let avx512 = try Self.version(["ATTEND_SIMD": "avx512", "ATTEND_NO_SIMD": nil])
        #expect(avx512 == plain || avx512.contains("SIMD avx512"), "ATTEND_SIMD=avx512 gives the best level below it: \(avx512) vs \(plain)")
    }

    /// Building the version line (the root configuration) must not fix the thread count before
    /// `bench --threads` sets it.
    @Test func benchThreadsOptionStillApplies() throws {
        let result = try AttendProcess.run(["bench", "--quick", "--json", "--repeats", "1", "--only", "gemm", "--threads", "1"])
        #expect(result.status == 0, "attend bench exited \(result.status): \(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["threads"] as? Int == 1, "--threads 1 is reported, got \(object?["threads"] ?? "nil")")
        #expect(object?["cpu"] is String && object?["simd"] is String, "header fields in \(object?.keys.sorted() ?? [])")
    }
}
