#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation

/// Peak extra resident memory of one run, measured by the kernel rather than computed.
///
/// On Linux, writing "5" to /proc/self/clear_refs resets the peak-RSS watermark (VmHWM) to
/// the current RSS; after the run, VmHWM − RSS-before is the most memory the run added at any
/// moment (its outputs included). Freed heap pages are returned first (malloc_trim) so a run
/// cannot hide its allocations in memory an earlier run left resident. Elsewhere: `nil` ("n/a").
enum PeakMemory {
    /// Resets the watermark; returns the RSS baseline in bytes, or nil when unsupported.
    static func begin() -> Int? {
        #if os(Linux)
        releaseFreeHeapPages()
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let written = "5".withCString { write(fd, $0, 1) }
        guard written == 1 else { return nil }
        return statusField("VmRSS")
        #else
        return nil
        #endif
    }

    /// Bytes the peak exceeded `baseline` by since `begin()`, or nil when unsupported.
    static func end(baseline: Int?) -> Int? {
        guard let baseline, let peak = statusField("VmHWM") else { return nil }
        return max(0, peak - baseline)
    }

    #if os(Linux)
    /// glibc's malloc_trim(0), looked up at run time (the Glibc module does not export it, and
    /// other C libraries lack it): returns freed heap pages to the kernel.
    private static func releaseFreeHeapPages() {
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }
    #endif

    /// A "Name:   1234 kB" line of /proc/self/status, in bytes.
    private static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.dropFirst(name.count + 1).filter(\.isNumber)
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }
}

/// Median wall time and peak extra memory over a few timed runs.
struct Measurement {
    var milliseconds: Double
    var peakExtraBytes: Int?
    var repeats: Int
}

/// Keeps results observable so the optimiser cannot drop the work being timed.
nonisolated(unsafe) private var benchSink: Float = 0

enum Stopwatch {
    /// Seconds `body` takes once.
    static func time(_ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        let elapsed = clock.measure(body)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// One untimed warm-up (skipped when `warmUp` is false), then `repeats` timed runs back to
    /// back; returns the median time. A run whose warm-up takes longer than `slowSeconds` is
    /// timed once: it is long enough that one sample is stable, and the whole table stays
    /// within minutes.
    ///
    /// With `peakMemory`, one more run, untimed, measures the peak memory (a single timed run
    /// measures it itself). The probe (malloc_trim, /proc/self/clear_refs) never precedes a
    /// timed run of several: it returns the freed heap to the kernel, so the next run would
    /// fault its output pages in again, lets the worker threads fall asleep and drops cached
    /// translations, none of which the peers' loops (runs back to back) pay.
    static func measure(
        repeats: Int, warmUp: Bool = true, slowSeconds: Double = 3, peakMemory: Bool = true,
        _ body: () -> Float
    ) -> Measurement {
        var count = repeats
        if warmUp {
            let seconds = time { benchSink += body() }
            if seconds > slowSeconds { count = 1 }
        }
        var peak: Int?
        func probed(_ run: () -> Double) -> Double {
            let baseline = PeakMemory.begin()
            let seconds = run()
            peak = PeakMemory.end(baseline: baseline)
            return seconds
        }
        var times: [Double] = []
        if count <= 1 {
            times.append(peakMemory ? probed { time { benchSink += body() } } : time { benchSink += body() })
        } else {
            for _ in 0..<count { times.append(time { benchSink += body() }) }
            if peakMemory { _ = probed { time { benchSink += body() } } }
        }
        times.sort()
        return Measurement(milliseconds: times[times.count / 2] * 1000, peakExtraBytes: peak, repeats: times.count)
    }
}

/// The checks every `attend bench` subcommand makes of its `--repeats` and `--threads`.
func validateBenchTiming(repeats: Int, threads: Int?) throws {
    guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
}

/// What every `attend bench` subcommand does first: `--threads` becomes `ATTEND_THREADS` (read
/// once, later, by `Threading.threadCount`), and a debug build is warned about. Returns the
/// build configuration, "debug" or "release", for the report.
func benchSetUp(threads: Int?) -> String {
    if let threads { setenv("ATTEND_THREADS", String(threads), 1) }
    #if DEBUG
    FileHandle.standardError.write(Data("WARNING: DEBUG build; timings are meaningless. Use swift run -c release.\n".utf8))
    return "debug"
    #else
    return "release"
    #endif
}
