import ArgumentParser
import Attention
import Foundation

extension Precision: ExpressibleByArgument {}

/// `--precision fp32|bf16`, shared by the inference commands (embed, attention, similarity,
/// generate, eval).
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Weight precision of inference: fp32 (exact, the default) or bf16 (weights and the inputs of weight products rounded to bfloat16, sums in FP32; fastest on CPUs with AVX512-BF16, AMX-BF16 or Arm BF16 (FEAT_BF16); elsewhere the same sums without the speed-up).",
        valueName: "fp32|bf16"))
    var precision: Precision = .float32

    /// Says on standard error when bf16 was asked for but the CPU cannot run it natively (the
    /// product is then computed with the same bits by a slower kernel).
    func noteIfEmulated() {
        guard precision == .bfloat16, !BFloat16Kernel.current.isHardware else { return }
        let reason = BFloat16Kernel.hardwareBFloat16
            ? "ATTEND_SIMD=\(SIMDLevel.current.name) excludes the BF16 instructions"
            : "this CPU has no BF16 instructions (AVX512-BF16, AMX-BF16 or Arm FEAT_BF16)"
        FileHandle.standardError.write(Data("note: --precision bf16: \(reason); the \(BFloat16Kernel.current) kernel computes the same numbers without the speed-up\n".utf8))
    }
}
