import Attention

/// A fixed group of processes ("ranks") that train one model together by data parallelism.
///
/// Rank `r` of `N` computes the gradient of its share of every global batch; the shares are
/// combined with ``allReduceSum(_:)`` so that every rank holds the same averaged gradient and
/// applies the same optimizer step:
/// ```
/// g = Σ_r (b_r / B) · g_r        b_r rows on rank r, B = Σ_r b_r, g_r the mean over rank r's rows
/// ```
/// which is the gradient of the mean loss over all `B` rows, as one process computing the
/// whole batch would get it (up to the order of floating-point summation).
///
/// Every collective (``allReduceSum(_:)``, ``startAllReduceSum(_:)``, ``allGather(_:)``) must
/// be called by every rank of the group, in the same order, with buffers of the same length.
/// Implementations must not hang forever when a rank disappears (see ``MPICommunicator``'s
/// timeout).
///
/// The non-blocking trio ``startAllReduceSum(_:)``, ``progress()`` and ``wait(for:)`` lets
/// data-parallel training sum one bucket of gradients while the backward pass computes the
/// next (``GradientReduction``). A communicator that implements only ``allReduceSum(_:)``
/// gets blocking defaults: the sum happens inside `startAllReduceSum`.
public protocol Communicator: AnyObject, Sendable {
    /// This process's index in `0 ..< size`.
    var rank: Int { get }
    /// The number of processes in the group (≥ 1).
    var size: Int { get }
    /// Elementwise sum over the ranks, in place: `v ← Σ_r v_r`, the same result on every rank.
    /// - Throws: ``CommunicationError`` when the group fails or a rank does not answer.
    func allReduceSum(_ values: inout [Float]) throws
    /// Starts the elementwise sum over the ranks of `buffer`, in place, and returns without
    /// waiting for the other ranks; `buffer` then is ``AllReduceBuffer/State/reducing`` until
    /// ``progress()`` or ``wait(for:)`` sees it complete. Collective, like
    /// ``allReduceSum(_:)``: every rank starts the same sequence of buffers (same lengths, same
    /// order); several may be in flight at once.
    /// - Precondition: `buffer` is ``AllReduceBuffer/State/filling``.
    /// - Throws: ``CommunicationError``.
    func startAllReduceSum(_ buffer: AllReduceBuffer) throws
    /// Lets the started sums advance and marks those that finished
    /// ``AllReduceBuffer/State/reduced``, without blocking. Cheap enough to call between the
    /// operations of a backward pass: MPI libraries move non-blocking collectives forward
    /// only inside MPI calls (unless they run a progress thread).
    /// - Throws: ``CommunicationError``.
    func progress() throws
    /// Blocks until `buffer`'s sum is complete (with the same timeout as
    /// ``allReduceSum(_:)``); returns at once when it already is.
    /// - Precondition: `buffer` was started.
    /// - Throws: ``CommunicationError`` when the group fails or a rank does not answer.
    func wait(for buffer: AllReduceBuffer) throws
    /// Every rank's `value`, indexed by rank (`result[r]` is rank `r`'s value).
    /// - Throws: ``CommunicationError``.
    func allGather(_ value: UInt64) throws -> [UInt64]
}

extension Communicator {
    /// Sums `buffer` over the ranks with ``allReduceSum(_:)`` before returning (no overlap):
    /// the default for communicators without non-blocking collectives.
    public func startAllReduceSum(_ buffer: AllReduceBuffer) throws {
        checkPrecondition(buffer.state == .filling, "Communicator.startAllReduceSum: the buffer was already started")
        var values = buffer.values
        buffer.state = .reducing
        try allReduceSum(&values)
        values.withUnsafeBufferPointer { _ = buffer.storage.update(fromContentsOf: $0) }
        buffer.state = .reduced
    }

    /// Nothing to advance: the default ``startAllReduceSum(_:)`` completes every sum at once.
    public func progress() throws {}

    /// Returns at once: the default ``startAllReduceSum(_:)`` completes every sum at once.
    public func wait(for buffer: AllReduceBuffer) throws {
        checkPrecondition(buffer.state == .reduced, "Communicator.wait: the buffer's sum was not started")
    }

    /// Rank 0: the one rank that prints progress and writes checkpoints.
    public var isLeader: Bool { rank == 0 }

    /// Rows `⌊r·B/N⌋ ..< ⌊(r+1)·B/N⌋` of a global batch of `batchSize` rows that this rank
    /// computes (see ``DataParallel/rows(rank:size:batchSize:)``).
    public func rows(ofBatch batchSize: Int) -> Range<Int> {
        DataParallel.rows(rank: rank, size: size, batchSize: batchSize)
    }
}

/// Floats at a fixed address that a non-blocking all-reduce sums in place
/// (``Communicator/startAllReduceSum(_:)``).
///
/// A non-blocking collective reads and writes its memory after the call that started it has
/// returned, so the values cannot live in a Swift array (which may move, or be copied on
/// write); this buffer owns them until it is freed. Fill it while it is
/// ``State/filling``, start it, read the sum once it is ``State/reduced``.
public final class AllReduceBuffer {
    /// Where the buffer is in its one reduction.
    public enum State: Sendable, Equatable {
        /// Writable; not yet started.
        case filling
        /// Started: the communicator may be reading and writing it; do not touch it.
        case reducing
        /// Holds the sum over the ranks.
        case reduced
    }

    /// Number of floats.
    public let count: Int
    /// Where the buffer is in its reduction (set by the communicator).
    public internal(set) var state: State = .filling
    /// The floats, at an address that never changes.
    let storage: UnsafeMutableBufferPointer<Float>
    /// The MPI request of the sum in flight (Open MPI's `MPI_Request` is a pointer).
    var request: UnsafeMutableRawPointer?

    /// `count` zeros.
    /// - Precondition: `count ≥ 0`.
    public init(count: Int) {
        checkPrecondition(count >= 0, "AllReduceBuffer: count must be ≥ 0, got \(count)")
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: 0)
    }

    deinit {
        // A sum still in flight may write into the memory later (its communicator was dropped
        // mid-reduction, e.g. on an error path): leaking it is safe, freeing it is not.
        if state != .reducing { storage.deallocate() }
    }

    /// Write access to the floats before the reduction starts.
    /// - Precondition: the buffer is ``State/filling``.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        checkPrecondition(state == .filling, "AllReduceBuffer: written after its reduction started")
        return try body(storage)
    }

    /// Read access to the floats: what was written before the reduction, or the sum after it.
    /// - Precondition: the buffer is not ``State/reducing``.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        checkPrecondition(state != .reducing, "AllReduceBuffer: read while its reduction is in flight")
        return try body(UnsafeBufferPointer(storage))
    }

    /// A copy of the floats (see ``withUnsafeBufferPointer(_:)``).
    public var values: [Float] { withUnsafeBufferPointer { Array($0) } }
}

/// How a global batch is split across ranks.
public enum DataParallel {
    /// The rows of a global batch of `B = batchSize` rows that rank `r` of `N = size`
    /// computes: `⌊r·B/N⌋ ..< ⌊(r+1)·B/N⌋`. The slices are contiguous, disjoint, cover
    /// `0 ..< B` in rank order, and differ in length by at most one row (`B = 10, N = 3`:
    /// 3, 3, 4 rows); a rank gets no row when `B < N`.
    /// - Precondition: `0 ≤ rank < size`, `batchSize ≥ 0`.
    public static func rows(rank: Int, size: Int, batchSize: Int) -> Range<Int> {
        checkPrecondition(size >= 1 && rank >= 0 && rank < size && batchSize >= 0,
            "DataParallel.rows: rank \(rank), size \(size), batchSize \(batchSize) (want size ≥ 1, 0 ≤ rank < size, batchSize ≥ 0)")
        return (rank * batchSize / size) ..< ((rank + 1) * batchSize / size)
    }
}

/// Why a collective operation of a ``Communicator`` failed.
public enum CommunicationError: Error, Equatable, CustomStringConvertible {
    /// The MPI library could not be loaded or is not Open MPI.
    case libraryUnavailable(String)
    /// An MPI call returned an error code.
    case mpiFailure(operation: String, code: Int32, message: String)
    /// No answer from the other ranks within `seconds`: a rank has probably died.
    case timeout(operation: String, seconds: Double, rank: Int, size: Int)
    /// A signal arrived while this rank waited for the others, and they did not answer.
    case interrupted(operation: String, rank: Int, size: Int)
    /// The ranks' weights differ after `step` steps (digests indexed by rank).
    case weightsDiverged(step: Int, digests: [UInt64])
    /// Another rank failed (its own message says why); this rank stops too.
    case peerFailed(ranks: [Int], during: String)

    public var description: String {
        switch self {
        case .libraryUnavailable(let reason):
            return reason
        case let .mpiFailure(operation, code, message):
            return "MPI error \(code) in \(operation): \(message)"
        case let .timeout(operation, seconds, rank, size):
            return "rank \(rank) of \(size): no answer from the other ranks for \(Int(seconds)) s in \(operation); a rank has probably died or hangs (its own message or mpirun's says why). The job stops; the last checkpoint stays loadable (continue with --resume, with any number of ranks). ATTEND_MPI_TIMEOUT sets this limit in seconds."
        case let .interrupted(operation, rank, size):
            return "rank \(rank) of \(size): a signal arrived while waiting for the other ranks in \(operation) and they did not answer; stopping without a new checkpoint (the last one stays loadable)"
        case let .weightsDiverged(step, digests):
            let list = digests.enumerated().map { "rank \($0.offset): \(String($0.element, radix: 16))" }.joined(separator: ", ")
            return "the ranks' weights differ after step \(step) (weight digests \(list)); data-parallel ranks must apply identical updates. Check that every rank runs the same attend build on the same corpus and checkpoint."
        case let .peerFailed(ranks, during):
            return "rank\(ranks.count == 1 ? "" : "s") \(ranks.map(String.init).joined(separator: ", ")) failed \(during) (see that rank's message); stopping"
        }
    }
}
