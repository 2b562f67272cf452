// Time equality for the mover: Node sets file times through a double, so
// sub-microsecond digits are lost; times equal within 1 µs are the same.
export function sameTime(a: bigint, b: bigint): boolean {
  const d = a - b;
  return d > -1000n && d < 1000n;
}
