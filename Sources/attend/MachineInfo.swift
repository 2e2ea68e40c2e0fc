import Attention
import CKernels
import Foundation

/// What the numbers were measured on: the CPU model and the SIMD level the kernels run at.
enum MachineInfo {
    /// The SIMD level in use, with the detected one when `ATTEND_SIMD` / `ATTEND_NO_SIMD` chose
    /// a lower level: "avx512", or "avx2+fma (detected avx512)".
    static var simd: String {
        let current = SIMDLevel.current, detected = SIMDLevel.detected
        return current == detected ? current.name : "\(current.name) (detected \(detected.name))"
    }

    /// The BF16 product kernel `--precision bf16` runs: "amx-bf16", "avx512-bf16" or
    /// "neon-bf16" with hardware support, else the kernel that computes the same numbers on
    /// widened values ("avx2+fma (emulated)", "neon (emulated)").
    static var bfloat16: String {
        let kernel = BFloat16Kernel.current
        return kernel.isHardware ? kernel.description : "\(kernel) (emulated)"
    }

    /// The CPU's model name (`/proc/cpuinfo` on Linux, `machdep.cpu.brand_string` on macOS).
    static let cpuModel: String = {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":")
        {
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        #elseif os(macOS)
        var size = 0
        if sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 1 {
            var bytes = [CChar](repeating: 0, count: size)
            if sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0) == 0 { return String(cString: bytes) }
        }
        #endif
        return "unknown CPU"
    }()

    /// `attend --version`: the tool's version and the kernels it would run here. (No thread
    /// count: the root configuration is built before `--threads` sets ATTEND_THREADS, and
    /// `Threading.threadCount` is read once.)
    static var versionText: String {
        "attend \(attendVersion) (kernels: SIMD \(simd), bf16 \(bfloat16); CPU \(cpuModel))"
    }
}

/// The version `attend --version` reports.
let attendVersion = "0.1.0"
