/// A value that owns named parameters (weights), visited in a fixed order.
///
/// Names are the checkpoint names (`blocks.0.attention.wq.weight`), so saving, loading,
/// optimizers and gradient checks are loops over one list.
public protocol ParameterContainer {
    /// Calls `body` with each parameter's full name and storage, in a stable order; `body`
    /// may replace the tensor (same shape) to update the parameter in place.
    mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows
}

extension ParameterContainer {
    /// Every parameter as `(name, tensor)`, in visiting order.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        var copy = self
        var out: [(name: String, tensor: Tensor)] = []
        copy.visitParameters(prefix: "") { name, tensor in out.append((name, tensor)) }
        return out
    }

    /// Total number of scalar parameters.
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.tensor.count } }

    /// Joins a prefix and a child name with a dot (`"" + "w" = "w"`, `"a" + "w" = "a.w"`).
    public static func join(_ prefix: String, _ name: String) -> String {
        prefix.isEmpty ? name : prefix + "." + name
    }
}

/// `precondition` whose message survives optimised builds.
///
/// Swift's `precondition` drops its message under `-O` (release builds stop with a bare
/// "Illegal instruction"), but a programmer error at the public API must say which argument
/// and which shapes were wrong. This checks the same way and, on failure, stops through
/// `fatalError`, which prints the message in every build configuration.
@inline(__always)
package func checkPrecondition(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!condition()) { fatalError(message(), file: file, line: line) }
}

/// `value` unwrapped; when it is nil, a stop with `message` (printed in every build
/// configuration, as ``checkPrecondition(_:_:file:line:)``). The library's replacement for `!`:
/// only for optionals that are nil through a broken invariant of this package, never through a
/// caller's input (that gets a thrown error or a `checkPrecondition` naming the argument), and
/// the message says which invariant broke.
@inline(__always)
package func checkNotNil<Wrapped>(
    _ value: Wrapped?, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) -> Wrapped {
    guard let value else { fatalError(message(), file: file, line: line) }
    return value
}
