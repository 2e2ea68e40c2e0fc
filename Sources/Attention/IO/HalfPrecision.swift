/// Conversions between `Float` and the IEEE 754 binary16 bit pattern, written out by hand
/// because `Float16` is unavailable on some platforms Swift supports (macOS on x86-64).

/// Widens binary16 bits to `Float` exactly (every half value, subnormals, infinities and NaN).
@inlinable
public func floatFromHalfBits(_ bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = Int(bits >> 10) & 0x1F
    let fraction = UInt32(bits & 0x03FF)
    switch exponent {
    case 0:
        // Zero or subnormal: fraction · 2⁻²⁴, exact in binary32.
        let magnitude = Float(fraction) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    case 0x1F:
        return Float(bitPattern: sign | 0x7F80_0000 | (fraction << 13))
    default:
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (fraction << 13))
    }
}

/// Rounds a `Float` to the nearest binary16 (ties to even); overflow gives ±infinity, NaN stays NaN.
@inlinable
public func halfBitsFromFloat(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    if value.isNaN { return sign | 0x7E00 }
    let magnitude = abs(value)
    if magnitude >= 65520 { return sign | 0x7C00 }  // rounds past the largest half, 65504
    if magnitude < 0x1p-14 {
        // Subnormal half: a multiple of 2⁻²⁴; Float's rounding of the scaled value is ties-to-even.
        let scaled = (magnitude * 0x1p24).rounded(.toNearestOrEven)
        return sign | UInt16(scaled)
    }
    let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
    let mantissa = bits & 0x007F_FFFF
    var half = UInt32(exponent) << 10 | (mantissa >> 13)
    let remainder = mantissa & 0x1FFF
    if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }  // may carry into the exponent: correct
    return sign | UInt16(half)
}
