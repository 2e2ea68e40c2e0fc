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
/// Every method is collective: every rank of the group must call it, in the same order, with
/// buffers of the same length. Implementations must not hang forever when a rank disappears
/// (see ``MPICommunicator``'s timeout).
public protocol Communicator: AnyObject, Sendable {
    /// This process's index in `0 ..< size`.
    var rank: Int { get }
    /// The number of processes in the group (≥ 1).
    var size: Int { get }
    /// Elementwise sum over the ranks, in place: `v ← Σ_r v_r`, the same result on every rank.
    /// - Throws: ``CommunicationError`` when the group fails or a rank does not answer.
    func allReduceSum(_ values: inout [Float]) throws
    /// Every rank's `value`, indexed by rank (`result[r]` is rank `r`'s value).
    /// - Throws: ``CommunicationError``.
    func allGather(_ value: UInt64) throws -> [UInt64]
}

extension Communicator {
    /// Rank 0: the one rank that prints progress and writes checkpoints.
    public var isLeader: Bool { rank == 0 }

    /// Rows `⌊r·B/N⌋ ..< ⌊(r+1)·B/N⌋` of a global batch of `batchSize` rows that this rank
    /// computes (see ``DataParallel/rows(rank:size:batchSize:)``).
    public func rows(ofBatch batchSize: Int) -> Range<Int> {
        DataParallel.rows(rank: rank, size: size, batchSize: batchSize)
    }
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
