import Attention

extension Variable {
    /// Rows of this table (`[V, C]`) for `ids`: `y[r] = table[ids[r]]`, shape `[ids.count, C]`.
    ///
    /// Sparse-friendly backward: only the rows of used ids are touched
    /// (`dtable[ids[r]] += g[r]`), with no one-hot product; an untouched table gradient stays
    /// zero. Rows are added in id order of appearance, so repeated ids accumulate
    /// deterministically.
    /// - Precondition: every id is in `0..<V`.
    public func gatheringRows(_ ids: [Int]) -> Variable {
        checkPrecondition(rank == 2, "gatheringRows: the table must be [V, C], got shape \(shape)")
        let (v, c) = (shape[0], shape[1])
        for (r, id) in ids.enumerated() {
            checkPrecondition(id >= 0 && id < v, "gatheringRows: id \(id) at position \(r) is outside 0..<\(v)")
        }
        let table = value
        let y = Tensor(uninitializedShape: [ids.count, c]) { out in
            table.withUnsafeBufferPointer { t in
                for (r, id) in ids.enumerated() {
                    for j in 0..<c { out[r * c + j] = t[id * c + j] }
                }
            }
        }
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y[r] = table[ids[r]]  →  dtable[ids[r]] += g[r]
            tape.withGradient(of: self) { acc, accumulate in
                if !accumulate { for i in acc.indices { acc[i] = 0 } }
                g.withUnsafeBufferPointer { gp in
                    for (r, id) in ids.enumerated() {
                        for j in 0..<c { acc[id * c + j] += gp[r * c + j] }
                    }
                }
            }
        }
    }
}
