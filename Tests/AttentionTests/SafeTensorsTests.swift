import Attention
import Foundation
import Testing

@Suite struct SafeTensorsTests {
    /// Written by Python's `safetensors.torch.save_file` (torch 2.x) with F32, F16 and BF16
    /// tensors and metadata; the expected values are what torch prints for them as float32.
    static let pythonWritten = Data(base64Encoded: "MAEAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJwdCIsIm5vdGUiOiJtYWRlIGJ5IHNjcmlwdHMifSwiYS5mMzIiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzIsM10sImRhdGFfb2Zmc2V0cyI6WzAsMjRdfSwic2NhbGFyIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOltdLCJkYXRhX29mZnNldHMiOlsyNCwyOF19LCJjLmJmMTYiOnsiZHR5cGUiOiJCRjE2Iiwic2hhcGUiOlsyLDJdLCJkYXRhX29mZnNldHMiOlsyOCwzNl19LCJiLmYxNiI6eyJkdHlwZSI6IkYxNiIsInNoYXBlIjpbNl0sImRhdGFfb2Zmc2V0cyI6WzM2LDQ4XX19ICAgICAgAADAPwAAEMAAAEBAzczMPXfMKzIA4H/HAADgQIA/ScBKcaKNADwAuP97AAQBAFQ1")!

    @Test func readsWhatPythonWrote() throws {
        let file = try SafeTensorsFile(data: Self.pythonWritten)
        #expect(file.metadata == ["format": "pt", "note": "made by scripts"])
        #expect(Set(file.tensorNames) == ["a.f32", "b.f16", "c.bf16", "scalar"])
        let a = try file.tensor(named: "a.f32", shape: [2, 3])
        #expect(a.scalars == [1.5, -2.25, 3.0, 0.1, 1e-8, -65504])
        let b = try file.tensor(named: "b.f16")
        #expect(b.scalars == [1.0, -0.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08, 0.3330078125])
        let c = try file.tensor(named: "c.bf16")
        #expect(c.shape == [2, 2])
        #expect(c.scalars == [1.0, -3.140625, Float(1.0002555517425873e+30), Float(-9.98402083170343e-31)])
        let scalar = try file.tensor(named: "scalar")
        #expect(scalar.shape == [] && scalar.scalars == [7])
        #expect(throws: SafeTensorsError.missingTensor(name: "nope")) { try file.tensor(named: "nope") }
        #expect(throws: SafeTensorsError.shapeMismatch(name: "a.f32", expected: [3, 2], actual: [2, 3])) {
            try file.tensor(named: "a.f32", shape: [3, 2])
        }
    }

    @Test func float32RoundTripIsExact() throws {
        var generator = SeededGenerator(seed: 7)
        let x = Tensor.randomNormal([3, 5, 7], generator: &generator)
        let y = Tensor(shape: [0, 4], scalars: [])
        let z = Tensor(shape: [1], scalars: [.infinity])
        let data = SafeTensorsWriter.encode([("x", x), ("empty", y), ("weird \"name\"\n", z)], metadata: ["config": "{\"a\": 1}"])
        #expect((data.count - 8 - Int(data[0])) % 4 == 0, "data section starts 8-aligned")
        let file = try SafeTensorsFile(data: data)
        #expect(file.metadata["config"] == "{\"a\": 1}")
        #expect(try file.tensor(named: "x") == x)
        #expect(try file.tensor(named: "empty") == y)
        #expect(try file.tensor(named: "weird \"name\"\n") == z)
    }

    @Test func float16StorageRoundsOnceAndReloadsExactly() throws {
        var generator = SeededGenerator(seed: 8)
        let x = Tensor.randomNormal([64, 33], generator: &generator)
        let file = try SafeTensorsFile(data: SafeTensorsWriter.encode([("x", x)], storage: .float16))
        let loaded = try file.tensor(named: "x")
        for (original, stored) in zip(x.scalars, loaded.scalars) {
            // Nearest binary16: relative error at most 2⁻¹¹ for normal halves.
            #expect(abs(original - stored) <= abs(original) * 0x1p-11 + 0x1p-25, "\(original) stored as \(stored)")
        }
        let again = try SafeTensorsFile(data: SafeTensorsWriter.encode([("x", loaded)], storage: .float16))
        #expect(try again.tensor(named: "x") == loaded, "a value already in binary16 survives exactly")
    }

    @Test func halfConversionIsExactOnEveryBitPattern() {
        for bits in UInt16.min...UInt16.max {
            let value = floatFromHalfBits(bits)
            if value.isNaN { #expect(halfBitsFromFloat(value) & 0x7C00 == 0x7C00); continue }
            #expect(halfBitsFromFloat(value) == bits, "half bits \(bits) -> \(value)")
        }
        // Ties go to even; overflow goes to infinity.
        #expect(halfBitsFromFloat(1 + 0x1p-11) == 0x3C00)
        #expect(halfBitsFromFloat(1 + 3 * 0x1p-11) == 0x3C02)
        #expect(halfBitsFromFloat(70000) == 0x7C00)
        #expect(halfBitsFromFloat(-70000) == 0xFC00)
    }

    @Test func writesAtomicallyAndRereads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try SafeTensorsWriter.write([("w", Tensor(shape: [2], scalars: [1, 2]))], to: url)
        try SafeTensorsWriter.write([("w", Tensor(shape: [2], scalars: [3, 4]))], to: url)
        #expect(try SafeTensorsFile(contentsOf: url).tensor(named: "w").scalars == [3, 4])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(contentsOf: directory.appendingPathComponent("missing")) }
    }
}
