/**
 * `format(value, '.{digits}f')` as Python prints it. Python rounds the exact binary value
 * half to even, while JavaScript's toFixed rounds an exact tie up: 0.125 is "0.12" in Python
 * and "0.13" from (0.125).toFixed(2). Ties are real in reports (a precision of 1/8), so the
 * rounding is done here on the exact value with BigInt arithmetic.
 */
export function formatFixed(value: number, digits: number): string {
  if (!Number.isInteger(digits) || digits < 0 || digits > 100) {
    throw new RangeError(`digits must be an integer in 0..100, got ${digits}`);
  }
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';

  const negative = value < 0 || Object.is(value, -0);
  const { mantissa, exponent } = decompose(Math.abs(value));
  // |value| = mantissa * 2^exponent exactly; scaled = |value| * 10^digits, rounded half to even.
  const scaledNumerator = mantissa * 10n ** BigInt(digits);
  let rounded: bigint;
  if (exponent >= 0) {
    rounded = scaledNumerator << BigInt(exponent);
  } else {
    const denominator = 1n << BigInt(-exponent);
    const quotient = scaledNumerator / denominator;
    const twiceRemainder = (scaledNumerator % denominator) * 2n;
    const roundUp = twiceRemainder > denominator || (twiceRemainder === denominator && quotient % 2n === 1n);
    rounded = roundUp ? quotient + 1n : quotient;
  }

  const text = rounded.toString().padStart(digits + 1, '0');
  const integerPart = text.slice(0, text.length - digits);
  const fraction = digits > 0 ? `.${text.slice(text.length - digits)}` : '';
  return `${negative ? '-' : ''}${integerPart}${fraction}`;
}

/** Splits a finite non-negative double into integer mantissa and power-of-two exponent. */
function decompose(value: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  if (biasedExponent === 0) return { mantissa: fraction, exponent: -1074 }; // subnormal or zero
  return { mantissa: fraction | (1n << 52n), exponent: biasedExponent - 1075 };
}
