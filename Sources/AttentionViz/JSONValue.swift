import Attention

/// A JSON value with ordered object keys, so `--json` output is stable and diffable.
///
/// Numbers are written with Swift's shortest round-trip form: a `Float` printed here parses
/// back (as Double, then Float) to exactly the same value, so scripts can recompute every
/// step bit for bit. Non-finite numbers (masked scores, −∞) become `null`.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Float)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

    /// A tensor as `{"shape": [...], "data": nested arrays}` (row-major nesting).
    public static func tensor(_ t: Tensor) -> JSONValue {
        .object([("shape", .array(t.shape.map { .int($0) })), ("data", nested(t.scalars[...], shape: t.shape[...]))])
    }

    static func nested(_ values: ArraySlice<Float>, shape: ArraySlice<Int>) -> JSONValue {
        guard let first = shape.first else { return .float(values.first ?? 0) }
        let inner = shape.dropFirst().reduce(1, *)
        return .array((0..<first).map { i in
            let start = values.startIndex + i * inner
            return nested(values[start..<start + inner], shape: shape.dropFirst())
        })
    }

    public static func floats(_ values: [Float]) -> JSONValue { .array(values.map { .float($0) }) }
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    /// The JSON text; `pretty` puts one member per line but keeps number arrays on one line.
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(to: &out, indent: pretty ? 0 : nil)
        return out
    }

    func write(to out: inout String, indent: Int?) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let f): out += f.isFinite ? Self.number(f.description) : "null"
        case .double(let d): out += d.isFinite ? Self.number(d.description) : "null"
        case .string(let s): out += Self.quoted(s)
        case .array(let items):
            let scalarsOnly = items.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; return true }
            if !scalarsOnly, let indent {
                writeBlock(items.map { (nil, $0) }, open: "[", close: "]", to: &out, indent: indent)
            } else {
                out += "["
                for (k, item) in items.enumerated() {
                    if k > 0 { out += indent == nil ? "," : ", " }
                    item.write(to: &out, indent: nil)
                }
                out += "]"
            }
        case .object(let members):
            if let indent, !members.isEmpty {
                writeBlock(members.map { ($0.0, $0.1) }, open: "{", close: "}", to: &out, indent: indent)
            } else {
                out += "{"
                for (k, member) in members.enumerated() {
                    if k > 0 { out += "," }
                    out += Self.quoted(member.0) + ":"
                    member.1.write(to: &out, indent: nil)
                }
                out += "}"
            }
        }
    }

    func writeBlock(_ entries: [(String?, JSONValue)], open: String, close: String, to out: inout String, indent: Int) {
        let pad = String(repeating: "  ", count: indent + 1)
        out += open + "\n"
        for (k, entry) in entries.enumerated() {
            out += pad
            if let key = entry.0 { out += Self.quoted(key) + ": " }
            entry.1.write(to: &out, indent: indent + 1)
            out += k == entries.count - 1 ? "\n" : ",\n"
        }
        out += String(repeating: "  ", count: indent) + close
    }

    /// Swift prints `1e-05`, which JSON accepts; `5.0` stays `5.0`.
    static func number(_ text: String) -> String { text }

    static func quoted(_ s: String) -> String { jsonStringLiteral(s) }
}
