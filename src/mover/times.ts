// Time equality for the mover: both ends keep nanoseconds (POSIX times are
// set with utimensat, a container stores them as given), so times are equal
// only when every nanosecond is, as rsync compares them.
export function sameTime(a: bigint, b: bigint): boolean {
  return a === b;
}
