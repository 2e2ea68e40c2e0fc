import Attention

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How the gradients of a model are cut into buckets, each summed over the ranks by one
/// all-reduce (the buckets of PyTorch's DistributedDataParallel).
///
/// Buckets take the parameters in *reverse* of the given order: given in checkpoint order
/// (embedding first, final norm last), that is roughly the order in which the backward pass
/// finishes their gradients, so the first bucket is complete early. A bucket takes
/// consecutive parameters while their Float32 gradients fit in `bucketBytes`; a parameter
/// larger than that gets a bucket of its own. The plan depends only on the names, the sizes
/// and the capacity, never on timing, so every rank that builds it from the same model gets
/// the same buckets in the same order, as the collectives require.
public struct GradientBucketPlan: Sendable, Equatable {
    /// Where one parameter's gradient lies in its bucket.
    public struct Slice: Sendable, Equatable {
        /// The parameter's checkpoint name.
        public var name: String
        /// First float of the gradient in the bucket.
        public var offset: Int
        /// Number of floats (the parameter's element count).
        public var count: Int
    }

    /// One bucket: its parameters' gradients back to back from offset 0.
    public struct Bucket: Sendable, Equatable {
        /// The parameters, in layout order.
        public var slices: [Slice]
        /// Floats of all its gradients.
        public var count: Int
    }

    /// 1 MiB: small enough that the `baby` preset (3.3 MB of gradients) gets 4 buckets and
    /// `default` (7.4 MB) 9, so the first ones travel while most of the backward pass is still
    /// ahead. (PyTorch's 25 MB would be one bucket for both.) Larger models on slow links
    /// want larger buckets: every bucket pays the all-reduce's latency once.
    public static let defaultBucketBytes = 1 << 20

    /// The buckets, in the order they are started.
    public let buckets: [Bucket]

    /// The buckets for `parameters`.
    /// - Parameters:
    ///   - parameters: every parameter's name and element count, in checkpoint order (the
    ///     same on every rank).
    ///   - bucketBytes: the capacity of a bucket in bytes of Float32 gradients; 0 or less puts
    ///     every parameter in one bucket (reduced after the backward pass: no overlap).
    /// - Precondition: names are unique, counts are ≥ 0.
    public init(parameters: [(name: String, count: Int)], bucketBytes: Int = defaultBucketBytes) {
        checkPrecondition(Set(parameters.map(\.name)).count == parameters.count,
                          "GradientBucketPlan: parameter names must be unique")
        checkPrecondition(parameters.allSatisfy { $0.count >= 0 }, "GradientBucketPlan: parameter counts must be ≥ 0")
        let capacity = bucketBytes > 0 ? max(1, bucketBytes / MemoryLayout<Float>.size) : Int.max
        var buckets: [Bucket] = []
        var current = Bucket(slices: [], count: 0)
        for (name, count) in parameters.reversed() {
            if !current.slices.isEmpty && current.count + count > capacity {
                buckets.append(current)
                current = Bucket(slices: [], count: 0)
            }
            current.slices.append(Slice(name: name, offset: current.count, count: count))
            current.count += count
        }
        buckets.append(current)   // never empty: a model without parameters has one empty bucket
        self.buckets = buckets
    }

    /// Floats in all buckets together (the model's parameter count).
    public var count: Int { buckets.reduce(0) { $0 + $1.count } }
}

/// Sums the weighted gradients of one data-parallel step over the ranks, bucket by bucket,
/// starting each bucket's all-reduce as soon as the backward pass has finished its gradients:
/// the sums travel while the backward pass computes the earlier layers (PyTorch
/// DistributedDataParallel's overlap).
///
/// One per step:
/// ```swift
/// let reduction = GradientReduction(plan: plan, group: group, weight: rows / batch, controlCount: 3)
/// var gradients = try tape.backward(loss, step: step,
///                                   onParameterGradientReady: reduction.gradientReady,
///                                   afterEachRule: reduction.progress)
/// let control = try reduction.finish(control: [weightedLoss, failed, stop])   // waits
/// reduction.copySums(into: &gradients)
/// ```
///
/// Each gradient is multiplied by `weight` as it is copied into its bucket. Buckets start in
/// plan order only (bucket k + 1 never before bucket k), and the last one, which also carries
/// `controlCount` values that are known only after the backward pass (the step's loss and
/// failure and stop flags), starts in ``finish(control:)``. So every rank starts the same
/// collectives in the same order with the same lengths, whatever its timing, and also when
/// its step failed: ``finish(control:)`` starts whatever is left, with zeros for the
/// gradients that never came. Every element is summed over the ranks exactly as one
/// all-reduce of everything would sum it.
///
/// The backward callbacks cannot throw: a communication error there is kept, nothing more is
/// started, and ``finish(control:)`` throws it.
public final class GradientReduction {
    /// The buckets.
    public let plan: GradientBucketPlan
    /// The ranks that sum.
    public let group: any Communicator
    /// The factor applied to every gradient of this rank (`b_r / B` in data parallelism).
    public let weight: Float
    /// Seconds ``finish(control:)`` blocked: starting the last bucket and waiting until every
    /// bucket is summed. The communication time that the backward pass did not hide.
    public private(set) var waitSeconds = 0.0
    /// Seconds spent inside the communicator during the step: starting buckets, letting them
    /// progress between backward rules, and ``waitSeconds``.
    public private(set) var callSeconds = 0.0

    private let controlCount: Int
    private let buffers: [AllReduceBuffer]
    private let location: [String: (bucket: Int, slice: Int)]
    private var received: [[Bool]]
    private var missing: [Int]
    private var nextToStart = 0
    private var oldestUnfinished = 0
    private var failure: Error?
    private var finished = false

    /// An empty reduction for one step.
    /// - Parameters:
    ///   - plan: the buckets (the same on every rank).
    ///   - group: the ranks.
    ///   - weight: the factor for this rank's gradients.
    ///   - controlCount: extra values summed with the last bucket (≥ 0).
    public init(plan: GradientBucketPlan, group: any Communicator, weight: Float, controlCount: Int) {
        checkPrecondition(controlCount >= 0, "GradientReduction: controlCount must be ≥ 0, got \(controlCount)")
        self.plan = plan
        self.group = group
        self.weight = weight
        self.controlCount = controlCount
        let last = plan.buckets.count - 1
        buffers = plan.buckets.indices.map { AllReduceBuffer(count: plan.buckets[$0].count + ($0 == last ? controlCount : 0)) }
        var location: [String: (bucket: Int, slice: Int)] = [:]
        for (b, bucket) in plan.buckets.enumerated() {
            for (s, slice) in bucket.slices.enumerated() { location[slice.name] = (b, s) }
        }
        self.location = location
        received = plan.buckets.map { Array(repeating: false, count: $0.slices.count) }
        missing = plan.buckets.map(\.slices.count)
    }

    /// Copies `weight · gradient` of parameter `name` into its bucket (nothing for a nil
    /// gradient: the bucket holds zeros there) and starts every bucket that is now complete,
    /// in plan order. Fits ``Tape/backward(_:step:onParameterGradientReady:afterEachRule:)``.
    /// - Precondition: `name` is in the plan, reported once, with the planned element count,
    ///   before ``finish(control:)``.
    public func gradientReady(_ name: String, _ gradient: Tensor?) {
        checkPrecondition(!finished, "GradientReduction: gradient of \(name) after finish()")
        guard let (b, s) = location[name] else {
            checkPrecondition(false, "GradientReduction: \(name) is not a parameter of the bucket plan")
            return
        }
        checkPrecondition(!received[b][s], "GradientReduction: gradient of \(name) reported twice")
        received[b][s] = true
        missing[b] -= 1
        if let gradient { copy(gradient, into: plan.buckets[b].slices[s], of: buffers[b]) }
        startCompleteBuckets()
    }

    /// Lets the started buckets progress (without blocking). Fits
    /// ``Tape/backward(_:step:onParameterGradientReady:afterEachRule:)``; skips the
    /// communicator when no bucket is in flight.
    public func progress() {
        guard failure == nil, oldestUnfinished < nextToStart else { return }
        communicate { try group.progress() }
        while oldestUnfinished < nextToStart, buffers[oldestUnfinished].state == .reduced { oldestUnfinished += 1 }
    }

    /// Appends `control` to the last bucket, starts every bucket not yet started (in plan
    /// order) and waits until all are summed; returns the sums of `control` over the ranks.
    /// - Precondition: called once, with `controlCount` values.
    /// - Throws: the first ``CommunicationError`` of the step (also one kept from the backward
    ///   callbacks).
    public func finish(control: [Float]) throws -> [Float] {
        checkPrecondition(!finished, "GradientReduction.finish: called twice")
        checkPrecondition(control.count == controlCount,
                          "GradientReduction.finish: \(control.count) control values, expected \(controlCount)")
        finished = true
        if let failure { throw failure }
        let last = buffers.count - 1, offset = plan.buckets[last].count
        buffers[last].withUnsafeMutableBufferPointer { out in
            for (i, value) in control.enumerated() { out[offset + i] = value }
        }
        let started = monotonicSeconds()
        defer {
            waitSeconds = monotonicSeconds() - started
            callSeconds += waitSeconds
        }
        while nextToStart < buffers.count {
            try group.startAllReduceSum(buffers[nextToStart])
            nextToStart += 1
        }
        for buffer in buffers { try group.wait(for: buffer) }
        return buffers[last].withUnsafeBufferPointer { Array($0[offset...]) }
    }

    /// Replaces every gradient in `gradients` by its sum over the ranks (parameters absent
    /// from `gradients` stay absent).
    /// - Precondition: ``finish(control:)`` returned.
    public func copySums(into gradients: inout Gradients) {
        checkPrecondition(finished && buffers.allSatisfy { $0.state == .reduced },
                          "GradientReduction.copySums: the buckets are not summed yet; call finish(control:) first")
        for name in gradients.names {
            guard let (b, s) = location[name], let local = gradients[name] else { continue }
            let slice = plan.buckets[b].slices[s]
            let sum = buffers[b].withUnsafeBufferPointer { reduced in
                Tensor(uninitializedShape: local.shape) { out in
                    _ = out.update(fromContentsOf: reduced[slice.offset ..< slice.offset + slice.count])
                }
            }
            gradients.set(name, sum)
        }
    }

    private func copy(_ gradient: Tensor, into slice: GradientBucketPlan.Slice, of buffer: AllReduceBuffer) {
        checkPrecondition(gradient.count == slice.count,
                          "GradientReduction: gradient of \(slice.name) has \(gradient.count) elements, the plan \(slice.count)")
        let weight = self.weight
        buffer.withUnsafeMutableBufferPointer { out in
            gradient.withUnsafeBufferPointer { source in
                for i in source.indices { out[slice.offset + i] = source[i] * weight }
            }
        }
    }

    /// Starts, in plan order, each bucket whose gradients are all in; never the last (it
    /// waits for the control values in ``finish(control:)``).
    private func startCompleteBuckets() {
        while failure == nil, nextToStart < buffers.count - 1, missing[nextToStart] == 0 {
            let buffer = buffers[nextToStart]
            nextToStart += 1
            communicate { try group.startAllReduceSum(buffer) }
        }
    }

    /// Runs a communicator call from a backward callback: timed, its error kept for
    /// ``finish(control:)``.
    private func communicate(_ call: () throws -> Void) {
        let started = monotonicSeconds()
        do { try call() } catch { failure = failure ?? error }
        callSeconds += monotonicSeconds() - started
    }
}

/// Seconds on a monotonic clock (for durations).
func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
