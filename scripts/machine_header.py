"""One line naming the machine, for the top of every benchmark table: the CPU model, its lscpu
family/model, the SIMD extensions that decide our kernels (AVX2/FMA, AVX-512, AVX512-BF16, AMX,
NEON/BF16 on arm64) and, given an attend binary, the SIMD level and BF16 kernel it chose
(`attend --version`). Only same-run ratios compare across machines; this says which machine."""
import platform, subprocess

def describe(attend=None):
    model, family, number, flags = platform.processor() or platform.machine(), "?", "?", set()
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "model name" and model in ("", platform.machine(), platform.processor()): model = value
            elif key == "cpu family" and family == "?": family = value
            elif key == "model" and number == "?": number = value
            elif key in ("flags", "Features") and not flags: flags = set(value.split())
    except OSError:
        pass
    wanted = [("avx2", "AVX2"), ("fma", "FMA"), ("avx512f", "AVX-512F"), ("avx512bw", "BW"), ("avx512vl", "VL"),
              ("avx512_bf16", "AVX512-BF16"), ("amx_bf16", "AMX-BF16"), ("asimd", "NEON"), ("bf16", "BF16")]
    extensions = " ".join(name for flag, name in wanted if flag in flags) or "none listed"
    line = f"CPU: {model} (family {family}, model {number}); {extensions}"
    if attend:
        try:
            version = subprocess.run([attend, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
            line += f"; {version}"
        except (OSError, subprocess.SubprocessError) as error:
            line += f"; attend --version failed: {error}"
    return line
