import Attention

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``Communicator`` over MPI's `MPI_COMM_WORLD`, with `libmpi` loaded at run time.
///
/// Nothing links against MPI at build time: the package builds and tests with the Swift
/// toolchain alone, and `libmpi` is opened with `dlopen` only when the process was started
/// by an MPI launcher (``launcherVariable(in:)``). The calls use **Open MPI's ABI**
/// (`libmpi.so.40`, Debian/Ubuntu `openmpi-bin libopenmpi-dev`): its handles are the
/// addresses of global symbols (`MPI_COMM_WORLD` = `&ompi_mpi_comm_world`, `MPI_FLOAT` =
/// `&ompi_mpi_float`, `MPI_SUM` = `&ompi_mpi_op_sum`) and `MPI_IN_PLACE` is `(void *) 1`.
/// MPICH, Intel MPI and MVAPICH use integer handles and are refused with a clear message
/// (supporting them means a second handle table; see docs/notes/mpi.md).
///
/// Collectives are started non-blocking (`MPI_Iallreduce`, `MPI_Iallgather`) and polled with
/// `MPI_Test` (yielding the CPU between polls, which matters when ranks outnumber cores)
/// until they finish, `timeout` seconds pass, or — after `interrupted()` turned true — a short
/// grace period passes. ``startAllReduceSum(_:)`` returns right after `MPI_Iallreduce`, so
/// the caller keeps computing while buckets of gradients are summed, and calls
/// ``progress()`` between its operations: Open MPI advances non-blocking collectives only
/// inside MPI calls. `MPI_ERRORS_RETURN` is set on the communicator, so an MPI failure
/// becomes a ``CommunicationError`` instead of a silent abort.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Seconds a collective may wait for the other ranks before ``CommunicationError/timeout(operation:seconds:rank:size:)``.
    public let timeout: Double
    /// The library that was opened (path or soname).
    public let libraryName: String
    /// `MPI_Get_library_version`'s first line.
    public let libraryVersion: String

    private let interrupted: @Sendable () -> Bool
    private let api: API
    private var finalized = false
    /// Buffers started by ``startAllReduceSum(_:)`` and not yet seen complete, oldest first.
    private var inFlight: [AllReduceBuffer] = []

    /// Environment variables that MPI launchers set in every rank: Open MPI's `mpirun`
    /// (`OMPI_COMM_WORLD_SIZE`), PMI-based launchers such as Slurm's `srun --mpi=pmi2` and
    /// Hydra (`PMI_SIZE`), and PMIx (`PMIX_RANK`).
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"]

    /// The launcher variable present in `environment`, or nil when the process was not
    /// started by an MPI launcher (then training runs in one process, as without MPI).
    public static func launcherVariable(in environment: [String: String]) -> String? {
        launcherVariables.first { environment[$0] != nil }
    }

    /// Libraries tried, in order (only `ATTEND_LIBMPI` when it is set).
    public static func candidateLibraries(environment: [String: String]) -> [String] {
        if let explicit = environment["ATTEND_LIBMPI"], !explicit.isEmpty { return [explicit] }
        var names: [String] = []
        #if os(macOS)
        names += ["libmpi.40.dylib", "libmpi.dylib", "/opt/homebrew/lib/libmpi.dylib", "/usr/local/lib/libmpi.dylib"]
        #else
        names += ["libmpi.so.40", "libmpi.so"]
        #endif
        return names
    }

    /// What to install when no usable library is found.
    public static let installHint =
        "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev; macOS: brew install open-mpi), or set ATTEND_LIBMPI to the path of Open MPI's libmpi.so.40"

    /// Opens `libmpi`, initialises MPI (`MPI_Init_thread`, `MPI_THREAD_SERIALIZED`: one
    /// thread calls MPI at a time; the GEMM worker threads never do) and reads rank and size.
    /// - Parameters:
    ///   - timeout: seconds a collective waits for the other ranks (> 0).
    ///   - environment: the process environment (``candidateLibraries(environment:)`` reads
    ///     `ATTEND_LIBMPI` from it).
    ///   - interrupted: polled while waiting; once true, the wait ends 10 s later at most.
    /// - Throws: ``CommunicationError/libraryUnavailable(_:)`` naming what was tried and how
    ///   to install Open MPI, ``CommunicationError/mpiFailure(operation:code:message:)``.
    public init(timeout: Double = 300, environment: [String: String],
                interrupted: @escaping @Sendable () -> Bool = { false }) throws {
        checkPrecondition(timeout > 0, "MPICommunicator: timeout must be > 0, got \(timeout)")
        var failures: [String] = []
        var opened: (handle: UnsafeMutableRawPointer, name: String)?
        for name in Self.candidateLibraries(environment: environment) {
            // RTLD_GLOBAL: Open MPI's plugins (mca_*.so) resolve their symbols against libmpi.
            if let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) { opened = (handle, name); break }
            failures.append(dlerror().map { String(cString: $0) } ?? "\(name): cannot be opened")
        }
        guard let opened else {
            throw CommunicationError.libraryUnavailable(
                "this process was started by an MPI launcher but no MPI library could be loaded (\(failures.joined(separator: "; "))); \(Self.installHint)")
        }
        api = try API(handle: opened.handle, name: opened.name)
        libraryName = opened.name
        self.timeout = timeout
        self.interrupted = interrupted

        var already: Int32 = 0
        _ = api.initialized(&already)
        if already == 0 {
            var provided: Int32 = 0
            let code = api.initThread(nil, nil, 2 /* MPI_THREAD_SERIALIZED */, &provided)
            guard code == 0 else {
                throw CommunicationError.mpiFailure(operation: "MPI_Init_thread", code: code, message: "MPI could not start")
            }
        }
        _ = api.setErrorHandler(api.world, api.errorsReturn)
        var value: Int32 = 0
        var code = api.commRank(api.world, &value)
        guard code == 0 else { throw CommunicationError.mpiFailure(operation: "MPI_Comm_rank", code: code, message: api.errorString(code)) }
        rank = Int(value)
        code = api.commSize(api.world, &value)
        guard code == 0 else { throw CommunicationError.mpiFailure(operation: "MPI_Comm_size", code: code, message: api.errorString(code)) }
        size = Int(value)
        libraryVersion = api.libraryVersion()
    }

    public func allReduceSum(_ values: inout [Float]) throws {
        guard size > 1, !values.isEmpty else { return }
        let operation = "the gradient all-reduce (\(values.count) floats)"
        guard values.count <= Int(Int32.max) else {
            throw CommunicationError.mpiFailure(operation: operation, code: -1, message: "more than 2³¹ − 1 values in one call")
        }
        try values.withUnsafeMutableBufferPointer { buffer in
            var request: UnsafeMutableRawPointer?
            let code = api.iallreduce(UnsafeMutableRawPointer(bitPattern: 1) /* MPI_IN_PLACE */, buffer.baseAddress,
                                      Int32(buffer.count), api.float, api.sum, api.world, &request)
            try check(code, operation)
            try wait(&request, operation)
        }
    }

    /// Starts `MPI_Iallreduce` (in place, `MPI_SUM` of `MPI_FLOAT`) on `buffer` and returns.
    public func startAllReduceSum(_ buffer: AllReduceBuffer) throws {
        checkPrecondition(buffer.state == .filling, "MPICommunicator.startAllReduceSum: the buffer was already started")
        guard size > 1, buffer.count > 0 else { buffer.state = .reduced; return }
        let operation = Self.bucketOperation(buffer)
        guard buffer.count <= Int(Int32.max) else {
            throw CommunicationError.mpiFailure(operation: operation, code: -1, message: "more than 2³¹ − 1 values in one call")
        }
        var request: UnsafeMutableRawPointer?
        try check(api.iallreduce(UnsafeMutableRawPointer(bitPattern: 1) /* MPI_IN_PLACE */, buffer.storage.baseAddress,
                                 Int32(buffer.count), api.float, api.sum, api.world, &request), operation)
        buffer.request = request
        buffer.state = .reducing
        inFlight.append(buffer)
    }

    /// `MPI_Test` on the oldest sum in flight, then on the next while they are complete. One
    /// `MPI_Test` runs Open MPI's progress engine for every outstanding request, so testing
    /// the oldest is enough to move all of them forward.
    public func progress() throws {
        while let oldest = inFlight.first {
            var done: Int32 = 0
            try check(api.test(&oldest.request, &done, nil), Self.bucketOperation(oldest))
            guard done != 0 else { return }
            oldest.state = .reduced
            inFlight.removeFirst()
        }
    }

    /// Polls `buffer`'s sum to completion, with the timeout and interrupt handling of every
    /// collective here.
    public func wait(for buffer: AllReduceBuffer) throws {
        guard buffer.state == .reducing else {
            checkPrecondition(buffer.state == .reduced, "MPICommunicator.wait: the buffer's sum was not started")
            return
        }
        try wait(&buffer.request, Self.bucketOperation(buffer))
        buffer.state = .reduced
        inFlight.removeAll { $0 === buffer }
    }

    private static func bucketOperation(_ buffer: AllReduceBuffer) -> String {
        "a gradient bucket's all-reduce (\(buffer.count) floats)"
    }

    public func allGather(_ value: UInt64) throws -> [UInt64] {
        guard size > 1 else { return [value] }
        var send = value
        var received = [UInt64](repeating: 0, count: size)
        let operation = "the weight-digest all-gather"
        try received.withUnsafeMutableBufferPointer { out in
            try withUnsafeMutableBytes(of: &send) { input in
                var request: UnsafeMutableRawPointer?
                let code = api.iallgather(input.baseAddress, 8, api.byte, out.baseAddress, 8, api.byte, api.world, &request)
                try check(code, operation)
                try wait(&request, operation)
            }
        }
        return received
    }

    /// `MPI_Finalize` (call once, after the last collective, on every rank).
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        _ = api.finalize()
    }

    /// `MPI_Abort`: ends every rank of the job with `code` (never returns).
    public func abort(code: Int32) -> Never {
        _ = api.abort(api.world, code)
        exit(code)
    }

    private func check(_ code: Int32, _ operation: String) throws {
        guard code == 0 else { throw CommunicationError.mpiFailure(operation: operation, code: code, message: api.errorString(code)) }
    }

    private func wait(_ request: inout UnsafeMutableRawPointer?, _ operation: String) throws {
        let start = Self.now()
        var deadline = start + timeout
        var polls = 0
        var signalled = false
        while true {
            var done: Int32 = 0
            try check(api.test(&request, &done, nil), operation)
            if done != 0 { return }
            polls += 1
            if polls < 200 { sched_yield() } else { usleep(100) }
            let now = Self.now()
            if !signalled, interrupted() {
                signalled = true
                deadline = min(deadline, now + 10)
            }
            if now > deadline {
                if signalled { throw CommunicationError.interrupted(operation: operation, rank: rank, size: size) }
                throw CommunicationError.timeout(operation: operation, seconds: timeout, rank: rank, size: size)
            }
        }
    }

    private static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// The functions and handles of Open MPI's ABI, resolved with `dlsym`.
    private struct API: @unchecked Sendable {
        typealias Handle = UnsafeMutableRawPointer
        let world: Handle, float: Handle, byte: Handle, sum: Handle, errorsReturn: Handle
        let initialized: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
        let initThread: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>) -> Int32
        let commRank: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
        let commSize: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
        let setErrorHandler: @convention(c) (Handle, Handle) -> Int32
        let iallreduce: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32
        let iallgather: @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32
        let test: @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutablePointer<Int32>, UnsafeMutableRawPointer?) -> Int32
        let errorStringFunction: @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
        let libraryVersionFunction: @convention(c) (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
        let finalize: @convention(c) () -> Int32
        let abort: @convention(c) (Handle, Int32) -> Int32

        init(handle: UnsafeMutableRawPointer, name: String) throws {
            func symbol(_ s: String) throws -> UnsafeMutableRawPointer {
                guard let address = dlsym(handle, s) else {
                    if s.hasPrefix("ompi_") {
                        throw CommunicationError.libraryUnavailable(
                            "\(name) is not Open MPI (it has no symbol \(s)): attend loads Open MPI's ABI at run time, whose handles are global symbols; MPICH, Intel MPI and MVAPICH use integer handles and are not supported. \(MPICommunicator.installHint)")
                    }
                    throw CommunicationError.libraryUnavailable("\(name) has no function \(s) (an MPI-3 library is needed); \(MPICommunicator.installHint)")
                }
                return address
            }
            func function<F>(_ s: String, _ type: F.Type) throws -> F { unsafeBitCast(try symbol(s), to: F.self) }
            world = try symbol("ompi_mpi_comm_world")
            float = try symbol("ompi_mpi_float")
            byte = try symbol("ompi_mpi_byte")
            sum = try symbol("ompi_mpi_op_sum")
            errorsReturn = try symbol("ompi_mpi_errors_return")
            initialized = try function("MPI_Initialized", type(of: initialized))
            initThread = try function("MPI_Init_thread", type(of: initThread))
            commRank = try function("MPI_Comm_rank", type(of: commRank))
            commSize = try function("MPI_Comm_size", type(of: commSize))
            setErrorHandler = try function("MPI_Comm_set_errhandler", type(of: setErrorHandler))
            iallreduce = try function("MPI_Iallreduce", type(of: iallreduce))
            iallgather = try function("MPI_Iallgather", type(of: iallgather))
            test = try function("MPI_Test", type(of: test))
            errorStringFunction = try function("MPI_Error_string", type(of: errorStringFunction))
            libraryVersionFunction = try function("MPI_Get_library_version", type(of: libraryVersionFunction))
            finalize = try function("MPI_Finalize", type(of: finalize))
            abort = try function("MPI_Abort", type(of: abort))
        }

        func errorString(_ code: Int32) -> String {
            var buffer = [CChar](repeating: 0, count: 1024)   // MPI_MAX_ERROR_STRING is 256 in Open MPI
            var length: Int32 = 0
            guard errorStringFunction(code, &buffer, &length) == 0 else { return "unknown error" }
            return String(decoding: buffer.prefix(Int(max(0, min(length, 1023)))).prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        func libraryVersion() -> String {
            var buffer = [CChar](repeating: 0, count: 8192)   // MPI_MAX_LIBRARY_VERSION_STRING ≤ 8192 everywhere
            var length: Int32 = 0
            guard libraryVersionFunction(&buffer, &length) == 0 else { return "unknown" }
            let bytes = buffer.prefix(Int(max(0, min(length, 8191)))).prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.split(whereSeparator: \.isNewline).first.map { String($0.drop { $0 == " " }) } ?? text
        }
    }
}
